package admission_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webchatid/webchatid/identity/internal/admission"
)

func newController(t *testing.T, slots, queue int, wait time.Duration) *admission.Controller {
	t.Helper()
	c, err := admission.New(admission.Config{MaxConcurrent: slots, MaxQueue: queue, MaxWait: wait})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []admission.Config{
		{MaxConcurrent: 0, MaxQueue: 1, MaxWait: time.Second},
		{MaxConcurrent: 1, MaxQueue: -1, MaxWait: time.Second},
		{MaxConcurrent: 1, MaxQueue: 1, MaxWait: 0},
	} {
		if _, err := admission.New(cfg); err == nil {
			t.Errorf("New(%+v): got no error", cfg)
		}
	}
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, 1, 10, time.Hour)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				if err := c.Acquire(t.Context()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				c.Release()
			})
			synctest.Wait() // waiter i is queued before i+1 starts
		}
		if got := c.Stats().Waiting; got != 5 {
			t.Fatalf("got %d waiting, want 5", got)
		}
		c.Release()
		wg.Wait()
		for i, v := range order {
			if v != i {
				t.Fatalf("served in order %v, want 0 1 2 3 4", order)
			}
		}
		st := c.Stats()
		if st.Admitted != 6 || st.Queued != 5 || st.Running != 0 || st.Waiting != 0 {
			t.Errorf("Stats: got %+v, want 6 admitted, 5 queued, none running or waiting", st)
		}
	})
}

func TestLaterCallerDoesNotOvertakeWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, 1, 10, time.Hour)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 2)
		go func() {
			if c.Acquire(t.Context()) == nil {
				got <- "first"
			}
		}()
		synctest.Wait()
		c.Release() // handed to the waiter, not left for a newcomer
		go func() {
			if c.Acquire(t.Context()) == nil {
				got <- "second"
			}
		}()
		synctest.Wait()
		if v := <-got; v != "first" {
			t.Fatalf("got %q first, want the waiter", v)
		}
		if st := c.Stats(); st.Running != 1 || st.Waiting != 1 {
			t.Fatalf("Stats: got %+v, want 1 running, 1 waiting", st)
		}
		c.Release()
		<-got
		c.Release()
	})
}

func TestQueueFullIsRefusedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, 1, 2, time.Hour)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			go func() {
				if err := c.Acquire(t.Context()); err == nil {
					c.Release()
				}
			}()
		}
		synctest.Wait()
		start := time.Now()
		if err := c.Acquire(t.Context()); !errors.Is(err, admission.ErrQueueFull) {
			t.Fatalf("got %v, want ErrQueueFull", err)
		}
		if d := time.Since(start); d != 0 { // fake time: any wait would show
			t.Errorf("refused after %v, want at once", d)
		}
		st := c.Stats()
		if st.QueueFull != 1 || st.Waiting != 2 {
			t.Errorf("Stats: got %+v, want 1 refused, 2 waiting", st)
		}
		c.Release()
	})
}

func TestNoQueueRefusesWhenSlotsBusy(t *testing.T) {
	c := newController(t, 2, 0, time.Hour)
	for range 2 {
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Acquire(t.Context()); !errors.Is(err, admission.ErrQueueFull) {
		t.Fatalf("got %v, want ErrQueueFull", err)
	}
	c.Release()
	if err := c.Acquire(t.Context()); err != nil {
		t.Fatalf("after a release: got %v, want a slot", err)
	}
}

func TestWaitExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 100 * time.Millisecond
		c := newController(t, 1, 10, wait)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := c.Acquire(t.Context()); !errors.Is(err, admission.ErrWaitExceeded) {
			t.Fatalf("got %v, want ErrWaitExceeded", err)
		}
		if d := time.Since(start); d != wait {
			t.Errorf("refused after %v, want exactly MaxWait (%v)", d, wait)
		}
		st := c.Stats()
		if st.TimedOut != 1 || st.Waiting != 0 || st.Running != 1 {
			t.Errorf("Stats: got %+v, want 1 timed out, none waiting, 1 running", st)
		}
		c.Release()
		if st := c.Stats(); st.Running != 0 {
			t.Errorf("the timed-out caller kept a slot: %+v", st)
		}
	})
}

