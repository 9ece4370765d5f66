package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/hook"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/internal/leakcheck"
)

// openStore opens a Store on a new SQLite file with package sqlite.
func openStore(t *testing.T, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.OpenOptions(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{Store: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// holdFirstBatch makes the Store's writer stop before committing its first
// batch until release is called; it returns once that batch was taken, so
// every row that arrives afterwards waits in the queue.
func holdFirstBatch(t *testing.T, s *sqlstore.Store) (release func()) {
	t.Helper()
	taken, proceed := make(chan int), make(chan struct{})
	var once sync.Once
	hook.OnBatch(s, func(int) {
		once.Do(func() {
			taken <- 1
			<-proceed
		})
	})
	go s.Record(context.Background(), "anon-first", time.Now())
	<-taken
	return sync.OnceFunc(func() { close(proceed) })
}

// waitQueued waits until n rows wait in the queue. It polls a condition,
// not a clock.
func waitQueued(s *sqlstore.Store, n int) {
	for hook.Queued(s) < n {
		runtime.Gosched()
	}
}

func concurrentRecords(s *sqlstore.Store, ids ...string) (wait func() []error) {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = s.Record(context.Background(), id, time.Now()) })
	}
	return func() []error { wg.Wait(); return errs }
}

func ids(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("anon-%02d", i))
	}
	return out
}

