package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgertest"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
)

// TestABadRowFailsOnlyItsCaller: concurrent writes are batched into
// multi-row upserts; a row PostgreSQL refuses (a trigger raises) fails only
// its own caller, whichever batch it landed in, and every other row is
// stored.
func TestABadRowFailsOnlyItsCaller(t *testing.T) {
	s := open(t, freshDSN(t))
	for _, q := range []string{
		`CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.anonymous_id LIKE 'anon-bad%' THEN RAISE EXCEPTION 'bad row'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER refuse_bad BEFORE INSERT ON webchatid_anonymous_ids FOR EACH ROW EXECUTE FUNCTION refuse_bad()`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("anon-%03d", i)
		if i%50 == 7 {
			id = fmt.Sprintf("anon-bad-%03d", i)
		}
		wg.Go(func() {
			if i%2 == 0 {
				errs[i] = s.Record(context.Background(), id, time.Now())
			} else {
				errs[i] = s.Link(context.Background(), id, "user-1", time.Now())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if bad := i%50 == 7; bad != (err != nil) || bad && !strings.Contains(err.Error(), "bad row") {
			t.Errorf("write %d (bad: %v): got %v", i, bad, err)
		}
	}
	var rows int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM webchatid_anonymous_ids").Scan(&rows); err != nil || rows != n-4 {
		t.Errorf("rows stored: got %d, %v; want %d", rows, err, n-4)
	}
	if st := s.Stats(); st.Errors != 4 || st.Rows != n-4 {
		t.Errorf("Stats: got %+v, want 4 errors and %d rows", st, n-4)
	}
	t.Logf("Stats: %+v", s.Stats())
}

func TestOpenOptionsAreChecked(t *testing.T) {
	for _, opts := range []postgres.Options{
		{MaxConns: -1},
		{MaxConns: 1}, // no room beside the default writer
		{MaxConns: 4, Store: sqlstore.Options{Writers: 4}}, // likewise
		{MaxConns: 2, Store: sqlstore.Options{Writers: 2}}, // likewise
	} {
		if s, err := postgres.OpenOptions(context.Background(), "postgres://127.0.0.1:1/x", opts); err == nil {
			s.Close()
			t.Errorf("OpenOptions(%+v): got nil error, want one", opts)
		}
	}
}

// TestPoolKeepsItsConnections: the pool is sized (10) and keeps every
// connection open when idle, so load never waits for new backends.
func TestPoolKeepsItsConnections(t *testing.T) {
	s := open(t, freshDSN(t))
	if got := s.DB().Stats().MaxOpenConnections; got != postgres.DefaultMaxConns {
		t.Errorf("MaxOpenConnections: got %d, want %d", got, postgres.DefaultMaxConns)
	}
	// Hold 10 connections at once, release them, and see them all idle.
	ctx := context.Background()
	var conns []interface{ Close() error }
	for range postgres.DefaultMaxConns {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if st := s.DB().Stats(); st.Idle != postgres.DefaultMaxConns || st.MaxIdleClosed != 0 {
		t.Errorf("after a burst: %d idle, %d closed for the idle limit; want all %d kept", st.Idle, st.MaxIdleClosed, postgres.DefaultMaxConns)
	}
}

// The default is one writer; the conformance suite (50 concurrent
// writers, Forget and Prune racing writes, row-lock order) also holds with
// several writers committing at once.
func TestLedgerConformanceFourWriters(t *testing.T) {
	needPostgres(t)
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := postgres.OpenOptions(ctx, freshDSN(t), postgres.Options{Store: sqlstore.Options{Writers: 4}})
		if err != nil {
			t.Fatalf("OpenOptions: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
