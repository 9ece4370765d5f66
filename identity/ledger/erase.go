package ledger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
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
// Package [github.com/webchatid/webchatid/identity/userdata] has a client
// that needs no SDK. DeleteUserData returns nil only once IBM accepted the
// deletion; it wraps its error with [RetryAfter] when IBM said how long to
// wait.
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

// RetryAfter returns err marked as "try again no sooner than d from now":
// a [UserDataDeleter] returns it when IBM throttled the call (HTTP 429 with
// a Retry-After header). The [Eraser] then makes no call to the Deleter,
// for this or any other customer_id, until d has passed, and waits at least
// that long before retrying this customer_id (longer if its backoff says
// so). The attempt still counts toward MaxAttempts. The returned error's
// text is err's, and errors.Is and errors.As see err through it. A d of
// zero or less changes nothing.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// retryAfter returns the wait err asks for through [RetryAfter], or 0.
func retryAfter(err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return max(ra.after, 0)
	}
	return 0
}

// ErrErasureIncomplete is returned (wrapped) by [Eraser.Erase] when some
// customer_ids could not be deleted at IBM; the [ErasureReport] lists them,
// and they stay in the ledger so that a later Erase retries them.
var ErrErasureIncomplete = errors.New("ledger: erasure incomplete")

// EraserConfig configures [NewEraser]. Ledger and Deleter are required; the
// zero values of the other fields are the defaults.
type EraserConfig struct {
	// Ledger lists the user's anonymous IDs and forgets the deleted ones.
	// Required.
	Ledger Ledger

	// Deleter deletes one customer_id at IBM. Required.
	Deleter UserDataDeleter

	// IncludeCustomUserID also deletes the custom user ID itself as a
	// customer_id, for tokens that carried the real user ID as sub but were
	// not recorded in the ledger (issued before it was set up, or by another
	// service). Tokens from an identity.Server need no such help: its ledger
	// records whatever sub it issued, the anonymous ID by default or the
	// result of its Subject hook, and links it to the user, so Erase finds
	// it. The default is false: no IBM call (at IBM's rate, 15 s) for an ID
	// that never was a customer_id, and the custom user ID is not sent to
	// IBM. When true, the custom user ID must be a valid header value
	// (visible ASCII, no ; = , or space); otherwise it is reported as
	// failed.
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

	// OnResult, if not nil, is called once for each customer_id when it is
	// done: with a nil error once IBM confirmed its deletion, else with the
	// final error (out of attempts, ctx ended, or not a valid customer_id).
	// It runs on the goroutine of Erase, before the confirmed IDs are
	// forgotten in the ledger, and must not block for long; a progress
	// display is its purpose. The customer_id is usually an anonymous ID, a
	// cookie value: do not print or log it in full. The default is nil.
	OnResult func(customerID string, err error)

	// Logger receives a line per failed attempt and a summary. Lines carry
	// counts and the Deleter's errors, never the IDs themselves (an
	// anonymous ID is a cookie value): the customer_id, as is or
	// URL-escaped, is cut out of an error's text (HTTP clients quote the
	// request URL), but keep IDs out of those errors in other forms. If nil,
	// [slog.Default] is used at each call, as everywhere in this module.
	Logger *slog.Logger
}

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
// would together exceed IBM's rate). It is safe for concurrent use.
type Eraser struct {
	cfg EraserConfig // defaults filled in

	mu   sync.Mutex
	next time.Time // earliest start of the next call to Deleter
}

// NewEraser returns an Eraser for cfg, with the defaults filled in. It
// returns an error naming the field when Ledger or Deleter is missing or a
// number is negative.
func NewEraser(cfg EraserConfig) (*Eraser, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, errors.New("ledger: EraserConfig.Ledger is required")
	case cfg.Deleter == nil:
		return nil, errors.New("ledger: EraserConfig.Deleter is required (the app's client of IBM's user-data deletion API)")
	case cfg.Interval < 0:
		return nil, fmt.Errorf("ledger: EraserConfig.Interval is negative (%v)", cfg.Interval)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("ledger: EraserConfig.MaxAttempts is negative (%d)", cfg.MaxAttempts)
	case cfg.Backoff < 0:
		return nil, fmt.Errorf("ledger: EraserConfig.Backoff is negative (%v)", cfg.Backoff)
	}
	cfg.Interval = cmp.Or(cfg.Interval, DefaultEraseInterval)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultEraseMaxAttempts)
	cfg.Backoff = cmp.Or(cfg.Backoff, DefaultEraseBackoff)
	return &Eraser{cfg: cfg}, nil
}

