package sqlstore_test

import (
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite" // registers the driver
)

// ExampleNew brings its own *sql.DB, here a SQLite file opened with the
// settings package sqlite would use.
func ExampleNew() {
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
	// Output: sqlite schema version 2
}
