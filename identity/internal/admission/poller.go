package admission

import (
	"os"
	"time"
)

// Handing a slot over through the network poller.
//
// When every slot is busy signing, each of the Go scheduler's Ps goes
// straight from one signer to the next: Release readies the next waiter,
// which then runs before anything else on that P, and the scheduler asks
// the network poller for newly readable connections only when a P finds
// no goroutine to run, or from sysmon about every 10 ms. So while the
// queue is full a request that has just arrived waits up to 10 ms (and
// often more) before its goroutine even reads it, however fast its answer
// would be: a refusal that takes the server 30 µs reaches the client in
// 10 ms or more.
//
// With Config.PollOnHandover, Release does not ready the next waiter
// itself. It writes a byte to a pipe, and a dispatcher goroutine blocked
// reading the pipe (through the runtime's poller, like any connection)
// readies it. The P that runs out of work after the releasing goroutine
// parks therefore polls the network to find the dispatcher, and finds
// with it every connection that became readable meanwhile: each handover,
// about once a millisecond under load, is also a network poll. The cost
// is two small system calls per handover.
//
// The dispatcher exits, closing the pipe, after pollerIdle without a
// handover, and the next handover starts another. Where the pipe cannot
// be made or polled (a pipe on Windows has no deadlines), the Controller
// falls back to readying waiters itself.

// pollerIdle is how long the dispatcher waits for a handover before it
// exits.
const pollerIdle = time.Second

// handOver gives the slot to w, whom the caller has removed from the
// queue: through the dispatcher if there is or can be one, or directly.
// The caller holds c.mu.
func (c *Controller) handOver(w *waiter) {
	w.handed = true
	if !c.cfg.PollOnHandover || c.noPoller {
		close(w.ready)
		return
	}
	c.handoff = append(c.handoff, w)
	if len(c.handoff) > 1 {
		return // the dispatcher has been woken for the first already
	}
	if c.kick == nil && !c.startDispatcher() {
		c.readyHandoffs()
		return
	}
	if _, err := c.kick.Write([]byte{0}); err != nil {
		c.readyHandoffs()
	}
}

// readyHandoffs readies every waiter handed a slot but not yet woken. The
// caller holds c.mu.
func (c *Controller) readyHandoffs() {
	for _, w := range c.handoff {
		close(w.ready)
	}
	clear(c.handoff)
	c.handoff = c.handoff[:0]
}

// startDispatcher makes the pipe and starts its reader, or reports false
// (and stops trying) if the pipe cannot be made or polled. The caller
// holds c.mu.
func (c *Controller) startDispatcher() bool {
	r, w, err := os.Pipe()
	if err != nil {
		return false // out of descriptors, say: try again next time
	}
	if err := r.SetReadDeadline(time.Now().Add(pollerIdle)); err != nil {
		r.Close()
		w.Close()
		c.noPoller = true // not pollable here: never again
		return false
	}
	c.kick = w
	go c.dispatch(r, w)
	return true
}

// dispatch readies handed-over waiters each time the pipe is readable,
// and exits after pollerIdle without any.
func (c *Controller) dispatch(r, w *os.File) {
	defer r.Close()
	var buf [64]byte
	for {
		_, err := r.Read(buf[:])
		c.mu.Lock()
		if len(c.handoff) == 0 && err != nil {
			// Idle (the deadline passed) or broken: no handover is
			// waiting for this pipe, and none can write to it once kick
			// is cleared under c.mu.
			c.kick = nil
			c.mu.Unlock()
			w.Close()
			return
		}
		c.readyHandoffs()
		c.mu.Unlock()
		if err := r.SetReadDeadline(time.Now().Add(pollerIdle)); err != nil {
			c.mu.Lock()
			c.kick = nil
			c.readyHandoffs()
			c.mu.Unlock()
			w.Close()
			return
		}
	}
}
