package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/storetest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// TestSessions: the SQLite ledger database also keeps server-side sessions
// (identity/sessionstore's backend).
func TestSessions(t *testing.T) {
	storetest.Sessions(t, func(t *testing.T) *sqlstore.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