// log returns cfg.Logger, or slog.Default at this call (so a default the
// app sets after NewEraser is used, as everywhere in this module).
func (e *Eraser) log() *slog.Logger {
	if e.cfg.Logger != nil {
		return e.cfg.Logger
	}
	return slog.Default()
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
// error when the ledger failed (both when both happened). IDs confirmed
// deleted are forgotten even if ctx ended meanwhile.
func (e *Eraser) Erase(ctx context.Context, customUserID string) (ErasureReport, error) {
	rep := ErasureReport{CustomUserID: customUserID}
	if customUserID == "" {
		return rep, errors.New("ledger: erase: empty custom user ID")
	}
	pending, anon, err := e.plan(ctx, customUserID, &rep)
	if err != nil {
		return rep, err
	}
	e.log().LogAttrs(ctx, slog.LevelInfo, "ledger: erasure started", slog.Int("customer_ids", len(pending)+len(rep.Failed)))
	e.deleteAll(ctx, pending, &rep)
	if err := e.forgetDeleted(ctx, customUserID, anon, &rep); err != nil {
		return rep, err
	}
	e.log().LogAttrs(ctx, slog.LevelInfo, "ledger: erasure finished", slog.Int("deleted", len(rep.Deleted)), slog.Int("failed", len(rep.Failed)))
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("%w: %d of %d customer_ids not deleted", ErrErasureIncomplete, len(rep.Failed), len(rep.Failed)+len(rep.Deleted))
	}
	return rep, nil
}

// plan looks up the user's customer_ids and returns those to delete, and
// the set of anonymous IDs among them; IDs that cannot travel in IBM's
// header go to rep.Failed at once.
func (e *Eraser) plan(ctx context.Context, customUserID string, rep *ErasureReport) ([]*eraseJob, map[string]bool, error) {
	entries, err := e.cfg.Ledger.Lookup(ctx, customUserID)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: erase: lookup: %w", err)
	}
	var jobs []*eraseJob
	anon := make(map[string]bool, len(entries))
	for _, en := range entries {
		if !anon[en.AnonymousID] {
			anon[en.AnonymousID] = true
			jobs = append(jobs, &eraseJob{id: en.AnonymousID})
		}
	}
	if e.cfg.IncludeCustomUserID && !anon[customUserID] {
		jobs = append(jobs, &eraseJob{id: customUserID})
	}
	pending := jobs[:0]
	for _, j := range jobs {
		if err := headersafe.Check(j.id); err != nil {
			e.fail(rep, ErasureFailure{CustomerID: j.id, Err: fmt.Errorf("ledger: erase: not a valid customer_id: %w", err)})
			continue
		}
		pending = append(pending, j)
	}
	return pending, anon, nil
}

