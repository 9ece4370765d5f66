package ledger

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// fakeLedger is the one in-memory Ledger this package's tests share. For
// the Recorder's tests it counts Record and Link calls (recorded, linked)
// and fails the next fail writes with errWrite; for the Eraser's tests it
// answers Lookup from byUser (anonymous IDs by custom user ID) and records
// every Forget call in forgotten, and lookupErr and forgetErr make those
// fail; for the Pruner's tests Prune records each cutoff, reports pruned
// rows removed and fails with pruneErr. Export lists nothing. It is safe for
// concurrent use.
type fakeLedger struct {
	recorded, linked atomic.Int64
	fail             atomic.Int64 // writes still to fail

	mu        sync.Mutex
	byUser    map[string][]string
	lookupErr error
	forgetErr error
	forgotten [][]string // each Forget call: the user, then the IDs
	pruned    int        // what Prune reports it removed
	pruneErr  error
	cutoffs   []time.Time // each Prune call's cutoff
}

var errWrite = errors.New("write failed")

// failing reports whether this write is one of those fail asked to fail.
func (l *fakeLedger) failing() bool {
	for {
		n := l.fail.Load()
		if n <= 0 {
			return false
		}
		if l.fail.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (l *fakeLedger) Record(context.Context, string, time.Time) error {
	if l.failing() {
		return errWrite
	}
	l.recorded.Add(1)
	return nil
}

func (l *fakeLedger) Link(context.Context, string, string, time.Time) error {
	if l.failing() {
		return errWrite
	}
	l.linked.Add(1)
	return nil
}

func (l *fakeLedger) Lookup(_ context.Context, user string) ([]Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lookupErr != nil {
		return nil, l.lookupErr
	}
	var out []Entry
	for _, id := range l.byUser[user] {
		out = append(out, Entry{AnonymousID: id, CustomUserID: user})
	}
	return out, nil
}

func (l *fakeLedger) Forget(_ context.Context, user string, ids ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgotten = append(l.forgotten, append([]string{user}, ids...))
	return l.forgetErr
}

func (l *fakeLedger) Export(context.Context, func(Entry) error) error { return nil }

func (l *fakeLedger) Prune(_ context.Context, cutoff time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cutoffs = append(l.cutoffs, cutoff)
	return l.pruned, l.pruneErr
}

// pruneCalls returns the cutoffs Prune was called with, in order.
func (l *fakeLedger) pruneCalls() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.cutoffs...)
}
