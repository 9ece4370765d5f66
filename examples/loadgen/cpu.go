package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// what getconf CLK_TCK prints, 100 on every Linux architecture Go runs on.
const clockTicks = 100

// procCPU returns the user plus system CPU time process pid has used, from
// /proc/PID/stat (Linux), to 1/clockTicks of a second.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("-server-pid %d: %w", pid, err)
	}
	return parseProcStat(data)
}

// parseProcStat reads utime and stime, fields 14 and 15, from the text of
// /proc/PID/stat. The command name (field 2, in parentheses) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func parseProcStat(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %.40q: no command name", data)
	}
	f := bytes.Fields(data[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat %.40q: too few fields", data)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat: utime or stime %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures the CPU time of this process (getrusage) and, with a
// pid, of the server, over the measured part of a run: from its start
// (after any warm-up) to finish.
type cpuMeter struct {
	pid   int
	timer *time.Timer
	mu    sync.Mutex
	taken bool
	self  time.Duration // this process's CPU at the start; -1 if unknown
	srv   time.Duration // the server's; -1 if unknown
	err   error
}

// startCPUMeter takes the first sample at from (at once if from is past).
func startCPUMeter(from time.Time, pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	if d := time.Until(from); d > 0 {
		m.timer = time.AfterFunc(d, m.sample)
	} else {
		m.sample()
	}
	return m
}

func (m *cpuMeter) sample() {
	self, ok := selfCPU()
	srv := time.Duration(-1)
	var err error
	if m.pid > 0 {
		srv, err = procCPU(m.pid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taken, m.srv, m.err = true, srv, err
	m.self = -1
	if ok {
		m.self = self
	}
}

// stop cancels a first sample not yet taken.
func (m *cpuMeter) stop() {
	if m.timer != nil {
		m.timer.Stop()
	}
}

// finish sets r's CPU figures per measured request (r.Requests), or
// returns the error reading the server's.
func (m *cpuMeter) finish(r *Result) error {
	m.stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.taken || r.Requests == 0 {
		return nil // the run ended before its measured part
	}
	if m.err != nil {
		return m.err
	}
	perReq := func(d time.Duration) float64 {
		return float64(d.Nanoseconds()) / 1000 / float64(r.Requests)
	}
	if self, ok := selfCPU(); ok && m.self >= 0 {
		r.ClientCPU = perReq(self - m.self)
	}
	if m.pid > 0 {
		srv, err := procCPU(m.pid)
		if err != nil {
			return fmt.Errorf("after the run: %w", err)
		}
		r.ServerCPU = perReq(srv - m.srv)
	}
	return nil
}
