// Package admission bounds how many requests do an expensive step (signing
// a token) at once: a fixed number of slots, a first-come-first-served wait
// queue of bounded length, and a bounded wait in it. A request that would
// wait longer than the bound (judged from how fast slots have been coming
// free) or that finds the queue full is refused at once, and one that
// still waits too long is refused after the wait, so an overloaded server
// answers quickly instead of making every request slow.
package admission

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by [Controller.Acquire] when it refuses a request.
var (
	// ErrQueueFull means every slot was busy and the queue full: the
	// request was refused without waiting.
	ErrQueueFull = errors.New("admission: queue full")

	// ErrWaitExpected means every slot was busy and, at the rate slots
	// have been coming free (corrected by how far that estimate has been
	// off), the request would have waited longer than 3/4 of
	// Config.MaxWait (the rest is the margin for the estimate's error): it
	// was refused without waiting.
	ErrWaitExpected = errors.New("admission: expected wait too long")

	// ErrWaitExceeded means the request waited Config.MaxWait in the queue
	// without getting a slot.
	ErrWaitExceeded = errors.New("admission: wait exceeded")
)

// A caller may wait only if it is expected to get a slot within 3/4 of
// MaxWait: the rest of MaxWait is the margin for the estimate's error, so
// that few admitted callers reach MaxWait and are refused late.
const expectNum, expectDen = 3, 4

// The estimate is corrected by how it has been doing: calibration tracks
// the 99th percentile of (actual wait / expected wait) over admitted callers
// whose expected wait was at least half of the bound (short waits are noisy
// and cannot come near MaxWait), and a newcomer is let in only if its
// expected wait times that ratio is within the bound. When slots come free
// more slowly than measured while a caller waits (the CPU is taken by
// something else: a database commit, a garbage collection, the machine's
// other processes) the ratio grows at once and the queue admits fewer; it
// falls back slowly while the estimate holds. The percentile is tracked by
// stochastic approximation: each observation above it raises it by
// calibStep·calibP, each below lowers it by calibStep·(1−calibP), so it
// settles where 1 % of observations are above it.
const (
	calibP    = 0.99
	calibStep = 1.0 / 16
	calibMin  = 0.5 // the estimate is never trusted to overshoot by more
	calibMax  = 4.0 // nor to undershoot by more
)

// drainShift sets how fast the drain estimate follows new intervals: each
// moves it 1/2^drainShift of the way, so it averages over about the last
// 64 releases (tens of milliseconds of signing) and one long interval (a
// preempted thread, a GC pause) moves it little.
const drainShift = 6

// Config sizes a [Controller]. All fields are required.
type Config struct {
	// MaxConcurrent is the number of slots: how many callers may hold one
	// at once. It must be at least 1.
	MaxConcurrent int

	// MaxQueue is how many callers may wait for a slot. It must not be
	// negative; with 0 a caller is refused as soon as every slot is busy.
	MaxQueue int

	// MaxWait is how long a caller waits in the queue before it is
	// refused. It must be positive.
	MaxWait time.Duration

	// PollOnHandover hands each freed slot to the next waiter through the
	// runtime's network poller (a pipe and a goroutine reading it), so
	// that a server whose every P is busy with slot holders still reads
	// newly arrived requests at every handover instead of about every
	// 10 ms: see poller.go. Optional.
	PollOnHandover bool
}

// Controller hands out slots first come, first served. It is safe for
// concurrent use.
type Controller struct {
	cfg    Config
	expect time.Duration // 3/4 of MaxWait: the longest expected wait let in

	mu      sync.Mutex
	running int        // slots held
	waiting *list.List // of *waiter, oldest first
	// drain estimates the time between two slots coming free while every
	// slot is busy (the slot hold time / MaxConcurrent): a newcomer with k
	// callers ahead of it waits about (k+1)·drain. Zero until measured.
	drain time.Duration
	// handedAt is when Release last handed a slot straight to a waiter, so
	// that every slot stayed busy from then until the next Release; zero
	// if the last Release left a slot free.
	handedAt time.Time
	// calib is the tracked 99th percentile of actual/expected wait (see
	// calibP); 1 until observed.
	calib float64
	// handoff holds waiters handed a slot that the dispatcher has yet to
	// ready; kick is the pipe's write end while a dispatcher runs;
	// noPoller is set once a pipe turned out not to be pollable
	// (Config.PollOnHandover, poller.go).
	handoff  []*waiter
	kick     *os.File
	noPoller bool

	admitted, queued, full, expected, timedOut, abandoned atomic.Uint64
}

