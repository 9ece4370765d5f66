package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// TestOpenCreatesFileOwnerOnly: the ledger holds who was linked to whom, so
// a new database file (and its WAL) is readable by its owner only.
func TestOpenCreatesFileOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), got)
		}
	}
}
