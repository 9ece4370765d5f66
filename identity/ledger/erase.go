package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/webchatid/webchatid/internal/headersafe"
)

// UserDataDeleter deletes everything IBM stores under one customer_id (the
// sub of the tokens a visitor was given). It is the app's IBM client; the
// IBM Go SDK's assistantv2.DeleteUserData fits behind it:
//
//	ledger.UserDataDeleterFunc(func(ctx context.Context, id string) error {
//		_, err := assistant.DeleteUserDataWithContext(ctx,
//			assistant.NewDeleteUserDataOptions(id))
//		return err
//	})
//
// DeleteUserData returns nil only once IBM accepted the deletion.
type UserDataDeleter interface {
	DeleteUserData(ctx context.Context, customerID string) error
}

// UserDataDeleterFunc adapts an ordinary function to [UserDataDeleter].
type UserDataDeleterFunc func(ctx context.Context, customerID string) error

// DeleteUserData calls f(ctx, customerID).
func (f UserDataDeleterFunc) DeleteUserData(ctx context.Context, customerID string) error {
	return f(ctx, customerID)
}

// Defaults of [Eraser].
const (
	// DefaultEraseInterval spaces calls to IBM's user-data deletion API,
	// which allows about 4 requests a minute.
	DefaultEraseInterval = 15 * time.Second
	// DefaultEraseMaxAttempts is how often one customer_id is tried.
	DefaultEraseMaxAttempts = 5
	// DefaultEraseBackoff is the wait before the first retry of a
	// customer_id; it doubles with each further attempt, up to
	// maxEraseBackoff.
	DefaultEraseBackoff = 30 * time.Second

	maxEraseBackoff = 15 * time.Minute
)

// ErrErasureIncomplete is returned (wrapped) by [Eraser.Erase] when some
// customer_ids could not be deleted at IBM; the [ErasureReport] lists them,
// and they stay in the ledger so that a later Erase retries them.
var ErrErasureIncomplete = errors.New("ledger: erasure incomplete")

// An Eraser honours a person's erasure request: it finds in a [Ledger] every
// customer_id IBM may know the person by, asks IBM to delete each one at a
// pace IBM accepts, retries failures with exponential backoff, and then
// forgets in the ledger only the IDs whose deletion IBM confirmed.
//
// An anonymous ID shared with another user (one browser, two accounts) is
// deleted at IBM too, since IBM deletes by customer_id and cannot split it;
// the ledger keeps the ID for the other user (see [Ledger.Forget]).
//
// An Eraser paces all its calls to the Deleter, those of consecutive and of
// concurrent Erase calls alike: use one Eraser for one IBM instance (two
// would together exceed IBM's rate). It is safe for concurrent use; do not
// copy it after first use. The zero values of the optional fields are the
// defaults.
type Eraser struct {
	// Ledger lists the user's anonymous IDs and forgets the deleted ones.
	// Required.
	Ledger Ledger

	// Deleter deletes one customer_id at IBM. Required.
	Deleter UserDataDeleter

	// IncludeCustomUserID also deletes the custom user ID itself as a
	// customer_id, for tokens that carried the real user ID as sub but were
	// not recorded in the ledger (issued before it was set up, or by another
	// service). Tokens from a [Server] need no such help: its ledger records
	// whatever sub it issued, the anonymous ID by default or the result of
	// [Config.Subject], and links it to the user, so Erase finds it. The
	// default is false: no IBM call (at IBM's rate, 15 s) for an ID that
	// never was a customer_id, and the custom user ID is not sent to IBM.
	// When true, the custom user ID must be a valid header value (visible
	// ASCII, no ; = , or space); otherwise it is reported as failed.
	IncludeCustomUserID bool

	// Interval is the least time between the starts of two calls to
	// Deleter, retries and the calls of other Erase calls on this Eraser
	// included. If zero, DefaultEraseInterval (15 s, about 4 a minute) is
	// used.
	Interval time.Duration

	// MaxAttempts is how often one customer_id is tried before it is
	// reported as failed. If zero, DefaultEraseMaxAttempts (5) is used.
	MaxAttempts int

	// Backoff is the wait before the first retry of a customer_id; each
	// further retry waits twice as long, up to 15 minutes. Other IDs are
	// tried in the meantime. If zero, DefaultEraseBackoff (30 s) is used.
	Backoff time.Duration

	// Logger receives a line per failed attempt and a summary. Lines carry
	// counts and the Deleter's errors, never the IDs themselves (an
	// anonymous ID is a cookie value): the customer_id, as is or
	// URL-escaped, is cut out of an error's text (HTTP clients quote the
	// request URL), but keep IDs out of those errors in other forms. If nil,
	// nothing is logged.
	Logger *slog.Logger

	// Now is the clock. If nil, time.Now is used.
	Now func() time.Time

	// Sleep waits for d or until ctx is done, returning ctx's error then.
	// If nil, a timer is used. Tests inject a fake that advances a fake
	// clock.
	Sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // earliest start of the next call to Deleter
}

