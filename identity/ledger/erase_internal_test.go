package ledger

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webchatid/webchatid/internal/logbuf"
)

// fakeIBM fails each customer_id a set number of times, and records the
// (fake, inside synctest) time of every call.
type fakeIBM struct {
	mu       sync.Mutex
	failures map[string]int // remaining failures per ID; -1 = always
	calls    []ibmCall
}

type ibmCall struct {
	id string
	at time.Time
}

var errIBM = errors.New("ibm: 429 too many requests")

func (f *fakeIBM) DeleteUserData(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ibmCall{id, time.Now()})
	switch n := f.failures[id]; {
	case n < 0:
		return errIBM
	case n > 0:
		f.failures[id] = n - 1
		return errIBM
	}
	return nil
}

// newEraseFixture returns an Eraser over a fake ledger and a fake IBM;
// configure, if given, adjusts the config first. Run it inside a
// synctest bubble: the Eraser's waits then pass in fake time, at once.
func newEraseFixture(t *testing.T, links map[string][]string, failures map[string]int, configure ...func(*EraserConfig)) (*Eraser, *fakeLedger, *fakeIBM) {
	t.Helper()
	ledger := &fakeLedger{byUser: links}
	ibm := &fakeIBM{failures: failures}
	if ibm.failures == nil {
		ibm.failures = map[string]int{}
	}
	cfg := EraserConfig{Ledger: ledger, Deleter: ibm, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range configure {
		f(&cfg)
	}
	e, err := NewEraser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, ledger, ibm
}

func callIDs(calls []ibmCall) []string {
	var ids []string
	for _, c := range calls {
		ids = append(ids, c.id)
	}
	return ids
}

func TestEraseDeletesEveryIDAndForgetsThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ledger, ibm := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-2", "anon-3"}}, nil)
		rep, err := e.Erase(context.Background(), "user-1")
		if err != nil {
			t.Fatalf("Erase: %v", err)
		}
		if want := []string{"anon-1", "anon-2", "anon-3"}; !slices.Equal(rep.Deleted, want) || len(rep.Failed) != 0 {
			t.Errorf("report: got deleted %v failed %v, want deleted %v", rep.Deleted, rep.Failed, want)
		}
		if want := [][]string{{"user-1", "anon-1", "anon-2", "anon-3"}}; !slices.EqualFunc(ledger.forgotten, want, slices.Equal) {
			t.Errorf("Forget calls: got %v, want %v", ledger.forgotten, want)
		}
		if got := callIDs(ibm.calls); !slices.Equal(got, rep.Deleted) {
			t.Errorf("IBM calls: got %v, want %v", got, rep.Deleted)
		}
	})
}

func TestErasePacesCallsToIBMsLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		want     time.Duration
	}{
		{"default interval is 15 s (4 a minute)", 0, 15 * time.Second},
		{"interval is configurable", time.Minute, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ids := []string{"anon-1", "anon-2", "anon-3", "anon-4", "anon-5", "anon-6"}
				e, _, ibm := newEraseFixture(t, map[string][]string{"user-1": ids}, map[string]int{"anon-2": 1},
					func(c *EraserConfig) { c.Interval = tc.interval })
				if _, err := e.Erase(context.Background(), "user-1"); err != nil {
					t.Fatalf("Erase: %v", err)
				}
				if got := len(ibm.calls); got != len(ids)+1 {
					t.Fatalf("got %d IBM calls, want %d", got, len(ids)+1)
				}
				if !ibm.calls[0].at.Equal(start) {
					t.Errorf("first call at %v, want at once (%v)", ibm.calls[0].at, start)
				}
				for i := 1; i < len(ibm.calls); i++ {
					if gap := ibm.calls[i].at.Sub(ibm.calls[i-1].at); gap < tc.want {
						t.Errorf("call %d came %v after the previous one, want at least %v", i, gap, tc.want)
					}
				}
				// In any minute-long window, at most 60s/interval + 1 calls start.
				for i := range ibm.calls {
					n := 0
					for _, c := range ibm.calls[i:] {
						if c.at.Sub(ibm.calls[i].at) < time.Minute {
							n++
						}
					}
					if limit := int(time.Minute/tc.want) + 1; n > limit {
						t.Errorf("%d calls within a minute of call %d, want at most %d", n, i, limit)
					}
				}
			})
		})
	}
}

func TestEraseRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ledger, ibm := newEraseFixture(t,
			map[string][]string{"user-1": {"anon-flaky", "anon-ok"}},
			map[string]int{"anon-flaky": 3},
			func(c *EraserConfig) { c.Interval, c.Backoff = time.Second, 10*time.Second },
		)
		rep, err := e.Erase(context.Background(), "user-1")
		if err != nil {
			t.Fatalf("Erase: %v", err)
		}
		if got, want := callIDs(ibm.calls), []string{"anon-flaky", "anon-ok", "anon-flaky", "anon-flaky", "anon-flaky"}; !slices.Equal(got, want) {
			t.Errorf("IBM calls: got %v, want %v (the other ID goes while the flaky one backs off)", got, want)
		}
		var flaky []time.Time
		for _, c := range ibm.calls {
			if c.id == "anon-flaky" {
				flaky = append(flaky, c.at)
			}
		}
		for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
			if gap := flaky[i+1].Sub(flaky[i]); gap < want {
				t.Errorf("retry %d came %v after the previous attempt, want at least %v", i+1, gap, want)
			}
		}
		if want := []string{"anon-ok", "anon-flaky"}; !slices.Equal(rep.Deleted, want) {
			t.Errorf("deleted: got %v, want %v", rep.Deleted, want)
		}
		if len(ledger.forgotten) != 1 || len(ledger.forgotten[0]) != 3 {
			t.Errorf("Forget calls: got %v, want one for both IDs", ledger.forgotten)
		}
	})
}

func TestEraseForgetsOnlyConfirmedDeletions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ledger, ibm := newEraseFixture(t,
			map[string][]string{"user-1": {"anon-1", "anon-broken", "anon-3"}},
			map[string]int{"anon-broken": -1},
			func(c *EraserConfig) { c.MaxAttempts = 3 },
		)
		rep, err := e.Erase(context.Background(), "user-1")
		if !errors.Is(err, ErrErasureIncomplete) {
			t.Fatalf("Erase: got %v, want ErrErasureIncomplete", err)
		}
		if want := []string{"anon-1", "anon-3"}; !slices.Equal(rep.Deleted, want) {
			t.Errorf("deleted: got %v, want %v", rep.Deleted, want)
		}
		if len(rep.Failed) != 1 || rep.Failed[0].CustomerID != "anon-broken" || rep.Failed[0].Attempts != 3 || !errors.Is(rep.Failed[0].Err, errIBM) {
			t.Errorf("failed: got %+v, want anon-broken after 3 attempts with IBM's error", rep.Failed)
		}
		if got := len(ibm.calls); got != 5 {
			t.Errorf("got %d IBM calls, want 5", got)
		}
		if want := [][]string{{"user-1", "anon-1", "anon-3"}}; !slices.EqualFunc(ledger.forgotten, want, slices.Equal) {
			t.Errorf("Forget calls: got %v, want %v", ledger.forgotten, want)
		}
	})
}

func TestEraseIncludesCustomUserIDWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		include bool
		user    string
		calls   []string
		failed  int
	}{
		{"not included by default", false, "user-1", []string{"anon-1"}, 0},
		{"included when asked, not forgotten as an anonymous ID", true, "user-1", []string{"anon-1", "user-1"}, 0},
		{"refused when it is not a valid customer_id", true, "user one", []string{"anon-1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e, ledger, ibm := newEraseFixture(t, map[string][]string{tc.user: {"anon-1"}}, nil,
					func(c *EraserConfig) { c.IncludeCustomUserID = tc.include })
				rep, err := e.Erase(context.Background(), tc.user)
				if (err != nil) != (tc.failed > 0) || len(rep.Failed) != tc.failed {
					t.Errorf("Erase: got %v with %d failures, want %d failures", err, len(rep.Failed), tc.failed)
				}
				if got := callIDs(ibm.calls); !slices.Equal(got, tc.calls) {
					t.Errorf("IBM calls: got %v, want %v", got, tc.calls)
				}
				if want := [][]string{{tc.user, "anon-1"}}; !slices.EqualFunc(ledger.forgotten, want, slices.Equal) {
					t.Errorf("Forget calls: got %v, want %v", ledger.forgotten, want)
				}
			})
		})
	}
}

func TestEraseOfUnknownUserDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ledger, ibm := newEraseFixture(t, nil, nil)
		rep, err := e.Erase(context.Background(), "nobody")
		if err != nil || len(rep.Deleted)+len(rep.Failed) != 0 || len(ibm.calls) != 0 || len(ledger.forgotten) != 0 {
			t.Errorf("Erase(unknown): got %+v, %v, %d IBM calls, %d Forget calls; want nothing done", rep, err, len(ibm.calls), len(ledger.forgotten))
		}
	})
}

func TestEraseStopsWhenContextIsCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ledger, ibm := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-2", "anon-3"}}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel) // while waiting 15 s for the second call
		rep, err := e.Erase(ctx, "user-1")
		if !errors.Is(err, ErrErasureIncomplete) {
			t.Errorf("Erase: got %v, want ErrErasureIncomplete", err)
		}
		if len(ibm.calls) != 1 || !slices.Equal(rep.Deleted, []string{"anon-1"}) || len(rep.Failed) != 2 || !errors.Is(rep.Failed[0].Err, context.Canceled) {
			t.Errorf("report: got %+v after %d calls; want anon-1 deleted, 2 failed with context.Canceled", rep, len(ibm.calls))
		}
		// The confirmed deletion is still forgotten.
		if want := [][]string{{"user-1", "anon-1"}}; !slices.EqualFunc(ledger.forgotten, want, slices.Equal) {
			t.Errorf("Forget calls: got %v, want %v", ledger.forgotten, want)
		}
	})
}

func TestEraseReportsLedgerErrors(t *testing.T) {
	errLedger := errors.New("ledger down")
	t.Run("lookup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e, ledger, ibm := newEraseFixture(t, nil, nil)
			ledger.lookupErr = errLedger
			if _, err := e.Erase(context.Background(), "user-1"); !errors.Is(err, errLedger) || len(ibm.calls) != 0 {
				t.Errorf("Erase: got %v after %d IBM calls, want the ledger's error and no call", err, len(ibm.calls))
			}
		})
	})
	t.Run("forget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e, ledger, _ := newEraseFixture(t, map[string][]string{"user-1": {"anon-1"}}, nil)
			ledger.forgetErr = errLedger
			rep, err := e.Erase(context.Background(), "user-1")
			if !errors.Is(err, errLedger) || !slices.Equal(rep.Deleted, []string{"anon-1"}) {
				t.Errorf("Erase: got %+v, %v; want anon-1 deleted and the ledger's error", rep, err)
			}
		})
	})
	t.Run("forget after partial failure", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e, ledger, _ := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-broken"}}, map[string]int{"anon-broken": -1},
				func(c *EraserConfig) { c.MaxAttempts = 1 })
			ledger.forgetErr = errLedger
			rep, err := e.Erase(context.Background(), "user-1")
			if !errors.Is(err, errLedger) || !errors.Is(err, ErrErasureIncomplete) || len(rep.Failed) != 1 {
				t.Errorf("Erase: got %+v, %v; want anon-broken failed, and an error wrapping both ErrErasureIncomplete and the ledger's", rep, err)
			}
		})
	})
	t.Run("empty custom user ID", func(t *testing.T) {
		e, _, ibm := newEraseFixture(t, map[string][]string{"": {"anon-1"}}, nil)
		if _, err := e.Erase(context.Background(), ""); err == nil || len(ibm.calls) != 0 {
			t.Errorf(`Erase(""): got %v after %d IBM calls, want an error and no call`, err, len(ibm.calls))
		}
	})
}

