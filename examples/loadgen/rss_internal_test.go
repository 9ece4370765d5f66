//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// touched maps n bytes of anonymous memory outside the Go heap (so neither
// the garbage collector nor the race detector keeps it resident) and writes
// to every page, so that all n bytes count in the process's RSS until
// munmap.
func touched(t *testing.T, n int) []byte {
	t.Helper()
	m, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 4096 {
		m[i] = 1
	}
	return m
}

// The server's process is this test's own: 96 MB touched and released
// before the run must not count in its peak, 96 MB touched and released
// during it must, also when released with madvise(MADV_DONTNEED), the way
// the Go runtime returns memory.
func TestServerPeakRSSIsThisRunsAlone(t *testing.T) {
	const big = 96 << 20
	const bigKB = big / 1024
	pid := strconv.Itoa(os.Getpid())

	if err := syscall.Munmap(touched(t, big)); err != nil {
		t.Fatal(err)
	}
	_, before, err := procRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	res, out := runAgainst(t, &tokenServer{}, "-mode", "returning", "-c", "2", "-n", "50", "-server-pid", pid)
	r := res.ServerRSS
	if r == nil || r.PID != os.Getpid() || r.Start <= 0 {
		t.Fatalf("server_rss_kb %+v: want this process's RSS", r)
	}
	if r.Peak > before-bigKB/2 {
		t.Errorf("peak %d kB: still counts the 96 MB released before the run (VmHWM before it: %d kB); the reset did not happen", r.Peak, before)
	}
	if r.Peak < r.Start-1024 { // the kernel's RSS counters are approximate by some hundred kB
		t.Errorf("peak %d kB below the start %d kB", r.Peak, r.Start)
	}
	if !strings.Contains(out, "peak RSS") {
		t.Errorf("output lacks the peak RSS:\n%s", out)
	}

	var once sync.Once
	s := &tokenServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		once.Do(func() {
			m := touched(t, big)
			if err := syscall.Madvise(m, syscall.MADV_DONTNEED); err != nil {
				t.Error(err)
			}
			t.Cleanup(func() { syscall.Munmap(m) })
		})
		s.ServeHTTP(w, req)
	})
	res, _ = runAgainst(t, h, "-mode", "returning", "-c", "2", "-n", "50", "-server-pid", pid)
	r = res.ServerRSS
	if r == nil {
		t.Fatal("no server_rss_kb")
	}
	if r.Peak < r.Start+bigKB*3/4 {
		t.Errorf("peak %d kB, start %d kB: the 96 MB touched during the run are not in the peak", r.Peak, r.Start)
	}
	if r.End > r.Peak-bigKB/2 {
		t.Errorf("end %d kB, peak %d kB: the end RSS still counts the 96 MB released during the run", r.End, r.Peak)
	}
}

func TestServerPIDOfNoProcess(t *testing.T) {
	err := run(context.Background(), []string{"-n", "1", "-server-pid", strconv.Itoa(1 << 30), "http://127.0.0.1:1/"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-server-pid") {
		t.Errorf("a process that does not exist: got %v, want a -server-pid error", err)
	}
}