// ErasureReport is the outcome of [Eraser.Erase].
type ErasureReport struct {
	// CustomUserID is the user whose data was erased.
	CustomUserID string
	// Deleted lists the customer_ids IBM confirmed deleted, in that order.
	// The anonymous IDs among them were forgotten in the ledger, unless
	// Erase also returned a Forget error.
	Deleted []string
	// Failed lists the customer_ids that could not be deleted; they remain
	// in the ledger.
	Failed []ErasureFailure
}

// ErasureFailure is one customer_id [Eraser.Erase] could not delete.
type ErasureFailure struct {
	CustomerID string // the customer_id that is not deleted
	Attempts   int    // calls made to the Deleter (0 if none was made)
	Err        error  // the last error
}

type eraseJob struct {
	id        string
	attempts  int
	notBefore time.Time
}

// Erase deletes at IBM every customer_id of customUserID and forgets the
// confirmed ones in the ledger. The error is nil when everything was
// deleted and forgotten (including when the ledger knew no ID for the
// user). It wraps [ErrErasureIncomplete] when some IDs failed or ctx ended
// before they were done (the report says which, and why), and the ledger's
// error when the ledger failed (both when both happened). IDs confirmed deleted are forgotten even if ctx ended
// meanwhile.
func (e *Eraser) Erase(ctx context.Context, customUserID string) (ErasureReport, error) {
	rep := ErasureReport{CustomUserID: customUserID}
	if e.Ledger == nil || e.Deleter == nil {
		return rep, errors.New("ledger: Eraser: Ledger and Deleter are required")
	}
	if customUserID == "" {
		return rep, errors.New("ledger: erase: empty custom user ID")
	}
	interval := erasePositiveOr(e.Interval, DefaultEraseInterval)
	maxAttempts := erasePositiveOr(e.MaxAttempts, DefaultEraseMaxAttempts)
	backoff := erasePositiveOr(e.Backoff, DefaultEraseBackoff)
	now := e.Now
	if now == nil {
		now = time.Now
	}
	sleep := e.Sleep
	if sleep == nil {
		sleep = eraseSleep
	}
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	entries, err := e.Ledger.Lookup(ctx, customUserID)
	if err != nil {
		return rep, fmt.Errorf("ledger: erase: lookup: %w", err)
	}
	var jobs []*eraseJob
	anon := make(map[string]bool, len(entries))
	for _, en := range entries {
		if !anon[en.AnonymousID] {
			anon[en.AnonymousID] = true
			jobs = append(jobs, &eraseJob{id: en.AnonymousID})
		}
	}
	if e.IncludeCustomUserID && !anon[customUserID] {
		jobs = append(jobs, &eraseJob{id: customUserID})
	}
	// A customer_id travels in an HTTP header at IBM: refuse what cannot.
	pending := jobs[:0]
	for _, j := range jobs {
		if err := headersafe.Check(j.id); err != nil {
			rep.Failed = append(rep.Failed, ErasureFailure{CustomerID: j.id, Err: fmt.Errorf("ledger: erase: not a valid customer_id: %w", err)})
			continue
		}
		pending = append(pending, j)
	}
	log.Info("ledger: erasure started", "customer_ids", len(pending)+len(rep.Failed))

	for len(pending) > 0 {
		// The job that may run soonest; ties go to the earlier in the queue.
		k := 0
		for i, j := range pending {
			if j.notBefore.Before(pending[k].notBefore) {
				k = i
			}
		}
		j := pending[k]
		if err := e.waitTurn(ctx, j.notBefore, interval, now, sleep); err != nil {
			for _, p := range pending {
				rep.Failed = append(rep.Failed, ErasureFailure{CustomerID: p.id, Attempts: p.attempts, Err: err})
			}
			break
		}
		j.attempts++
		err := e.Deleter.DeleteUserData(ctx, j.id)
		if err == nil {
			rep.Deleted = append(rep.Deleted, j.id)
			pending = append(pending[:k], pending[k+1:]...)
			continue
		}
		log.Warn("ledger: erasure: IBM deletion failed", "attempt", j.attempts, "max_attempts", maxAttempts, "err", redactID(err, j.id))
		if j.attempts >= maxAttempts || ctx.Err() != nil {
			rep.Failed = append(rep.Failed, ErasureFailure{CustomerID: j.id, Attempts: j.attempts, Err: err})
			pending = append(pending[:k], pending[k+1:]...)
			if ctx.Err() != nil {
				for _, p := range pending {
					rep.Failed = append(rep.Failed, ErasureFailure{CustomerID: p.id, Attempts: p.attempts, Err: ctx.Err()})
				}
				break
			}
			continue
		}
		wait := backoff
		for i := 1; i < j.attempts && wait < maxEraseBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, maxEraseBackoff)
		j.notBefore = now().Add(wait)
		// Move it to the back so that ties favour IDs not tried yet.
		pending = append(append(pending[:k], pending[k+1:]...), j)
	}

	var forget []string
	for _, id := range rep.Deleted {
		if anon[id] {
			forget = append(forget, id)
		}
	}
	if len(forget) > 0 {
		if err := e.Ledger.Forget(context.WithoutCancel(ctx), customUserID, forget...); err != nil {
			log.Error("ledger: erasure: forgetting deleted IDs failed", "deleted", len(rep.Deleted), "err", err)
			err = fmt.Errorf("ledger: erase: IBM deleted %d customer_ids but the ledger could not forget them: %w", len(rep.Deleted), err)
			if len(rep.Failed) > 0 {
				err = fmt.Errorf("%w: %d of %d customer_ids not deleted; %w", ErrErasureIncomplete, len(rep.Failed), len(rep.Failed)+len(rep.Deleted), err)
			}
			return rep, err
		}
	}
	log.Info("ledger: erasure finished", "deleted", len(rep.Deleted), "failed", len(rep.Failed))
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("%w: %d of %d customer_ids not deleted", ErrErasureIncomplete, len(rep.Failed), len(rep.Failed)+len(rep.Deleted))
	}
	return rep, nil
}