// deleteAll calls the Deleter for every pending job at the Eraser's pace,
// retrying failures with backoff, until each is deleted, out of attempts,
// or ctx ends; it records each outcome in rep.
func (e *Eraser) deleteAll(ctx context.Context, pending []*eraseJob, rep *ErasureReport) {
	failRest := func(err error) {
		for _, p := range pending {
			e.fail(rep, ErasureFailure{CustomerID: p.id, Attempts: p.attempts, Err: err})
		}
	}
	for len(pending) > 0 {
		// The job that may run soonest; ties go to the earlier in the queue.
		k := 0
		for i, j := range pending {
			if j.notBefore.Before(pending[k].notBefore) {
				k = i
			}
		}
		j := pending[k]
		if err := e.waitTurn(ctx, j.notBefore); err != nil {
			failRest(err)
			return
		}
		j.attempts++
		err := e.cfg.Deleter.DeleteUserData(ctx, j.id)
		pending = slices.Delete(pending, k, k+1)
		if err == nil {
			rep.Deleted = append(rep.Deleted, j.id)
			if e.cfg.OnResult != nil {
				e.cfg.OnResult(j.id, nil)
			}
			continue
		}
		e.log().LogAttrs(ctx, slog.LevelWarn, "ledger: erasure: IBM deletion failed",
			slog.Int("attempt", j.attempts), slog.Int("max_attempts", e.cfg.MaxAttempts), slog.String("error", redactID(err, j.id)))
		if j.attempts >= e.cfg.MaxAttempts || ctx.Err() != nil {
			e.fail(rep, ErasureFailure{CustomerID: j.id, Attempts: j.attempts, Err: err})
			if ctx.Err() != nil {
				failRest(ctx.Err())
				return
			}
			continue
		}
		wait := e.backoff(j.attempts)
		if ra := retryAfter(err); ra > 0 {
			// IBM throttles the instance, not the ID: hold every call.
			e.holdUntil(time.Now().Add(ra))
			wait = max(wait, ra)
		}
		j.notBefore = time.Now().Add(wait)
		// At the back, so that ties favour IDs not tried yet.
		pending = append(pending, j)
	}
}

// fail records f in rep and reports it to OnResult.
func (e *Eraser) fail(rep *ErasureReport, f ErasureFailure) {
	rep.Failed = append(rep.Failed, f)
	if e.cfg.OnResult != nil {
		e.cfg.OnResult(f.CustomerID, f.Err)
	}
}

// holdUntil makes the next call to the Deleter, by any Erase, start no
// sooner than t.
func (e *Eraser) holdUntil(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.After(e.next) {
		e.next = t
	}
}

// backoff is the wait after a job's attempts-th failure: Backoff, doubled
// per further attempt, capped at maxEraseBackoff.
func (e *Eraser) backoff(attempts int) time.Duration {
	wait := e.cfg.Backoff
	for i := 1; i < attempts && wait < maxEraseBackoff; i++ {
		wait *= 2
	}
	return min(wait, maxEraseBackoff)
}

// forgetDeleted forgets in the ledger the anonymous IDs IBM confirmed
// deleted, even if ctx ended meanwhile.
func (e *Eraser) forgetDeleted(ctx context.Context, customUserID string, anon map[string]bool, rep *ErasureReport) error {
	var forget []string
	for _, id := range rep.Deleted {
		if anon[id] {
			forget = append(forget, id)
		}
	}
	if len(forget) == 0 {
		return nil
	}
	err := e.cfg.Ledger.Forget(context.WithoutCancel(ctx), customUserID, forget...)
	if err == nil {
		return nil
	}
	e.log().LogAttrs(ctx, slog.LevelError, "ledger: erasure: forgetting deleted IDs failed", slog.Int("deleted", len(rep.Deleted)), slog.String("error", err.Error()))
	err = fmt.Errorf("ledger: erase: IBM deleted %d customer_ids but the ledger could not forget them: %w", len(rep.Deleted), err)
	if len(rep.Failed) > 0 {
		err = fmt.Errorf("%w: %d of %d customer_ids not deleted; %w", ErrErasureIncomplete, len(rep.Failed), len(rep.Failed)+len(rep.Deleted), err)
	}
	return err
}

// waitTurn waits until notBefore and until Interval has passed since the
// start of this Eraser's previous call to the Deleter, by any Erase, and then
// claims the turn. It returns ctx's error, claiming nothing, once ctx ends.
func (e *Eraser) waitTurn(ctx context.Context, notBefore time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.mu.Lock()
		start := notBefore
		if e.next.After(start) {
			start = e.next
		}
		now := time.Now()
		if !now.Before(start) {
			e.next = now.Add(e.cfg.Interval)
			e.mu.Unlock()
			return nil
		}
		e.mu.Unlock()
		if err := sleep(ctx, start.Sub(now)); err != nil {
			return err
		}
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

// sleep waits for d or until ctx is done, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
