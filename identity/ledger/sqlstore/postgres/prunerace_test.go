package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestPruneGoesOnPastAChunkLostToLink: Prune picks a full chunk (1000 IDs),
// and a Link committed meanwhile saves every one of them; Prune must still
// look past that chunk for the old IDs after it, and count only what it
// deleted.
func TestPruneGoesOnPastAChunkLostToLink(t *testing.T) {
	s := open(t, freshDSN(t))
	ctx := context.Background()
	old := time.Now().Add(-time.Hour)
	const chunk = 1000
	ids := make([]string, chunk)
	for i := range ids {
		ids[i] = fmt.Sprintf("anon-%04d", i)
	}
	if _, err := s.DB().Exec(`INSERT INTO webchatid_anonymous_ids (anonymous_id, first_seen, last_seen)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $2::timestamptz[])`, append(ids, "anon-zzzz"), fillTimes(chunk+1, old)); err != nil {
		t.Fatal(err)
	}
	// Link the first chunk in a transaction held open: its foreign-key
	// checks lock those IDs, so Prune's pick waits for it.
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO webchatid_links (anonymous_id, custom_user_id, first_seen, last_seen)
SELECT id, 'user-1', $2::timestamptz, $2::timestamptz FROM unnest($1::text[]) AS id`, ids, old); err != nil {
		t.Fatal(err)
	}
	var linker int
	if err := tx.QueryRow(`SELECT pg_backend_pid()`).Scan(&linker); err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.Prune(ctx, time.Now())
		done <- result{n, err}
	}()
	for { // until Prune waits for the links' locks
		var waiting int
		if err := s.DB().QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, linker).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.n != 1 {
		t.Errorf("Prune: got %d, %v; want 1 (anon-zzzz), nil", r.n, r.err)
	}
	var left int
	if err := s.DB().QueryRow(`SELECT count(*) FROM webchatid_anonymous_ids WHERE anonymous_id = 'anon-zzzz'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("anon-zzzz after Prune: %d rows, %v; want 0 (old and never linked)", left, err)
	}
}

func fillTimes(n int, at time.Time) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = at
	}
	return ts
}
