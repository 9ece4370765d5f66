package admission

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatid/webchatid/internal/leakcheck"
)

// These tests run in real time: a goroutine reading a pipe is never
// durably blocked, so the hand-over through the poller cannot run in a
// synctest bubble. They wait for conditions, never for fixed times.

func pollingController(t *testing.T, slots, queue int, wait time.Duration) *Controller {
	t.Helper()
	c, err := New(Config{MaxConcurrent: slots, MaxQueue: queue, MaxWait: wait, PollOnHandover: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually waits, up to a minute, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: not %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *Controller) dispatcherRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kick != nil
}

// TestHandoverGoesThroughTheDispatcher: with PollOnHandover a freed slot
// reaches the oldest waiter through the pipe's reader, not from Release
// itself; the reader exits once idle and the next hand-over starts another.
func TestHandoverGoesThroughTheDispatcher(t *testing.T) {
	leakcheck.Check(t)
	c := pollingController(t, 1, 10, time.Hour)
	for round := range 2 {
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		first, second := make(chan error, 1), make(chan error, 1)
		go func() { first <- c.Acquire(t.Context()) }()
		eventually(t, "one waiting", func() bool { return c.Stats().Waiting == 1 })
		go func() { second <- c.Acquire(t.Context()) }()
		eventually(t, "two waiting", func() bool { return c.Stats().Waiting == 2 })
		if c.dispatcherRunning() {
			t.Fatalf("round %d: a dispatcher runs before any hand-over", round)
		}
		c.Release()
		if err := <-first; err != nil {
			t.Fatalf("round %d: the oldest waiter: %v", round, err)
		}
		if !c.dispatcherRunning() {
			t.Fatalf("round %d: the slot was handed over without the dispatcher", round)
		}
		if st := c.Stats(); st.Waiting != 1 || st.Running != 1 {
			t.Fatalf("round %d: after one hand-over: %+v, want the later caller still waiting", round, st)
		}
		c.Release()
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		c.Release()
		eventually(t, "the dispatcher gone once idle", func() bool { return !c.dispatcherRunning() })
	}
}

// TestPollOnHandoverLosesNoSlot: many callers, some timing out and some
// giving up while slots change hands through the dispatcher: never more
// holders than slots, every call accounted for once, and every slot free
// at the end. A caller that leaves just as its slot is on its way must
// not take the slot with it.
func TestPollOnHandoverLosesNoSlot(t *testing.T) {
	leakcheck.Check(t)
	const slots, callers, calls = 2, 64, 40
	c := pollingController(t, slots, 1000, 2*time.Millisecond)
	var holding, most atomic.Int64
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for range calls {
				ctx, cancel := context.WithCancel(t.Context())
				if r.IntN(4) == 0 {
					go func() { runtime.Gosched(); cancel() }()
				}
				err := c.Acquire(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, ErrWaitExceeded) && !errors.Is(err, ErrWaitExpected) && !errors.Is(err, context.Canceled) {
						t.Errorf("Acquire: %v", err)
					}
					continue
				}
				n := holding.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				for range r.IntN(3) {
					runtime.Gosched()
				}
				holding.Add(-1)
				c.Release()
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if most.Load() > slots {
		t.Errorf("%d callers held a slot at once, with %d slots", most.Load(), slots)
	}
	if got := st.Admitted + st.TimedOut + st.Abandoned + st.QueueFull + st.Expected; got != callers*calls {
		t.Errorf("Stats %+v account for %d calls, want %d", st, got, callers*calls)
	}
	if st.Running != 0 || st.Waiting != 0 {
		t.Fatalf("at the end: %+v, want every slot free and nobody waiting", st)
	}
	for range slots {
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatalf("a slot is lost: %v (%+v)", err, c.Stats())
		}
	}
	for range slots {
		c.Release()
	}
	eventually(t, "the dispatcher gone once idle", func() bool { return !c.dispatcherRunning() })
}

// BenchmarkHandover measures a slot changing hands between goroutines that
// all want it (b.RunParallel on one slot, every Release handing over), with
// the direct hand-over and through the poller: the difference is what
// PollOnHandover costs per signature.
func BenchmarkHandover(b *testing.B) {
	for _, poll := range []bool{false, true} {
		name := "direct"
		if poll {
			name = "poller"
		}
		b.Run(name, func(b *testing.B) {
			c, err := New(Config{MaxConcurrent: 1, MaxQueue: 1 << 20, MaxWait: time.Hour, PollOnHandover: poll})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Acquire(context.Background()); err != nil {
						b.Error(err)
						return
					}
					c.Release()
				}
			})
		})
	}
}