// NewEraser refuses a config it could not run, naming the field, so that
// nothing fails at the first Erase.
func TestNewEraserRefusesBadConfig(t *testing.T) {
	ok := EraserConfig{Ledger: &fakeLedger{}, Deleter: &fakeIBM{}}
	for _, tc := range []struct {
		name  string
		edit  func(*EraserConfig)
		field string
	}{
		{"missing Ledger", func(c *EraserConfig) { c.Ledger = nil }, "EraserConfig.Ledger"},
		{"missing Deleter", func(c *EraserConfig) { c.Deleter = nil }, "EraserConfig.Deleter"},
		{"negative Interval", func(c *EraserConfig) { c.Interval = -time.Second }, "EraserConfig.Interval"},
		{"negative MaxAttempts", func(c *EraserConfig) { c.MaxAttempts = -1 }, "EraserConfig.MaxAttempts"},
		{"negative Backoff", func(c *EraserConfig) { c.Backoff = -time.Second }, "EraserConfig.Backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if _, err := NewEraser(cfg); err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("NewEraser: got %v, want an error naming %s", err, tc.field)
			}
		})
	}
	if _, err := NewEraser(ok); err != nil {
		t.Errorf("NewEraser(valid config): %v", err)
	}
}

func TestEraseBackoffIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, ibm := newEraseFixture(t, map[string][]string{"user-1": {"anon-1"}}, map[string]int{"anon-1": -1},
			func(c *EraserConfig) { c.MaxAttempts = 80 }) // 30 s doubled 79 times would overflow
		_, err := e.Erase(context.Background(), "user-1")
		if !errors.Is(err, ErrErasureIncomplete) || len(ibm.calls) != 80 {
			t.Fatalf("Erase: got %v after %d calls, want ErrErasureIncomplete after 80", err, len(ibm.calls))
		}
		for i := 1; i < len(ibm.calls); i++ {
			if gap := ibm.calls[i].at.Sub(ibm.calls[i-1].at); gap < DefaultEraseBackoff || gap > 15*time.Minute {
				t.Fatalf("retry %d came %v after the previous attempt, want between %v and 15m", i, gap, DefaultEraseBackoff)
			}
		}
	})
}

// An IBM client's error often quotes the request URL, and so the
// customer_id (an anonymous ID is a cookie value): the log must not.
func TestEraseLogNeverHoldsTheIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		e, err := NewEraser(EraserConfig{
			Ledger: &fakeLedger{byUser: map[string][]string{"ada@example.com": {"anon-0b8f0a4e-8c1c-4f55-9d1e-3c1e0c7a9b2f"}}},
			Deleter: UserDataDeleterFunc(func(_ context.Context, id string) error {
				return &url.Error{Op: "Delete", URL: "https://api.example/v2/user_data?customer_id=" + url.QueryEscape(id) + "&version=2024-08-25", Err: errIBM}
			}),
			IncludeCustomUserID: true,
			MaxAttempts:         2,
			Logger:              slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Erase(context.Background(), "ada@example.com"); !errors.Is(err, ErrErasureIncomplete) {
			t.Fatalf("Erase: got %v, want ErrErasureIncomplete", err)
		}
		out := logs.String()
		if !strings.Contains(out, "IBM deletion failed") || !strings.Contains(out, errIBM.Error()) {
			t.Fatalf("got log %q, want the failures and their cause logged", out)
		}
		for _, id := range []string{"anon-0b8f0a4e-8c1c-4f55-9d1e-3c1e0c7a9b2f", "ada@example.com", url.QueryEscape("ada@example.com")} {
			if strings.Contains(out, id) {
				t.Errorf("the log contains the customer_id %q", id)
			}
		}
	})
}

