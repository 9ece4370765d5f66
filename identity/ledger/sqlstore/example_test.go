package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// A Store on a *sql.DB the app opened with its own driver (package
// sqlstore imports none; packages sqlite and postgres open one for you,
// and their examples run). Not run: it needs a database.
func Example() {
	db, err := sql.Open("pgx", "postgres://app@db:5432/app?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8) // keep them: a new PostgreSQL connection is a new server process
	ctx := context.Background()
	store, err := sqlstore.NewWithOptions(ctx, db, sqlstore.Postgres, sqlstore.Options{Writers: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // commits what is pending; then every call fails with ErrClosed

	if err := store.Record(ctx, "anon-3f1c9d2e-8b7a-4c61-9e05-2d4b6a8f0c13", time.Now()); err != nil {
		log.Print(err) // Record returns nil only once the row is committed
	}
	st := store.Stats()
	log.Printf("ledger: %d rows in %d batches (largest %d), %d errors", st.Rows, st.Batches, st.LargestBatch, st.Errors)
}

// Options are checked before the database is touched.
func ExampleOptions() {
	db := sql.OpenDB(unreachable{}) // any *sql.DB: this one never connects
	defer db.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		d    sqlstore.Dialect
		opts sqlstore.Options
	}{
		{sqlstore.SQLite, sqlstore.Options{Writers: 2}},
		{sqlstore.Postgres, sqlstore.Options{Writers: -1}},
	} {
		_, err := sqlstore.NewWithOptions(ctx, db, tc.d, tc.opts)
		fmt.Println(err)
	}
	// Output:
	// sqlstore: Options.Writers: SQLite allows one writer (its write lock is per file); got 2
	// sqlstore: Options.Writers: -1 is negative
}

// unreachable is a driver.Connector that never connects.
type unreachable struct{}

func (unreachable) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("unreachable")
}
func (unreachable) Driver() driver.Driver { return nil }
