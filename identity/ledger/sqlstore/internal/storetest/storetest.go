// Package storetest holds the schema-migration tests that the SQLite and
// PostgreSQL stores share (package ledgertest checks the Ledger contract).
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// Open opens a Store on the test's database, with a *sql.DB of its own, as
// another process would.
type Open func() (*sqlstore.Store, error)

// ConcurrentMigration opens 8 Stores at once on one empty database, as
// processes starting together would, and fails t unless every one opens and
// writes, and the schema version is recorded once.
func ConcurrentMigration(t *testing.T, open Open) {
	t.Helper()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := open()
			if err == nil {
				err = s.Record(context.Background(), "anon-1", time.Now())
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
	s := mustOpen(t, open)
	CheckSchemaVersion(t, s.DB())
}

// CheckSchemaVersion fails t unless db records one schema version, the
// current one.
func CheckSchemaVersion(t *testing.T, db *sql.DB) {
	t.Helper()
	var rows, version int
	if err := db.QueryRow("SELECT COUNT(*), MAX(version) FROM webchatid_schema_version").Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != sqlstore.SchemaVersion {
		t.Errorf("schema_version: got %d rows, version %d; want 1 row, version %d", rows, version, sqlstore.SchemaVersion)
	}
}

// NewerSchemaIsRefused fails t unless open refuses, with
// sqlstore.ErrSchemaTooNew, a database migrated by a newer version.
func NewerSchemaIsRefused(t *testing.T, open Open) {
	t.Helper()
	s := mustOpen(t, open)
	if _, err := s.DB().Exec("UPDATE webchatid_schema_version SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	if s2, err := open(); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		if err == nil {
			s2.Close()
		}
		t.Errorf("Open: got %v, want ErrSchemaTooNew", err)
	}
}

func mustOpen(t *testing.T, open Open) *sqlstore.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Ping checks Store.Ping on a freshly opened store (open must give each call
// its own database): nil while the store works, an error once its schema is
// gone (so Ping runs a query, not only a connection check), and an error
// once its database handle is closed.
func Ping(t *testing.T, open Open) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := mustOpen(t, open)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on a working store: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, `DROP TABLE webchatid_schema_version`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with the schema dropped: got nil, want an error")
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping on a closed store: got nil, want an error")
	}
}