type waiter struct {
	ready  chan struct{} // closed when the slot is handed over, after handed is set
	handed bool          // the slot is its: set under Controller.mu
	since  time.Time     // when it joined the queue
	// raw is its uncorrected expected wait when it joined, (ahead+1)·drain,
	// if the corrected one was at least half the bound; zero otherwise
	// (then it does not calibrate).
	raw time.Duration
}

// New returns a Controller for cfg, or an error naming the invalid field.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.MaxConcurrent < 1:
		return nil, fmt.Errorf("admission: MaxConcurrent %d, need at least 1", cfg.MaxConcurrent)
	case cfg.MaxQueue < 0:
		return nil, fmt.Errorf("admission: MaxQueue %d is negative", cfg.MaxQueue)
	case cfg.MaxWait <= 0:
		return nil, fmt.Errorf("admission: MaxWait %v, need a positive duration", cfg.MaxWait)
	}
	return &Controller{cfg: cfg, expect: cfg.MaxWait / expectDen * expectNum, waiting: list.New(), calib: 1}, nil
}

// Acquire takes a slot, waiting in the queue if every slot is busy. It
// returns nil when the caller holds a slot, which it must give back with
// [Controller.Release]; at once [ErrQueueFull] when the queue is full, or
// [ErrWaitExpected] when the wait would be longer than 3/4 of
// Config.MaxWait at the rate slots have been coming free (corrected by
// calibration); [ErrWaitExceeded] after
// Config.MaxWait in the queue; or ctx's error when ctx is done first (the
// caller then leaves the queue). A waiting caller is never overtaken by a
// later one.
func (c *Controller) Acquire(ctx context.Context) error {
	c.mu.Lock()
	if c.running < c.cfg.MaxConcurrent && c.waiting.Len() == 0 {
		c.running++
		c.mu.Unlock()
		c.admitted.Add(1)
		return nil
	}
	if err := c.refusal(); err != nil {
		c.mu.Unlock()
		return err
	}
	w := &waiter{ready: make(chan struct{}), since: time.Now()}
	if raw := c.rawWait(); time.Duration(float64(raw)*c.calib) >= c.expect/2 {
		w.raw = raw
	}
	e := c.waiting.PushBack(w)
	c.mu.Unlock()
	c.queued.Add(1)

	t := time.NewTimer(c.cfg.MaxWait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		c.admitted.Add(1)
		return nil
	case <-t.C:
		err = ErrWaitExceeded
	case <-ctx.Done():
		err = ctx.Err()
	}

	c.mu.Lock()
	if w.handed {
		// Release handed the slot over just now (perhaps still on its way
		// through the dispatcher): out of the queue already.
		c.mu.Unlock()
		if err == ErrWaitExceeded {
			c.admitted.Add(1) // it came within the wait, as good as in time
			return nil
		}
		c.release(false) // nobody is left to use it; no measure of signing
		c.abandoned.Add(1)
		return err
	}
	c.waiting.Remove(e)
	if err == ErrWaitExceeded {
		c.calibrate(true) // late: the estimate fell short, whatever it was
	}
	c.mu.Unlock()
	if err == ErrWaitExceeded {
		c.timedOut.Add(1)
	} else {
		c.abandoned.Add(1)
	}
	return err
}

// refusal reports, and counts, why a caller that finds every slot busy is
// refused at once, or nil if it may wait. The caller holds c.mu.
func (c *Controller) refusal() error {
	ahead := c.waiting.Len()
	if ahead >= c.cfg.MaxQueue {
		c.full.Add(1)
		return ErrQueueFull
	}
	if c.expectedWait() > c.expect {
		c.expected.Add(1)
		return ErrWaitExpected
	}
	return nil
}

// rawWait is how long a caller joining the queue now would wait at the
// measured drain, (ahead+1)·drain: zero until the drain has been measured.
// expectedWait is that corrected by calibration. The caller holds c.mu.
func (c *Controller) rawWait() time.Duration {
	return time.Duration(c.waiting.Len()+1) * c.drain
}

