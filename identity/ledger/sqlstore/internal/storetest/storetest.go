// Package storetest holds the schema-migration tests that the SQLite and
// PostgreSQL stores share (package ledgertest checks the Ledger contract).
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
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

// AfterClose fails t unless every method of a closed Store but Close,
// Stats, DB and Dialect fails with sqlstore.ErrClosed (reads too, not with
// database/sql's own error), a second Close returns nil, and Export calls
// no fn. A method added to Store without a case here fails t as well.
func AfterClose(t *testing.T, open Open) {
	t.Helper()
	ctx := context.Background()
	s, err := open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	now := time.Now()
	if err := s.Link(ctx, "anon-1", "user-1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"Record": func() error { return s.Record(ctx, "anon-2", now) },
		"Link":   func() error { return s.Link(ctx, "anon-2", "user-2", now) },
		"Lookup": func() error { _, err := s.Lookup(ctx, "user-1"); return err },
		"Forget": func() error { return s.Forget(ctx, "user-1") },
		"Export": func() error {
			return s.Export(ctx, func(ledger.Entry) error {
				t.Error("Export after Close called fn")
				return nil
			})
		},
		"Prune":         func() error { _, err := s.Prune(ctx, now); return err },
		"Ping":          func() error { return s.Ping(ctx) },
		"Revoke":        func() error { return s.Revoke(ctx, "session-1", now.Add(time.Hour)) },
		"Revoked":       func() error { _, err := s.Revoked(ctx, "session-1"); return err },
		"SessionPut":    func() error { return s.SessionPut(ctx, "sid-1", []byte("x"), now.Add(time.Hour)) },
		"SessionGet":    func() error { _, _, err := s.SessionGet(ctx, "sid-1"); return err },
		"SessionDelete": func() error { return s.SessionDelete(ctx, "sid-1") },
		"SessionPrune":  func() error { _, err := s.SessionPrune(ctx, now); return err },
	}
	exempt := map[string]bool{"Close": true, "Stats": true, "DB": true, "Dialect": true}
	typ := reflect.TypeOf(s)
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; calls[name] == nil && !exempt[name] {
			t.Errorf("Store.%s has no case in storetest.AfterClose", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(calls)) {
		if err := calls[name](); !errors.Is(err, sqlstore.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
