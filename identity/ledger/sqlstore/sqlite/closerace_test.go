package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/internal/hook"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/internal/leakcheck"
)

// TestCloseWaitsForAdmittedWrites: a Forget, Prune, Revoke, SessionPut,
// Lookup or Export that passed the open check just before Close began is
// not cut off by Close: it runs
// on an open database and returns nil, its change is committed, Close
// waits for it and leaves no connection open, and the same write after
// Close fails with ErrClosed. The interleaving is forced with hooks: the
// write stops right after its open check, and is released only once Close
// has refused new writes and waits (or, in a Store that does not wait, has
// returned).
func TestCloseWaitsForAdmittedWrites(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		write func(*sqlstore.Store) error
		// query counts the rows that show the write committed; want is
		// that count.
		query string
		want  int
	}{
		{"Forget", func(s *sqlstore.Store) error { return s.Forget(ctx, "user-1") },
			"SELECT COUNT(*) FROM webchatid_links WHERE custom_user_id = 'user-1'", 0},
		{"Prune", func(s *sqlstore.Store) error {
			_, err := s.Prune(ctx, time.Now().Add(time.Hour))
			return err
		}, "SELECT COUNT(*) FROM webchatid_anonymous_ids WHERE anonymous_id = 'anon-unlinked'", 0},
		{"Revoke", func(s *sqlstore.Store) error { return s.Revoke(ctx, "session-1", time.Now().Add(time.Hour)) },
			"SELECT COUNT(*) FROM webchatid_revoked_sessions WHERE session_id = 'session-1'", 1},
		{"SessionPut", func(s *sqlstore.Store) error {
			return s.SessionPut(ctx, "sid-1", []byte("x"), time.Now().Add(time.Hour))
		}, "SELECT COUNT(*) FROM webchatid_sessions WHERE session_id = 'sid-1'", 1},
		// Reads are admitted too: one let in before Close gets its rows,
		// not database/sql's "database is closed".
		{"Lookup", func(s *sqlstore.Store) error {
			es, err := s.Lookup(ctx, "user-1")
			if err == nil && len(es) != 1 {
				err = fmt.Errorf("got %d entries, want 1", len(es))
			}
			return err
		}, "SELECT COUNT(*) FROM webchatid_links WHERE custom_user_id = 'user-1'", 1},
		{"Export", func(s *sqlstore.Store) error {
			n := 0
			err := s.Export(ctx, func(ledger.Entry) error { n++; return nil })
			if err == nil && n != 2 {
				err = fmt.Errorf("got %d entries, want 2", n)
			}
			return err
		}, "SELECT COUNT(*) FROM webchatid_anonymous_ids", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			path := filepath.Join(t.TempDir(), "ledger.db")
			s, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Record(ctx, "anon-unlinked", time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := s.Link(ctx, "anon-linked", "user-1", time.Now()); err != nil {
				t.Fatal(err)
			}

			admitted, release, waiting := make(chan struct{}), make(chan struct{}), make(chan struct{})
			var once sync.Once
			hook.OnAdmitted(s, func() {
				once.Do(func() {
					close(admitted)
					<-release
				})
			})
			hook.OnCloseWaits(s, func() { close(waiting) })
			wrote := make(chan error, 1)
			go func() { wrote <- tc.write(s) }()
			select {
			case <-admitted:
			case err := <-wrote:
				t.Fatalf("%s returned (%v) without passing the open check Close waits for", tc.name, err)
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case err := <-closed:
				t.Errorf("Close returned (%v) while a %s it had admitted was still running", err, tc.name)
				closed <- err
			case <-waiting:
			}
			close(release)
			if err := <-wrote; err != nil {
				t.Errorf("%s admitted before Close: got %v, want nil", tc.name, err)
			}
			if err := <-closed; err != nil {
				t.Errorf("Close: %v", err)
			}
			if n := s.DB().Stats().OpenConnections; n != 0 {
				t.Errorf("after Close: %d connections still open, want 0", n)
			}
			if err := tc.write(s); !errors.Is(err, sqlstore.ErrClosed) {
				t.Errorf("%s after Close: got %v, want ErrClosed", tc.name, err)
			}

			db, err := sql.Open(sqlite.DriverName, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow(tc.query).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Errorf("%s: %q after Close: got %d, want %d (the admitted write was lost)", tc.name, tc.query, n, tc.want)
			}
		})
	}
}
