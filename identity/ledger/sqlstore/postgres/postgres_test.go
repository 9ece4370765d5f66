package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgertest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/storetest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
	"github.com/webchatid/webchatid/internal/pgtest"
)

// freshDSN returns a DSN whose search_path is a new, empty schema that is
// dropped when t ends, so test runs never see each other's rows; it skips
// (fails in CI) without a test server.
func freshDSN(t *testing.T) string { return pgtest.Schema(t, "webchatid_test_") }

// needPostgres returns the test server's DSN, or skips (fails in CI)
// saying how to provide one.
func needPostgres(t *testing.T) string { return pgtest.DSN(t) }

func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLedgerConformance(t *testing.T) {
	needPostgres(t)
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return open(t, freshDSN(t)) })
}

func TestTablesLiveInTheSearchPathSchema(t *testing.T) {
	s := open(t, freshDSN(t))
	var schema string
	err := s.DB().QueryRow(`SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = 'webchatid_links'::regclass`).Scan(&schema)
	if err != nil || !strings.HasPrefix(schema, "webchatid_test_") {
		t.Errorf("webchatid_links schema: got %q, %v; want the test's own schema", schema, err)
	}
}

func TestMigrationIsIdempotentAndConcurrent(t *testing.T) {
	dsn := freshDSN(t)
	storetest.ConcurrentMigration(t, func() (*sqlstore.Store, error) { return postgres.Open(context.Background(), dsn) })
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dsn := freshDSN(t)
	storetest.NewerSchemaIsRefused(t, func() (*sqlstore.Store, error) { return postgres.Open(context.Background(), dsn) })
}

// TestDatabaseSortsNotInByteOrder guards the suite's byte-order tests
// against passing vacuously: in a database that sorts in byte order anyway,
// they cannot tell whether the store asks for byte order itself.
func TestDatabaseSortsNotInByteOrder(t *testing.T) {
	s := open(t, freshDSN(t))
	var byteOrder bool
	if err := s.DB().QueryRow(`SELECT 'anon-B' < 'anon-a'`).Scan(&byteOrder); err != nil {
		t.Fatal(err)
	}
	if byteOrder {
		t.Skip("the test database sorts text in byte order, so the byte-order tests prove little; create it with an ICU collation (PostgreSQL 15+), as .ci/postgres.sh does")
	}
}

func TestOpenFailsClearlyWithoutServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://u:secret-password@127.0.0.1:1/db?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open: got nil error, want one")
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Errorf("Open error contains the password: %v", err)
	}
}

// TestCrashChild is the process TestCrashKeepsAcknowledgedLinks kills.
func TestCrashChild(t *testing.T) {
	if !ledgertest.IsCrashChild() {
		t.Skip("helper process for TestCrashKeepsAcknowledgedLinks")
	}
	s, err := postgres.Open(context.Background(), os.Getenv("WEBCHATID_CRASH_POSTGRES_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	ledgertest.CrashChild(s)
}

func TestCrashKeepsAcknowledgedLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process; skipped with -short")
	}
	dsn := freshDSN(t)
	ledgertest.Crash(t, "TestCrashChild", []string{"WEBCHATID_CRASH_POSTGRES_DSN=" + dsn}, func(t *testing.T) ledger.Ledger {
		return open(t, dsn) // a new connection pool
	})
}

func TestPing(t *testing.T) {
	dsn := freshDSN(t)
	storetest.Ping(t, func() (*sqlstore.Store, error) { return postgres.Open(context.Background(), dsn) })
}

func TestAfterClose(t *testing.T) {
	dsn := freshDSN(t)
	storetest.AfterClose(t, func() (*sqlstore.Store, error) { return postgres.Open(context.Background(), dsn) })
}
