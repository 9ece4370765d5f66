package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgertest"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return memstore.New() })
}

func TestZeroStoreIsUsable(t *testing.T) {
	var s memstore.Store
	ctx := context.Background()
	if got, err := s.Lookup(ctx, "user-1"); err != nil || len(got) != 0 {
		t.Errorf("Lookup on a zero Store: got %v, %v; want nothing", got, err)
	}
	if err := s.Forget(ctx, "user-1"); err != nil {
		t.Errorf("Forget on a zero Store: %v", err)
	}
	if err := s.Link(ctx, "anon-1", "user-1", time.Now()); err != nil {
		t.Fatalf("Link on a zero Store: %v", err)
	}
	if got, _ := s.Lookup(ctx, "user-1"); len(got) != 1 {
		t.Errorf("Lookup after Link: got %v, want one entry", got)
	}
}

func TestPing(t *testing.T) {
	var s memstore.Store
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with a cancelled context: got nil, want an error")
	}
}