// TestExpectedWaitIsRefusedAtOnce: once the Controller has seen how fast
// slots come free when all are busy, a caller that would wait longer than
// 3/4 of MaxWait is refused at once instead of after MaxWait; one that
// would wait less may still queue.
func TestExpectedWaitIsRefusedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hold = 10 * time.Millisecond
		c := newController(t, 1, 1000, 100*time.Millisecond)
		work := func(d time.Duration) {
			if err := c.Acquire(t.Context()); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(d)
			c.Release()
		}
		// Saturate: a holder and three callers that each hold the slot 10 ms.
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { work(hold) })
			synctest.Wait()
		}
		if c.Stats().Expected != 0 {
			t.Fatal("refused by an estimate before any was measured")
		}
		time.Sleep(hold)
		c.Release()
		wg.Wait()
		if got := c.Stats().Drain; got != hold {
			t.Fatalf("Drain: got %v, want %v (three 10 ms handovers)", got, hold)
		}

		// 6 waiting: a newcomer expects 7 × 10 ms, within 75 ms.
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		for range 6 {
			wg.Go(func() { work(0) })
			synctest.Wait()
		}
		if err := c.Check(); err != nil {
			t.Fatalf("Check with an expected wait of 70 ms: %v", err)
		}
		wg.Go(func() { work(0) })
		synctest.Wait()
		if err := c.Check(); !errors.Is(err, admission.ErrWaitExpected) {
			t.Fatalf("Check with an expected wait of 80 ms > 3/4 of MaxWait: got %v, want ErrWaitExpected", err)
		}
		start := time.Now()
		if err := c.Acquire(t.Context()); !errors.Is(err, admission.ErrWaitExpected) {
			t.Fatalf("8th in line: got %v, want ErrWaitExpected", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("refused after %v, want at once", d)
		}
		if st := c.Stats(); st.Expected != 2 || st.QueueFull != 0 || st.Waiting != 7 {
			t.Errorf("Stats: got %+v, want 2 refused by expectation (Check, Acquire), 7 waiting", st)
		}
		c.Release()
		wg.Wait()
	})
}

// TestCalibrationFollowsASlowerDrain: when callers wait longer than their
// expected wait (slots come free more slowly than measured), the
// calibration grows, and a caller whose uncorrected estimate is within the
// bound but whose corrected one is not is refused at once; without the
// correction it would queue and, at the slower pace, risk being refused
// late. When waits match the estimate again the calibration falls back.
func TestCalibrationFollowsASlowerDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound = 75 * time.Millisecond // 3/4 of MaxWait
		c := newController(t, 1, 1000, 100*time.Millisecond)
		work := func(d time.Duration) {
			if err := c.Acquire(t.Context()); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(d)
			c.Release()
		}
		saturate := func(n int, hold, holderHold time.Duration) {
			if err := c.Acquire(t.Context()); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { work(hold) })
				synctest.Wait()
			}
			time.Sleep(holderHold)
			c.Release()
			wg.Wait()
		}
		// Measure a drain of 10 ms.
		saturate(3, 10*time.Millisecond, 10*time.Millisecond)
		if st := c.Stats(); st.Drain != 10*time.Millisecond || st.Calibration != 1 {
			t.Fatalf("after measuring: %+v, want Drain 10ms, Calibration 1", st)
		}

		// Six callers queue expecting 10…60 ms; the slot is held 15 ms
		// each time, so the three expecting at least half the bound (40,
		// 50 and 60 ms) wait 60, 75 and 90 ms: longer than expected.
		saturate(6, 15*time.Millisecond, 15*time.Millisecond)
		st := c.Stats()
		if st.Calibration <= 1 || st.TimedOut != 0 {
			t.Fatalf("after waits longer than expected: %+v, want Calibration > 1, none late", st)
		}

		// A newcomer may join n waiting callers by the uncorrected
		// estimate, m by the corrected one.
		within := func(waiting int, calib float64) bool {
			return time.Duration(float64(time.Duration(waiting+1)*st.Drain)*calib) <= bound
		}
		n, m := 0, 0
		for within(n+1, 1) {
			n++
		}
		for within(m+1, st.Calibration) {
			m++
		}
		if m >= n {
			t.Fatalf("test setup: Drain %v, Calibration %v: the correction lets in %d waiting, the raw estimate %d; want fewer", st.Drain, st.Calibration, m, n)
		}
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		join := func(k int) {
			for range k {
				wg.Go(func() { work(0) })
				synctest.Wait()
			}
		}
		join(m)
		if err := c.Check(); err != nil {
			t.Fatalf("Check with %d waiting (corrected estimate within %v): %v", m, bound, err)
		}
		join(1)
		if err := c.Check(); !errors.Is(err, admission.ErrWaitExpected) {
			t.Fatalf("Check with %d waiting: got %v, want ErrWaitExpected (raw estimate %v within %v, corrected not)",
				m+1, err, time.Duration(m+2)*st.Drain, bound)
		}
		c.Release()
		wg.Wait()

		// Waits as expected again: the calibration falls back.
		high := c.Stats().Calibration
		for range 20 {
			saturate(5, 10*time.Millisecond, 10*time.Millisecond)
		}
		if low := c.Stats().Calibration; low >= high {
			t.Errorf("after waits within their estimates: Calibration %v, want below %v", low, high)
		}
	})
}