// A queue worker runs one Erase after another on one Eraser: the pace must
// hold across calls too, or the first call of an erasure follows the last
// call of the previous one at once (5 calls in IBM's minute).
func TestErasePaceHoldsAcrossErasures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, ibm := newEraseFixture(t, map[string][]string{
			"user-1": {"anon-1", "anon-2"},
			"user-2": {"anon-3", "anon-4"},
		}, map[string]int{"anon-4": 1})
		for _, user := range []string{"user-1", "user-2"} {
			if _, err := e.Erase(context.Background(), user); err != nil {
				t.Fatalf("Erase(%s): %v", user, err)
			}
		}
		if got := len(ibm.calls); got != 5 {
			t.Fatalf("got %d IBM calls, want 5", got)
		}
		for i := 1; i < len(ibm.calls); i++ {
			if gap := ibm.calls[i].at.Sub(ibm.calls[i-1].at); gap < DefaultEraseInterval {
				t.Errorf("call %d (%s) came %v after the previous one, want at least %v", i, ibm.calls[i].id, gap, DefaultEraseInterval)
			}
		}
	})
}

// The pace also holds when two erasures run at once on one Eraser.
func TestErasePaceHoldsForConcurrentErasures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, ibm := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-2"}, "user-2": {"anon-3", "anon-4"}}, nil)
		var wg sync.WaitGroup
		for _, user := range []string{"user-1", "user-2"} {
			wg.Go(func() {
				if _, err := e.Erase(context.Background(), user); err != nil {
					t.Errorf("Erase(%s): %v", user, err)
				}
			})
		}
		wg.Wait()
		if len(ibm.calls) != 4 {
			t.Fatalf("got %d IBM calls, want 4", len(ibm.calls))
		}
		starts := make([]time.Time, len(ibm.calls))
		for i, c := range ibm.calls {
			starts[i] = c.at
		}
		slices.SortFunc(starts, time.Time.Compare)
		for i := 1; i < len(starts); i++ {
			if gap := starts[i].Sub(starts[i-1]); gap < DefaultEraseInterval {
				t.Errorf("call %d came %v after the previous one, want at least %v", i, gap, DefaultEraseInterval)
			}
		}
	})
}

// A Deleter call may outlast the interval; if ctx ended meanwhile, no
// further call is made with the dead context.
func TestEraseMakesNoCallAfterContextEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var ibm *fakeIBM
		e, _, ibm := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-2"}}, nil, func(c *EraserConfig) {
			c.Deleter = UserDataDeleterFunc(func(ctx context.Context, id string) error {
				time.Sleep(time.Minute) // a slow IBM
				cancel()
				return ibm.DeleteUserData(ctx, id)
			})
		})
		rep, err := e.Erase(ctx, "user-1")
		if !errors.Is(err, ErrErasureIncomplete) {
			t.Errorf("Erase: got %v, want ErrErasureIncomplete", err)
		}
		if got := callIDs(ibm.calls); !slices.Equal(got, []string{"anon-1"}) {
			t.Errorf("IBM calls: got %v, want [anon-1]", got)
		}
		if len(rep.Failed) != 1 || rep.Failed[0].Attempts != 0 || !errors.Is(rep.Failed[0].Err, context.Canceled) {
			t.Errorf("failed: got %+v, want anon-2 not attempted, with context.Canceled", rep.Failed)
		}
	})
}

