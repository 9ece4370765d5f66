package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// fakeT records what Check reports.
type fakeT struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Errorf(format string, args ...any) { f.errs = append(f.errs, format) }

func (f *fakeT) finish() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestCheckReportsALeftGoroutine(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	defer func(w time.Duration) { wait = w }(wait)
	wait = 50 * time.Millisecond // the leaked goroutine never ends: do not wait 10 s for it
	ft := &fakeT{TB: t}
	Check(ft)
	go func() { <-stop }() // still running when the "test" ends
	ft.finish()
	if len(ft.errs) != 1 || !strings.Contains(ft.errs[0], "still running") {
		t.Errorf("got %q, want one leak report", ft.errs)
	}
}

func TestCheckAcceptsGoroutinesThatEnd(t *testing.T) {
	ft := &fakeT{TB: t}
	Check(ft)
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	ft.finish()
	if len(ft.errs) != 0 {
		t.Errorf("got %q, want no report", ft.errs)
	}
}
