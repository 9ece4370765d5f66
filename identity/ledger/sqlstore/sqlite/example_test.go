package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "ledger")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ledger, err := sqlite.Open(filepath.Join(dir, "ledger.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer ledger.Close()

	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	if err := ledger.Link(ctx, "anon-1111", "customer-42", at); err != nil {
		log.Fatal(err)
	}
	entries, err := ledger.Lookup(ctx, "customer-42")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.AnonymousID, e.FirstSeen)
	}
	// Output: anon-1111 2026-05-01 09:00:00 +0000 UTC
}

// A store on a *sql.DB the app opened itself (sqlstore.New), here with the
// settings package sqlite would use.
func Example_bringYourOwnDB() {
	dir, err := os.MkdirTemp("", "ledger")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn, err := sqlite.DSN(filepath.Join(dir, "ledger.db"))
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	var version int
	if err := store.DB().QueryRow("SELECT version FROM webchatid_schema_version").Scan(&version); err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Dialect(), "schema version", version)
	// Output: sqlite schema version 4
}