// A Deleter that says "retry after d" (IBM's 429 with Retry-After) holds
// every call, not only the throttled ID's, for at least d, even when the
// backoff and the interval are shorter.
func TestEraseHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu        sync.Mutex
			calls     []ibmCall
			throttled = true
		)
		const wait = 90 * time.Second
		deleter := UserDataDeleterFunc(func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, ibmCall{id, time.Now()})
			if id == "anon-1" && throttled {
				throttled = false
				return RetryAfter(errIBM, wait)
			}
			return nil
		})
		e, ledger, _ := newEraseFixture(t, map[string][]string{"user-1": {"anon-1", "anon-2"}}, nil,
			func(c *EraserConfig) { c.Deleter, c.Interval, c.Backoff = deleter, time.Second, time.Second })
		rep, err := e.Erase(context.Background(), "user-1")
		if err != nil {
			t.Fatalf("Erase: %v", err)
		}
		if got, want := callIDs(calls), []string{"anon-1", "anon-2", "anon-1"}; !slices.Equal(got, want) {
			t.Fatalf("IBM calls: got %v, want %v", got, want)
		}
		if gap := calls[1].at.Sub(calls[0].at); gap < wait {
			t.Errorf("the next call (another ID) came %v after the 429, want at least %v", gap, wait)
		}
		if gap := calls[2].at.Sub(calls[0].at); gap < wait {
			t.Errorf("the retry came %v after the 429, want at least %v", gap, wait)
		}
		if want := []string{"anon-2", "anon-1"}; !slices.Equal(rep.Deleted, want) {
			t.Errorf("deleted: got %v, want %v", rep.Deleted, want)
		}
		if len(ledger.forgotten) != 1 || len(ledger.forgotten[0]) != 3 {
			t.Errorf("Forget calls: got %v, want both IDs forgotten", ledger.forgotten)
		}
	})
}

func TestRetryAfterKeepsTheError(t *testing.T) {
	err := RetryAfter(errIBM, time.Minute)
	if !errors.Is(err, errIBM) || err.Error() != errIBM.Error() {
		t.Errorf("RetryAfter(errIBM): got %v, want errIBM's text and errors.Is errIBM", err)
	}
	if got := retryAfter(fmtWrap(err)); got != time.Minute {
		t.Errorf("retryAfter of a wrapped RetryAfter: got %v, want 1m", got)
	}
	if RetryAfter(nil, time.Minute) != nil {
		t.Error("RetryAfter(nil): got an error, want nil")
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }

// OnResult hears of every customer_id once, when it is done: nil for a
// confirmed deletion, the final error otherwise; and before Forget.
func TestEraseOnResultReportsEachIDOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type result struct {
			id        string
			ok        bool
			forgotten int
		}
		var results []result
		var ledger *fakeLedger
		e, l, _ := newEraseFixture(t,
			map[string][]string{"user-1": {"anon-ok", "anon-flaky", "anon-bad", "bad id"}},
			map[string]int{"anon-flaky": 1, "anon-bad": -1},
			func(c *EraserConfig) {
				c.MaxAttempts = 3
				c.OnResult = func(id string, err error) {
					ledger.mu.Lock()
					n := len(ledger.forgotten)
					ledger.mu.Unlock()
					results = append(results, result{id, err == nil, n})
				}
			})
		ledger = l
		rep, err := e.Erase(context.Background(), "user-1")
		if !errors.Is(err, ErrErasureIncomplete) {
			t.Fatalf("Erase: got %v, want ErrErasureIncomplete", err)
		}
		want := []result{{"bad id", false, 0}, {"anon-ok", true, 0}, {"anon-flaky", true, 0}, {"anon-bad", false, 0}}
		if !slices.Equal(results, want) {
			t.Errorf("OnResult calls: got %v, want %v", results, want)
		}
		if len(rep.Deleted)+len(rep.Failed) != len(results) {
			t.Errorf("report has %d outcomes, OnResult heard %d", len(rep.Deleted)+len(rep.Failed), len(results))
		}
	})
}

// A nil Logger is slog.Default at each call, as everywhere in the module:
// an app that sets its default logger after NewEraser gets the lines there.
func TestEraserNilLoggerIsTheDefaultAtEachCall(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	// A default of the app's own (not the initial one, which forwards to
	// whatever is set later) when the value is made.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	synctest.Test(t, func(t *testing.T) {
		e, _, _ := newEraseFixture(t, map[string][]string{"ada": {"anon-1"}}, nil, func(c *EraserConfig) { c.Logger = nil })
		var logs logbuf.Buffer
		slog.SetDefault(logs.Logger())
		if _, err := e.Erase(context.Background(), "ada"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "ledger: erasure finished") {
			t.Errorf("the default logger set after NewEraser got %q, want the erasure's lines", logs.String())
		}
	})
}
