package postgres_test

import (
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/storetest"
)

// TestSessions: the PostgreSQL ledger database also keeps server-side
// sessions (identity/sessionstore's backend), shared by every replica.
func TestSessions(t *testing.T) {
	storetest.Sessions(t, func(t *testing.T) *sqlstore.Store { return open(t, freshDSN(t)) })
}
