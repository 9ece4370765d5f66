package sqlstore

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

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/webchatid/webchatid/internal/leakcheck"
)

// openSQLite opens a Store on a new SQLite file with the settings package
// sqlite uses (it cannot be imported here: it imports this package).
func openSQLite(t *testing.T, opts Options) *Store {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "ledger.db") + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewWithOptions(context.Background(), db, SQLite, opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// holdFirstBatch makes the Store's writer stop before committing its first
// batch until release is called; it returns once that batch was taken, so
// every row that arrives afterwards waits in the queue.
func holdFirstBatch(t *testing.T, s *Store) (release func()) {
	t.Helper()
	taken, proceed := make(chan int), make(chan struct{})
	var once sync.Once
	s.testHookBatch = func(int) {
		once.Do(func() {
			taken <- 1
			<-proceed
		})
	}
	go s.Record(context.Background(), "anon-first", time.Now())
	<-taken
	return sync.OnceFunc(func() { close(proceed) })
}

// waitQueued waits until n rows wait in the queue. It polls a condition,
// not a clock.
func waitQueued(s *Store, n int) {
	for len(s.queue) < n {
		runtime.Gosched()
	}
}

func concurrentRecords(s *Store, ids ...string) (wait func() []error) {
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
	s := openSQLite(t, Options{})
	release := holdFirstBatch(t, s)
	const n = 40
	wait := concurrentRecords(s, ids(n)...)
	waitQueued(s, n)
	if got := countIDs(t, s.db); got != 0 {
		t.Fatalf("rows stored while the writer is held: got %d, want 0", got)
	}
	release()
	for _, err := range wait() {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every caller returned after its commit: all rows are there now.
	if got := countIDs(t, s.db); got != n+1 {
		t.Errorf("rows stored after the callers returned: got %d, want %d", got, n+1)
	}
	if st := s.Stats(); st.Rows != n+1 || st.LargestBatch != n || st.Batches != 2 {
		t.Errorf("Stats: got %+v, want %d rows in 2 batches, the largest of %d", st, n+1, n)
	}
}

// TestBatchIsBoundedByMaxBatch: a queue longer than MaxBatch is committed in
// several transactions of at most MaxBatch rows.
func TestBatchIsBoundedByMaxBatch(t *testing.T) {
	s := openSQLite(t, Options{MaxBatch: 8})
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

// TestABadRowFailsOnlyItsCaller: a row the database refuses (a trigger
// raises) makes its batch fail; the batch is retried row by row, so the
// others commit and only the bad row's caller gets the error.
func TestABadRowFailsOnlyItsCaller(t *testing.T) {
	s := openSQLite(t, Options{})
	if _, err := s.db.Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON webchatid_anonymous_ids
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
	if got := countIDs(t, s.db); got != len(rows) {
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
	s := openSQLite(t, Options{})
	var file string
	if err := s.db.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		t.Fatal(err)
	}
	release := holdFirstBatch(t, s)
	const n = 20
	wait := concurrentRecords(s, ids(n)...)
	waitQueued(s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for { // Close has stopped new writes
		s.closeMu.RLock()
		c := s.closed
		s.closeMu.RUnlock()
		if c {
			break
		}
		runtime.Gosched()
	}
	if err := s.Record(context.Background(), "anon-late", time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: got %v, want ErrClosed", err)
	}
	if err := s.Link(context.Background(), "anon-late", "user-1", time.Now()); !errors.Is(err, ErrClosed) {
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
	if _, err := s.Prune(context.Background(), time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("Prune after Close: got %v, want ErrClosed", err)
	}
	if err := s.Forget(context.Background(), "user-1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Forget after Close: got %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db, err := sql.Open("sqlite", file)
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
	s := openSQLite(t, Options{})
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
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if s, err := New(db, SQLite); err == nil || !strings.Contains(err.Error(), "at least 2") {
		if err == nil {
			s.Close()
		}
		t.Errorf("New with MaxOpenConns(1): got %v, want an error saying to allow 2", err)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		opts Options
	}{
		{SQLite, Options{Writers: 2}},
		{Postgres, Options{Writers: -1}},
		{Postgres, Options{MaxBatch: -1}},
		{SQLite, Options{WriteTimeout: -time.Second}},
	} {
		if err := tc.opts.fill(tc.d); err == nil {
			t.Errorf("%v %+v: got nil error, want one", tc.d, tc.opts)
		}
	}
	o := Options{}
	if err := o.fill(Postgres); err != nil || o.Writers != DefaultPostgresWriters || o.MaxBatch != DefaultMaxBatch || o.WriteTimeout != DefaultWriteTimeout {
		t.Errorf("Postgres defaults: got %+v, %v", o, err)
	}
	o = Options{}
	if err := o.fill(SQLite); err != nil || o.Writers != 1 {
		t.Errorf("SQLite defaults: got %+v, %v; want one writer", o, err)
	}
}
