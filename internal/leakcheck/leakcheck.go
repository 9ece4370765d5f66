// Package leakcheck fails a test that leaves goroutines behind. It does what
// go.uber.org/goleak does for this module's tests with the standard library
// alone, so that the packages a consumer imports bring no test-only module
// into the consumer's go.sum.
package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// wait bounds how long Check lets goroutines that are on their way out
// finish: long enough for a loaded CI machine, short enough to report.
var wait = 10 * time.Second

// Check records the goroutines running now and, when t and its cleanups
// have finished (it registers itself first, so it runs last), fails t if a
// goroutine started since is still running after a bounded wait, printing
// its stack. Call it at the top of a test; it must not be used by parallel
// tests, whose goroutines it cannot tell apart.
func Check(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
			leaked := leakedSince(before)
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: %d goroutine(s) still running after the test:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(pause)
		}
	})
}

// leakedSince returns the stacks of goroutines not in before, other than
// the testing framework's and the runtime's own.
func leakedSince(before map[string]bool) []string {
	var leaked []string
	for id, stack := range goroutinesWithStacks() {
		if before[id] || ignored(stack) {
			continue
		}
		leaked = append(leaked, stack)
	}
	return leaked
}

func ignored(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run(", "testing.tRunner(", "testing.runTests(", "testing.(*M).",
		"runtime.goexit", // a goroutine with nothing else on its stack
		"os/signal.loop(", "runtime.ensureSigM(", "signal.signal_recv(",
	} {
		if strings.Contains(stack, s) && !strings.Contains(stack, "webchatid") {
			return true
		}
	}
	return false
}

func goroutines() map[string]bool {
	m := map[string]bool{}
	for id := range goroutinesWithStacks() {
		m[id] = true
	}
	return m
}

// goroutinesWithStacks returns every goroutine's stack, by goroutine ID,
// except the calling goroutine's.
func goroutinesWithStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := map[string]string{}
	for i, g := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller's own goroutine comes first
		}
		header, _, _ := bytes.Cut(g, []byte(" ["))
		m[string(header)] = string(g)
	}
	return m
}
