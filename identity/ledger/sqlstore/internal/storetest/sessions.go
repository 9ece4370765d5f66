package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// Sessions checks the server-side session table (schema version 4) of s:
// a put is read back (bytes and expiry), replaced by the next put of the
// same ID, gone after a delete, and never returned once expired; pruning
// removes exactly the expired rows; a closed store refuses writes with
// sqlstore.ErrClosed. open returns a fresh store, closed by the caller's
// cleanup.
func Sessions(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
	ctx := context.Background()
	hour := time.Now().Add(time.Hour).Truncate(time.Microsecond)

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		data := []byte{0, '{', 0xff, '}', 0} // opaque bytes, not text
		if err := s.SessionPut(ctx, "sid-1", data, hour); err != nil {
			t.Fatal(err)
		}
		got, exp, err := s.SessionGet(ctx, "sid-1")
		if err != nil || !bytes.Equal(got, data) || !exp.Equal(hour) {
			t.Fatalf("SessionGet: got %q, %v, %v; want %q, %v", got, exp, err, data, hour)
		}
		if err := s.SessionPut(ctx, "sid-1", []byte("second"), hour.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, exp, err := s.SessionGet(ctx, "sid-1"); err != nil || string(got) != "second" || !exp.Equal(hour.Add(time.Minute)) {
			t.Fatalf("SessionGet after a second put: got %q, %v, %v; want the second put", got, exp, err)
		}
		if got, _, err := s.SessionGet(ctx, "sid-2"); got != nil || err != nil {
			t.Fatalf("SessionGet of an unknown ID: got %q, %v; want none", got, err)
		}
		if err := s.SessionDelete(ctx, "sid-1"); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.SessionGet(ctx, "sid-1"); got != nil || err != nil {
			t.Fatalf("SessionGet after SessionDelete: got %q, %v; want none", got, err)
		}
		if err := s.SessionDelete(ctx, "sid-1"); err != nil {
			t.Fatalf("SessionDelete of a missing ID: %v; want nil", err)
		}
	})

	t.Run("ExpiredIsNone", func(t *testing.T) {
		s := open(t)
		if err := s.SessionPut(ctx, "old", []byte("x"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.SessionGet(ctx, "old"); got != nil || err != nil {
			t.Fatalf("SessionGet of an expired session: got %q, %v; want none", got, err)
		}
	})

	t.Run("Prune", func(t *testing.T) {
		s := open(t)
		past := time.Now().Add(-time.Minute)
		// A put drops what has expired before it: put the expired rows
		// last, after the live one.
		if err := s.SessionPut(ctx, "live", []byte("x"), hour); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"dead-1", "dead-2"} {
			if err := s.SessionPut(ctx, id, []byte("x"), past); err != nil {
				t.Fatal(err)
			}
		}
		if n := countSessions(t, s); n != 2 { // dead-1 went at dead-2's put
			t.Fatalf("after puts: %d rows; want 2 (a put prunes the expired)", n)
		}
		n, err := s.SessionPrune(ctx, time.Now())
		if err != nil || n != 1 {
			t.Fatalf("SessionPrune: got %d, %v; want 1", n, err)
		}
		if n := countSessions(t, s); n != 1 {
			t.Fatalf("after SessionPrune: %d rows; want 1", n)
		}
		if got, _, err := s.SessionGet(ctx, "live"); got == nil || err != nil {
			t.Fatalf("SessionGet of the live session after SessionPrune: got %q, %v", got, err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		s := open(t)
		if err := s.SessionPut(ctx, "", []byte("x"), hour); err == nil {
			t.Error("SessionPut with an empty ID: nil error")
		}
		if err := s.SessionPut(ctx, "sid", nil, hour); err == nil {
			t.Error("SessionPut with empty data: nil error")
		}
		s.Close()
		if err := s.SessionPut(ctx, "sid", []byte("x"), hour); !errors.Is(err, sqlstore.ErrClosed) {
			t.Errorf("SessionPut after Close: %v; want ErrClosed", err)
		}
		if err := s.SessionDelete(ctx, "sid"); !errors.Is(err, sqlstore.ErrClosed) {
			t.Errorf("SessionDelete after Close: %v; want ErrClosed", err)
		}
		if _, err := s.SessionPrune(ctx, time.Now()); !errors.Is(err, sqlstore.ErrClosed) {
			t.Errorf("SessionPrune after Close: %v; want ErrClosed", err)
		}
	})
}

func countSessions(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM webchatid_sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