// TestLateRefusalRaisesCalibration: a caller refused after MaxWait was
// expected in time, so the estimate fell short: the calibration grows,
// within its cap however often it happens.
func TestLateRefusalRaisesCalibration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, 1, 1000, 100*time.Millisecond)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if err := c.Acquire(t.Context()); !errors.Is(err, admission.ErrWaitExceeded) {
					t.Errorf("got %v, want ErrWaitExceeded", err)
				}
			})
		}
		wg.Wait()
		st := c.Stats()
		if st.TimedOut != 100 || st.Calibration != 4 {
			t.Errorf("after 100 late refusals: %+v, want 100 timed out and Calibration at its cap, 4", st)
		}
		c.Release()
	})
}

func TestCancelledCallerLeavesTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newController(t, 1, 10, time.Hour)
		if err := c.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- c.Acquire(ctx) }()
		synctest.Wait()
		served := make(chan struct{})
		go func() {
			if c.Acquire(t.Context()) == nil {
				close(served)
			}
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if st := c.Stats(); st.Waiting != 1 || st.Abandoned != 1 {
			t.Fatalf("Stats: got %+v, want 1 waiting, 1 abandoned", st)
		}
		c.Release() // must reach the second waiter, not the one that left
		<-served
		c.Release()
		if st := c.Stats(); st.Running != 0 || st.Waiting != 0 || st.Admitted != 2 {
			t.Errorf("Stats: got %+v, want 2 admitted, nothing held", st)
		}
	})
}

func TestReleaseWithoutAcquirePanics(t *testing.T) {
	c := newController(t, 1, 1, time.Second)
	defer func() {
		if recover() == nil {
			t.Error("Release without Acquire: no panic")
		}
	}()
	c.Release()
}

func TestBurstLog(t *testing.T) {
	var b admission.BurstLog
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	if n, ok := b.Refused(t0); !ok || n != 1 {
		t.Fatalf("first refusal: got (%d, %v), want a line for 1", n, ok)
	}
	for i := range 99 {
		if _, ok := b.Refused(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatalf("refusal %d within the second: logged again", i+2)
		}
	}
	if n, ok := b.Refused(t0.Add(time.Second)); !ok || n != 100 {
		t.Fatalf("a second later: got (%d, %v), want a line for 100", n, ok)
	}
}

func Example() {
	c, err := admission.New(admission.Config{MaxConcurrent: 1, MaxQueue: 0, MaxWait: 100 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Acquire(context.Background()))
	fmt.Println(c.Acquire(context.Background())) // the one slot is busy, no queue
	c.Release()
	fmt.Println(c.Acquire(context.Background()))
	c.Release()
	// Output:
	// <nil>
	// admission: queue full
	// <nil>
}
