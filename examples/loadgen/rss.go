package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// ServerRSS is the resident set of the server's process (-server-pid)
// around one run, in kB, from /proc/PID/status. Before the run (its
// warm-up and -prime request included) loadgen resets the process's peak
// with "5" into /proc/PID/clear_refs (Linux 4.0 or later), so Peak is the
// highest RSS during this run alone, memory returned with munmap or
// madvise (as the Go runtime does) included. It is not below Start (but
// for the kernel's RSS counters, approximate by some hundred kB), because
// the reset sets the peak to the RSS of that moment: a server rarely gives
// memory back at once, so a run after a heavier one starts high.
type ServerRSS struct {
	PID   int   `json:"pid"`
	Start int64 `json:"start_kb"` // VmRSS just after the reset
	Peak  int64 `json:"peak_kb"`  // VmHWM after the run
	End   int64 `json:"end_kb"`   // VmRSS after the run
}

// resetPeakRSS sets the peak RSS (VmHWM) of process pid to its current RSS.
func resetPeakRSS(pid int) error {
	// O_WRONLY without O_CREATE or O_TRUNC: the file exists in /proc or
	// the process does not.
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("-server-pid %d: resetting the peak RSS: %w", pid, err)
	}
	_, err = f.Write([]byte("5"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-server-pid %d: resetting the peak RSS (\"5\" into clear_refs needs Linux 4.0+): %w", pid, err)
	}
	return nil
}

// procRSS returns the current RSS (VmRSS) and the peak RSS (VmHWM) of
// process pid, in kB.
func procRSS(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("-server-pid %d: %w", pid, err)
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &peak
		default:
			continue
		}
		f := bytes.Fields(value) // "  123456 kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, fmt.Errorf("-server-pid %d: /proc status line %q: want \"N kB\"", pid, sc.Bytes())
		}
		if *dst, err = strconv.ParseInt(string(f[0]), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("-server-pid %d: /proc status line %q: %w", pid, sc.Bytes(), err)
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("-server-pid " + strconv.Itoa(pid) + ": no VmRSS and VmHWM in /proc status (a kernel thread, or not Linux)")
	}
	return rss, peak, nil
}
