package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// TestOneWriterNeverWaitsForTheLock opens the store with busy_timeout 0, so
// that any write that finds SQLite's write lock taken by another connection
// fails at once with SQLITE_BUSY instead of waiting. Then it writes from
// many goroutines at once with every kind of write the Store has. A Store
// that wrote through more than one connection (the pool) would fail here on
// the first collision; with its one writer connection nothing ever collides.
func TestOneWriterNeverWaitsForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	first, err := sqlite.Open(path) // creates the file and switches it to WAL
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	dsn, err := sqlite.DSN(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(sqlite.DriverName, strings.Replace(dsn, "busy_timeout(10000)", "busy_timeout(0)", 1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.New(db, sqlstore.SQLite) // db's pool is unlimited
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var timeout int
	if err := s.DB().QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 0 {
		t.Fatalf("busy_timeout: got %d, %v; want 0", timeout, err)
	}

	ctx := context.Background()
	const workers, perW = 32, 60
	var wg sync.WaitGroup
	errs := make(chan error, workers*perW)
	for w := range workers {
		wg.Go(func() {
			for i := range perW {
				id, user := fmt.Sprintf("anon-%02d-%03d", w, i), fmt.Sprintf("user-%02d", w)
				var err error
				switch i % 6 {
				case 0, 1:
					err = s.Record(ctx, id, time.Now())
				case 2, 3:
					err = s.Link(ctx, id, user, time.Now())
				case 4:
					err = s.Forget(ctx, user, fmt.Sprintf("anon-%02d-%03d", w, i-1))
				case 5:
					err = s.Revoke(ctx, "session-"+id, time.Now().Add(time.Hour))
					if err == nil {
						_, err = s.Prune(ctx, time.Now().Add(-time.Hour))
					}
					if err == nil {
						err = s.SessionPut(ctx, "sid-"+id, []byte("{}"), time.Now().Add(time.Hour))
					}
					if err == nil {
						err = s.SessionDelete(ctx, "sid-"+id)
					}
					if err == nil {
						_, err = s.SessionPrune(ctx, time.Now())
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Fatalf("%d of %d workers failed (a second writer connection met the lock):\n%v", len(all), workers, err)
	}
}