func (c *Controller) expectedWait() time.Duration {
	return time.Duration(float64(c.rawWait()) * c.calib)
}

// calibrate moves the tracked percentile after one observation: above
// reports whether the caller waited longer than its expected wait times
// the current ratio (or was refused late). The caller holds c.mu.
func (c *Controller) calibrate(above bool) {
	if above {
		c.calib = min(c.calib*(1+calibStep*calibP), calibMax)
	} else {
		c.calib = max(c.calib*(1-calibStep*(1-calibP)), calibMin)
	}
}

// Check refuses at once, as Acquire would, a caller that arrives now: it
// returns and counts [ErrQueueFull] or [ErrWaitExpected], or returns nil,
// without taking a slot. A caller with work to do before Acquire (a
// database write) skips it for a request that would be refused anyway. A
// nil answer is no promise: Acquire may still refuse or time out.
func (c *Controller) Check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running < c.cfg.MaxConcurrent && c.waiting.Len() == 0 {
		return nil
	}
	return c.refusal()
}

// Release gives back a slot taken by a successful [Controller.Acquire],
// handing it to the oldest waiting caller if there is one.
func (c *Controller) Release() { c.release(true) }

// release is Release; measure says whether the slot was used, so that its
// interval tells how fast slots come free.
func (c *Controller) release(measure bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == 0 {
		panic("admission: Release without Acquire")
	}
	now := time.Now()
	if measure && !c.handedAt.IsZero() {
		// Every slot was busy since the last handover: this interval is
		// how fast a saturated Controller frees slots.
		if d := now.Sub(c.handedAt); c.drain == 0 {
			c.drain = d
		} else {
			c.drain += (d - c.drain) >> drainShift
		}
	}
	if e := c.waiting.Front(); e != nil {
		w := c.waiting.Remove(e).(*waiter)
		c.handOver(w) // the slot changes hands; running stays
		if w.raw > 0 {
			c.calibrate(float64(now.Sub(w.since)) > float64(w.raw)*c.calib)
		}
		c.handedAt = now
		return
	}
	c.handedAt = time.Time{}
	c.running--
}

// Stats are a Controller's counters since New, and its state now.
type Stats struct {
	Admitted  uint64 // Acquire calls that got a slot, at once or after waiting
	Queued    uint64 // Acquire calls that had to wait (whatever came of it)
	QueueFull uint64 // refused at once: ErrQueueFull
	Expected  uint64 // refused at once: ErrWaitExpected
	TimedOut  uint64 // refused after MaxWait: ErrWaitExceeded
	Abandoned uint64 // left the queue because their context was done
	Running   int    // slots held now
	Waiting   int    // callers in the queue now
	// Drain is the estimated time between two slots coming free when all
	// are busy (zero until measured): the queue drains at 1/Drain callers
	// a second.
	Drain time.Duration
	// Calibration is the tracked 99th percentile of actual wait over
	// expected wait (1 until observed): expected waits are multiplied by
	// it before they are compared with 3/4 of MaxWait.
	Calibration float64
}

// Stats returns the counters and the current state.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	running, waiting, drain, calib := c.running, c.waiting.Len(), c.drain, c.calib
	c.mu.Unlock()
	return Stats{
		Admitted: c.admitted.Load(), Queued: c.queued.Load(), QueueFull: c.full.Load(),
		Expected: c.expected.Load(), TimedOut: c.timedOut.Load(), Abandoned: c.abandoned.Load(),
		Running: running, Waiting: waiting, Drain: drain, Calibration: calib,
	}
}

// BurstLog rate-limits the log line about refused requests: one line when
// refusing starts, then at most one a second, each carrying how many were
// refused since the previous line. The zero value is ready to use. It is
// safe for concurrent use.
type BurstLog struct {
	mu       sync.Mutex
	last     time.Time // of the last line; zero: none yet
	unlogged uint64    // refusals since the last line
}

// Refused counts one refusal at now and reports whether to log a line, and
// how many refusals it stands for (this one included).
func (b *BurstLog) Refused(now time.Time) (count uint64, log bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unlogged++
	if d := now.Sub(b.last); !b.last.IsZero() && d < time.Second && d >= 0 {
		return 0, false
	}
	b.last = now
	count, b.unlogged = b.unlogged, 0
	return count, true
}
