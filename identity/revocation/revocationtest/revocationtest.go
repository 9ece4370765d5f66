// Package revocationtest is the conformance suite for stores of revoked
// sessions (the contract of identity.Revoker). It uses only the standard
// library, so a store needs not import package identity to be tested:
//
//	func TestConformance(t *testing.T) {
//		revocationtest.Run(t, func(t *testing.T) revocationtest.Store { return memrevoke.New() })
//	}
package revocationtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Store is the contract under test, the same as identity.Revoker.
type Store interface {
	// Revoke marks sessionID revoked at least until until.
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// Revoked reports whether sessionID was revoked (and until has not
	// passed long ago: a store may forget entries whose until has passed).
	Revoked(ctx context.Context, sessionID string) (bool, error)
}

// Run checks the contract on stores made by open; each subtest gets a new,
// empty store. Entries are revoked until an hour or more from the wall
// clock, except where the suite checks that stale entries do no harm.
func Run(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)

	t.Run("an unknown session is not revoked", func(t *testing.T) {
		s := open(t)
		if got, err := s.Revoked(ctx, "never-seen"); err != nil || got {
			t.Errorf("Revoked: got %v, %v; want false, nil", got, err)
		}
	})
	t.Run("a revoked session stays revoked, others are not", func(t *testing.T) {
		s := open(t)
		if err := s.Revoke(ctx, "sid-a", later); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		for _, tc := range []struct {
			id   string
			want bool
		}{{"sid-a", true}, {"sid-b", false}, {"sid-A", false}, {"sid-", false}} {
			if got, err := s.Revoked(ctx, tc.id); err != nil || got != tc.want {
				t.Errorf("Revoked(%q): got %v, %v; want %v", tc.id, got, err, tc.want)
			}
		}
	})
	t.Run("revoking twice is fine and never shortens the revocation", func(t *testing.T) {
		s := open(t)
		for _, until := range []time.Time{later.Add(time.Hour), later, time.Now().Add(-time.Hour)} {
			if err := s.Revoke(ctx, "sid-a", until); err != nil {
				t.Fatalf("Revoke until %v: %v", until, err)
			}
		}
		// Something else revoked later triggers any pruning.
		if err := s.Revoke(ctx, "sid-b", later); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, "sid-a"); err != nil || !got {
			t.Errorf("Revoked: got %v, %v; want true", got, err)
		}
	})
	t.Run("pruning stale entries keeps current ones", func(t *testing.T) {
		s := open(t)
		if err := s.Revoke(ctx, "stale", time.Now().Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, "current", later); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, "another", later); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Revoked(ctx, "current"); err != nil || !got {
			t.Errorf("Revoked(current): got %v, %v; want true", got, err)
		}
	})
	t.Run("IDs are compared byte for byte", func(t *testing.T) {
		s := open(t)
		id := "sid-Ünïcode-é"
		if err := s.Revoke(ctx, id, later); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Revoked(ctx, "sid-Ünïcode-e\u0301"); got {
			t.Error("a differently normalised ID is revoked too")
		}
		if got, err := s.Revoked(ctx, id); err != nil || !got {
			t.Errorf("Revoked: got %v, %v; want true", got, err)
		}
	})
	t.Run("an empty session ID is refused", func(t *testing.T) {
		s := open(t)
		if err := s.Revoke(ctx, "", later); err == nil {
			t.Error("Revoke(\"\"): got nil, want an error")
		}
	})
	t.Run("a cancelled context fails", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Revoke(cctx, "sid-a", later); err == nil {
			if got, _ := s.Revoked(ctx, "sid-a"); !got {
				t.Error("Revoke with a cancelled context returned nil but did not revoke")
			}
		}
		if _, err := s.Revoked(cctx, "sid-a"); err == nil {
			t.Log("Revoked ignores a cancelled context (allowed for in-memory stores)")
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 20 {
			wg.Add(2)
			id := fmt.Sprintf("sid-%02d", i)
			go func() { defer wg.Done(); errs <- s.Revoke(ctx, id, later) }()
			go func() { defer wg.Done(); _, err := s.Revoked(ctx, id); errs <- err }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			if got, err := s.Revoked(ctx, fmt.Sprintf("sid-%02d", i)); err != nil || !got {
				t.Errorf("sid-%02d: got %v, %v; want revoked", i, got, err)
			}
		}
	})
}