// waitTurn waits until notBefore and until interval has passed since the
// start of this Eraser's previous call to the Deleter, by any Erase, and then
// claims the turn. It returns ctx's error, claiming nothing, once ctx ends.
func (e *Eraser) waitTurn(ctx context.Context, notBefore time.Time, interval time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	var slept bool
	var seen time.Time // e.next when this call went to sleep
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.mu.Lock()
		start := notBefore
		if e.next.After(start) {
			start = e.next
		}
		t := now()
		// Slept and no other Erase took a turn meanwhile: it is ours, even if
		// an injected Sleep returned early.
		if !t.Before(start) || slept && e.next.Equal(seen) {
			if t.Before(start) {
				t = start
			}
			e.next = t.Add(interval)
			e.mu.Unlock()
			return nil
		}
		seen = e.next
		e.mu.Unlock()
		if err := sleep(ctx, start.Sub(t)); err != nil {
			return err
		}
		slept = true
	}
}

// redactID returns err's text with id, as is or URL-escaped, replaced:
// an IBM client's error often quotes the request URL, customer_id and all.
func redactID(err error, id string) string {
	s := err.Error()
	for _, form := range []string{id, url.QueryEscape(id), url.PathEscape(id)} {
		s = strings.ReplaceAll(s, form, "[customer_id]")
	}
	return s
}

func erasePositiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func eraseSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