func countIDs(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM webchatid_anonymous_ids").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCallsArrivingDuringACommitShareTheNextOne: while one transaction is
// being written, the calls that arrive wait and then commit together, and
// each returns only once its row is stored.
func TestCallsArrivingDuringACommitShareTheNextOne(t *testing.T) {
	leakcheck.Check(t)
	s := openStore(t, sqlstore.Options{})
	release := holdFirstBatch(t, s)
	const n = 40
	wait := concurrentRecords(s, ids(n)...)
	waitQueued(s, n)
	if got := countIDs(t, s.DB()); got != 0 {
		t.Fatalf("rows stored while the writer is held: got %d, want 0", got)
	}
	release()
	for _, err := range wait() {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every caller returned after its commit: all rows are there now.
	if got := countIDs(t, s.DB()); got != n+1 {
		t.Errorf("rows stored after the callers returned: got %d, want %d", got, n+1)
	}
	if st := s.Stats(); st.Rows != n+1 || st.LargestBatch != n || st.Batches != 2 {
		t.Errorf("Stats: got %+v, want %d rows in 2 batches, the largest of %d", st, n+1, n)
	}
}

// TestALargeBatchStoresEveryRow: one batch of many IDs and links (written
// in multi-row statements of several sizes), some rows for the same ID at
// different times, stores every row with its earliest and latest time.
func TestALargeBatchStoresEveryRow(t *testing.T) {
	leakcheck.Check(t)
	s := openStore(t, sqlstore.Options{})
	release := holdFirstBatch(t, s)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const nIDs, nLinks = 100, 50 // 64+32+4 IDs, 32+16+2 links: 250 ops, within the queue (256)
	var wg sync.WaitGroup
	errs := make(chan error, 2*nIDs+nLinks)
	for i := range nIDs {
		id := fmt.Sprintf("anon-%03d", i)
		wg.Go(func() { errs <- s.Record(ctx, id, t0.Add(time.Duration(i)*time.Second)) })
		wg.Go(func() { errs <- s.Record(ctx, id, t0.Add(-time.Duration(i)*time.Second)) })
	}
	for i := range nLinks {
		id, user := fmt.Sprintf("anon-%03d", i), fmt.Sprintf("user-%d", i%7)
		wg.Go(func() { errs <- s.Link(ctx, id, user, t0.Add(time.Duration(2*i)*time.Second)) })
	}
	waitQueued(s, 2*nIDs+nLinks)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.LargestBatch != 2*nIDs+nLinks {
		t.Fatalf("Stats: got %+v, want one batch of %d", st, 2*nIDs+nLinks)
	}
	got := map[string]ledger.Entry{}
	if err := s.Export(ctx, func(e ledger.Entry) error {
		got[e.AnonymousID+"/"+e.CustomUserID] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != nIDs+1 { // unlinked IDs and links, one each; anon-first
		t.Errorf("Export: %d entries, want %d", len(got), nIDs+1)
	}
	for i := range nIDs {
		id := fmt.Sprintf("anon-%03d", i)
		key, first, last := id+"/", t0.Add(-time.Duration(i)*time.Second), t0.Add(time.Duration(i)*time.Second)
		if i < nLinks {
			key = fmt.Sprintf("%s/user-%d", id, i%7)
			first, last = t0.Add(time.Duration(2*i)*time.Second), t0.Add(time.Duration(2*i)*time.Second)
		}
		e, ok := got[key]
		if !ok || !e.FirstSeen.Equal(first) || !e.LastSeen.Equal(last) {
			t.Errorf("%s: got %+v (found %v), want first %v, last %v", key, e, ok, first, last)
		}
	}
}

// TestBatchIsBoundedByMaxBatch: a queue longer than MaxBatch is committed in
// several transactions of at most MaxBatch rows.
func TestBatchIsBoundedByMaxBatch(t *testing.T) {
	s := openStore(t, sqlstore.Options{MaxBatch: 8})
	release := holdFirstBatch(t, s)
	const n = 8*3 + 1
	wait := concurrentRecords(s, ids(n)...)
	waitQueued(s, 8) // the queue holds 8; the others wait to enter it
	release()
	for _, err := range wait() {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.LargestBatch != 8 || st.Rows != n+1 || st.Batches < 4 {
		t.Errorf("Stats: got %+v, want %d rows in batches of at most 8", st, n+1)
	}
}

// TestCommitSpacingGathersRows: a row that arrives soon after a commit
// started waits for the spacing to pass, and the rows arriving meanwhile
// join its batch; a lone write after an idle spell commits at once. The
// spacing is an hour, so the test cannot pass by timing: the gathering
// batch ends only when it holds MaxBatch rows.
func TestCommitSpacingGathersRows(t *testing.T) {
	leakcheck.Check(t)
	const n = 12
	s := openStore(t, sqlstore.Options{CommitSpacing: time.Hour, MaxBatch: n})
	gathers := make(chan struct{}, 1)
	hook.OnGather(s, func() { gathers <- struct{}{} })
	var mu sync.Mutex
	var sizes []int
	hook.OnBatch(s, func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	ctx := context.Background()
	// The first write finds the writer idle (no commit yet): no wait.
	if err := s.Record(ctx, "anon-first", time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathers:
		t.Fatal("the first write waited for the commit spacing; an idle writer must commit at once")
	default:
	}
	// The next rows come within the spacing: the writer takes the first
	// and waits, and the others join it until the batch is full.
	wait := concurrentRecords(s, ids(n)...)
	errs := make(chan []error, 1)
	go func() { errs <- wait() }()
	var got []error
	select {
	case <-gathers:
		got = <-errs
	case got = <-errs:
		t.Error("the rows that came within the spacing were committed without waiting for it")
	}
	for _, err := range got {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := countIDs(t, s.DB()); got != n+1 {
		t.Errorf("rows stored: got %d, want %d", got, n+1)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != n {
		t.Errorf("batch sizes: got %v, want [1 %d] (the lone first row, then all the rows that came within the spacing)", sizes, n)
	}
}

// TestCloseEndsTheCommitSpacing: Close does not wait out the spacing; the
// row that was waiting is committed and acknowledged at once.
func TestCloseEndsTheCommitSpacing(t *testing.T) {
	leakcheck.Check(t)
	s := openStore(t, sqlstore.Options{CommitSpacing: time.Hour})
	gathers := make(chan struct{}, 1)
	hook.OnGather(s, func() { gathers <- struct{}{} })
	ctx := context.Background()
	if err := s.Record(ctx, "anon-first", time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Record(ctx, "anon-second", time.Now()) }()
	select {
	case <-gathers: // anon-second waits out the hour
	case err := <-done:
		t.Fatalf("Record within the spacing returned (%v) without waiting for it", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Record during the spacing, then Close: got %v, want nil (committed)", err)
	}
}

// TestNegativeCommitSpacingTurnsItOff: with CommitSpacing < 0 every batch
// commits as soon as the writer is free, however recent the last commit.
func TestNegativeCommitSpacingTurnsItOff(t *testing.T) {
	s := openStore(t, sqlstore.Options{CommitSpacing: -1})
	var gathered bool
	hook.OnGather(s, func() { gathered = true }) // read after the writes: ordered by their acknowledgements
	for _, id := range ids(5) {
		if err := s.Record(context.Background(), id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if gathered {
		t.Error("the writer waited for a commit spacing that is turned off")
	}
	if st := s.Stats(); st.Batches != 5 {
		t.Errorf("Stats: got %+v, want 5 batches of one row", st)
	}
}

// TestABadRowFailsOnlyItsCaller: a row the database refuses (a trigger
// raises) makes its batch fail; the batch is retried row by row, so the
// others commit and only the bad row's caller gets the error.
func TestABadRowFailsOnlyItsCaller(t *testing.T) {
	s := openStore(t, sqlstore.Options{})
	if _, err := s.DB().Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON webchatid_anonymous_ids
		WHEN NEW.anonymous_id = 'anon-bad' BEGIN SELECT RAISE(ABORT, 'bad row'); END`); err != nil {
		t.Fatal(err)
	}
	release := holdFirstBatch(t, s)
	rows := []string{"anon-1", "anon-2", "anon-bad", "anon-3", "anon-4"}
	wait := concurrentRecords(s, rows...)
	waitQueued(s, len(rows))
	release()
	for i, err := range wait() {
		if rows[i] == "anon-bad" {
			if err == nil || !strings.Contains(err.Error(), "sqlstore: record") || !strings.Contains(err.Error(), "bad row") {
				t.Errorf("Record(anon-bad): got %v, want the trigger's error", err)
			}
		} else if err != nil {
			t.Errorf("Record(%s): got %v, want nil (only anon-bad is refused)", rows[i], err)
		}
	}
	if got := countIDs(t, s.DB()); got != len(rows) {
		t.Errorf("rows stored: got %d, want %d (anon-first and the four good rows)", got, len(rows))
	}
	if st := s.Stats(); st.FailedBatches != 1 || st.Errors != 1 || st.Rows != uint64(len(rows)) {
		t.Errorf("Stats: got %+v, want 1 failed batch, 1 error, %d rows", st, len(rows))
	}
}

// TestCloseDrainsPendingWrites: rows handed to the writers before Close
// are committed and acknowledged; writes after Close fail with ErrClosed.
func TestCloseDrainsPendingWrites(t *testing.T) {
	leakcheck.Check(t)
	s := openStore(t, sqlstore.Options{})
	var file string
	if err := s.DB().QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		t.Fatal(err)
	}
	release := holdFirstBatch(t, s)
	const n = 20
	wait := concurrentRecords(s, ids(n)...)
	waitQueued(s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for { // Close has stopped new writes
		if hook.Closing(s) {
			break
		}
		runtime.Gosched()
	}
	if err := s.Record(context.Background(), "anon-late", time.Now()); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("Record after Close: got %v, want ErrClosed", err)
	}
	if err := s.Link(context.Background(), "anon-late", "user-1", time.Now()); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("Link after Close: got %v, want ErrClosed", err)
	}
	release()
	for i, err := range wait() {
		if err != nil {
			t.Errorf("Record(anon-%02d) pending at Close: got %v, want nil", i, err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Prune(context.Background(), time.Now()); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("Prune after Close: got %v, want ErrClosed", err)
	}
	if err := s.Forget(context.Background(), "user-1"); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("Forget after Close: got %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db, err := sql.Open(sqlite.DriverName, file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := countIDs(t, db); got != n+1 {
		t.Errorf("rows after Close: got %d, want %d", got, n+1)
	}
}

// TestACallerThatGivesUpReturnsAtOnce: a caller whose context ends while
// its row waits for the writer returns the context's error without waiting
// for the commit.
func TestACallerThatGivesUpReturnsAtOnce(t *testing.T) {
	s := openStore(t, sqlstore.Options{})
	release := holdFirstBatch(t, s)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Link(ctx, "anon-1", "user-1", time.Now()) }()
	waitQueued(s, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Link: got %v, want context.Canceled", err)
	}
}

// TestSQLiteNeedsAConnectionBesideTheWriter: with one connection in all,
// the writer would keep it and reads would wait forever; New says so.
func TestSQLiteNeedsAConnectionBesideTheWriter(t *testing.T) {
	db, err := sql.Open(sqlite.DriverName, filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if s, err := sqlstore.New(db, sqlstore.SQLite); err == nil || !strings.Contains(err.Error(), "at least 2") {
		if err == nil {
			s.Close()
		}
		t.Errorf("New with MaxOpenConns(1): got %v, want an error saying to allow 2", err)
	}
}
