package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/identity/revocation/revocationtest"
)

// TestRevocationsConformance: the SQLite ledger database also keeps revoked
// sessions (identity.Revoker).
func TestRevocationsConformance(t *testing.T) {
	revocationtest.Run(t, func(t *testing.T) revocationtest.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
