package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgertest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/storetest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

func open(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		return open(t, filepath.Join(t.TempDir(), "ledger.db"))
	})
}

func TestOpenSetsWALAndForeignKeys(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := s.DB().QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if !strings.EqualFold(got, tc.want) {
			t.Errorf("PRAGMA %s: got %q, want %q", tc.pragma, got, tc.want)
		}
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared", "ledger.db?mode=ro", "a#b"} {
		if s, err := sqlite.Open(path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got nil error, want one", path)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Link(context.Background(), "anon-1", "user-1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := open(t, path).Lookup(context.Background(), "user-1")
	if err != nil || len(got) != 1 || got[0].AnonymousID != "anon-1" || !got[0].FirstSeen.Equal(at) {
		t.Errorf("Lookup after reopen: got %v, %v; want anon-1 first seen %v", got, err, at)
	}
}

func TestMigrationIsIdempotentAndConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	storetest.ConcurrentMigration(t, func() (*sqlstore.Store, error) { return sqlite.Open(path) })
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	storetest.NewerSchemaIsRefused(t, func() (*sqlstore.Store, error) { return sqlite.Open(path) })
}

func TestNewRefusesUnknownDialect(t *testing.T) {
	db, err := sql.Open(sqlite.DriverName, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlstore.New(db, 0); err == nil {
		t.Error("New(db, 0): got nil error, want one")
	}
	if _, err := sqlstore.New(nil, sqlstore.SQLite); err == nil {
		t.Error("New(nil, SQLite): got nil error, want one")
	}
}

// TestOpenChild is one of the processes TestProcessesStartingTogether starts.
func TestOpenChild(t *testing.T) {
	path := os.Getenv("WEBCHATID_OPEN_CHILD_PATH")
	if path == "" {
		t.Skip("helper process for TestProcessesStartingTogether")
	}
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Record(context.Background(), "anon-"+strconv.Itoa(os.Getpid()), time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestProcessesStartingTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), "WEBCHATID_OPEN_CHILD_PATH="+path)
		outs[i] = new(strings.Builder)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds { // start all before waiting for any
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	s := open(t, path)
	storetest.CheckSchemaVersion(t, s.DB())
	var ids int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM webchatid_anonymous_ids").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != n {
		t.Errorf("got %d IDs; want %d", ids, n)
	}
}

// TestCrashChild is the process TestCrashKeepsAcknowledgedLinks kills.
func TestCrashChild(t *testing.T) {
	if !ledgertest.IsCrashChild() {
		t.Skip("helper process for TestCrashKeepsAcknowledgedLinks")
	}
	s, err := sqlite.Open(os.Getenv("WEBCHATID_CRASH_SQLITE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	ledgertest.CrashChild(s)
}

func TestCrashKeepsAcknowledgedLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	ledgertest.Crash(t, "TestCrashChild", []string{"WEBCHATID_CRASH_SQLITE_PATH=" + path}, func(t *testing.T) ledger.Ledger {
		s := open(t, path)
		var res string
		if err := s.DB().QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Errorf("integrity_check after crash: got %q, %v; want ok", res, err)
		}
		return s
	})
}

func TestPing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	storetest.Ping(t, func() (*sqlstore.Store, error) { return sqlite.Open(path) })
}

func TestAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	storetest.AfterClose(t, func() (*sqlstore.Store, error) { return sqlite.Open(path) })
}
