package postgres_test

import (
	"context"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
	"github.com/webchatid/webchatid/identity/revocation/revocationtest"
)

// TestRevocationsConformance: the PostgreSQL ledger database also keeps
// revoked sessions (identity.Revoker), shared by every replica.
func TestRevocationsConformance(t *testing.T) {
	revocationtest.Run(t, func(t *testing.T) revocationtest.Store {
		s, err := postgres.Open(context.Background(), freshDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
