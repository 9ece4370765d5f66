//go:build linux

package main

import (
	"encoding/binary"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func TestArrivalEndsAtTheKernelsReceiveTime(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	})
	res, out := runAgainst(t, h, "-mode", "returning", "-c", "2", "-n", "10")
	a := res.Arrival
	if a == nil || a.Count != 10 {
		t.Fatalf("arrival latency %+v, want 10 answers timed by the kernel; output:\n%s", a, out)
	}
	// The answer left the handler 20 ms after the request came: its arrival
	// is no earlier, and no later than loadgen's own reading of it (the
	// millisecond covers the wall and monotonic clocks' difference).
	if a.P50 < 20 || a.Max > res.Latency.Max+1 || a.P50 > res.Latency.P50+1 {
		t.Errorf("arrival p50 %.2f ms max %.2f ms, loadgen p50 %.2f ms max %.2f ms: want 20 ms ≤ arrival ≤ loadgen's",
			a.P50, a.Max, res.Latency.P50, res.Latency.Max)
	}
}

func TestTimestampNS(t *testing.T) {
	msg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, syscall.CmsgSpace(len(data)))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(syscall.CmsgLen(len(data)))
		copy(b[syscall.CmsgLen(0):], data)
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts[0:], 1_800_000_000)
	binary.NativeEndian.PutUint64(ts[8:], 123)
	want := int64(1_800_000_000)*int64(time.Second) + 123
	other := msg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{1, 2, 3, 4})
	stamp := msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts)
	for name, tc := range map[string]struct {
		oob []byte
		ok  bool
	}{
		"alone":         {stamp, true},
		"after another": {append(append([]byte{}, other...), stamp...), true},
		"none":          {other, false},
		"empty":         {nil, false},
		"truncated":     {stamp[:len(stamp)-8], false},
		"short data":    {msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts[:8]), false},
		"bad length": {func() []byte {
			b := append([]byte{}, stamp...)
			(*syscall.Cmsghdr)(unsafe.Pointer(&b[0])).SetLen(2)
			return b
		}(), false},
	} {
		got, ok := timestampNS(tc.oob)
		if ok != tc.ok || (ok && got != want) {
			t.Errorf("%s: timestampNS = %d, %v; want %d, %v", name, got, ok, want, tc.ok)
		}
	}
}
