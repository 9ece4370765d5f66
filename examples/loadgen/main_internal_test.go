package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/createJWT", true},
		{"http://127.8.9.10/createJWT", true},
		{"http://[::1]:3001/createJWT", true},
		{"http://localhost:3001/createJWT", true},
		{"http://example.com/createJWT", false},
		{"http://10.0.0.1/createJWT", false},
		{"http://0.0.0.0:3001/createJWT", false},
		{"http://[::]:3001/createJWT", false},
		{"http://localhost.example.com/", false},
		{"ftp://127.0.0.1/", false},
		{"127.0.0.1:3001", false},
	} {
		err := checkLoopback(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
	// The refusal happens before any connection and says why.
	err := run(context.Background(), []string{"-n", "1", "http://192.0.2.1/createJWT"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("run against 192.0.2.1: got %v, want a loopback error", err)
	}
}

func TestCountedRunsAreBoundedByTenMinutes(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "100", "http://127.0.0.1/"},
		{"-mode", "visitors", "http://127.0.0.1/"},
	} {
		o, err := parseFlags(args, io.Discard)
		if err != nil || o.duration != maxDuration {
			t.Errorf("parseFlags(%q): duration %v, err %v; want %v", args, o.duration, err, maxDuration)
		}
	}
	o, err := parseFlags([]string{"-n", "100", "-d", "3s", "http://127.0.0.1/"}, io.Discard)
	if err != nil || o.duration != 3*time.Second {
		t.Errorf("-n 100 -d 3s: duration %v, err %v; want 3s", o.duration, err)
	}
	o, err = parseFlags([]string{"http://127.0.0.1/"}, io.Discard)
	if err != nil || o.duration != 10*time.Second {
		t.Errorf("no flags: duration %v, err %v; want 10s", o.duration, err)
	}
}

func TestFlagErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no URL":                  {"-mode", "fresh"},
		"unknown mode":            {"-mode", "spray", "http://127.0.0.1/"},
		"duration above 10m":      {"-d", "11m", "http://127.0.0.1/"},
		"zero connections":        {"-c", "0", "http://127.0.0.1/"},
		"warm-up with a count":    {"-n", "5", "-warmup", "1s", "http://127.0.0.1/"},
		"warm-up in visitors":     {"-mode", "visitors", "-warmup", "1s", "http://127.0.0.1/"},
		"sign with a URL":         {"-mode", "sign", "http://127.0.0.1/"},
		"no visitors":             {"-mode", "visitors", "-visitors", "0", "http://127.0.0.1/"},
		"multi-line cookie":       {"-mode", "returning", "-cookie", "a=b\r\nX: y", "http://127.0.0.1/"},
		"negative retry jitter":   {"-retry-after", "-retry-jitter", "-1s", "http://127.0.0.1/"},
		"negative request count":  {"-n", "-1", "http://127.0.0.1/"},
		"open loop for sign mode": {"-mode", "sign", "-rate", "10"},
		"server pid in sign mode": {"-mode", "sign", "-server-pid", "1"},
		"negative server pid":     {"-server-pid", "-1", "http://127.0.0.1/"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%s: parseFlags(%q) succeeded, want an error", name, args)
		}
	}
}

// tokenServer is a stand-in token endpoint: it mints an anonymous ID for a
// request without one (Set-Cookie), answers a token that depends only on the
// ID, and remembers the cookies it saw.
type tokenServer struct {
	mu      sync.Mutex
	cookies []string // Cookie header of each request ("" when none)
	minted  atomic.Int64
	refuse  func(n int64) bool // answer 503 to the n-th request (from 1)
	n       atomic.Int64
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.n.Add(1)
	s.mu.Lock()
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	s.mu.Unlock()
	if s.refuse != nil && s.refuse(n) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	id := ""
	if c, err := r.Cookie("ANONYMOUS-USER-ID"); err == nil {
		id = c.Value
	} else {
		id = fmt.Sprintf("anon-minted-%d", s.minted.Add(1))
	}
	http.SetCookie(w, &http.Cookie{Name: "ANONYMOUS-USER-ID", Value: id, MaxAge: 3600, HttpOnly: true})
	fmt.Fprintf(w, "eyJhbGciOiJSUzI1NiJ9.%s.c2ln", id)
}

func runAgainst(t *testing.T, h http.Handler, args ...string) (Result, string) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	file := filepath.Join(t.TempDir(), "out.jsonl")
	var out bytes.Buffer
	args = append(args, "-json", file, "-label", "test", "-round", "3", ts.URL+"/createJWT")
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d JSON lines, want 1", len(lines))
	}
	var res Result
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil {
		t.Fatalf("JSON line %q: %v", lines[0], err)
	}
	if res.Label != "test" || res.Round != 3 || res.GoVersion == "" {
		t.Errorf("JSON line lacks label/round/go: %+v", res)
	}
	return res, out.String()
}

var freshCookie = regexp.MustCompile(`^ANONYMOUS-USER-ID=anon-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFreshVisitors(t *testing.T) {
	s := &tokenServer{}
	res, out := runAgainst(t, s, "-mode", "fresh", "-c", "4", "-n", "200")
	if res.Requests != 200 || res.Status["200"] != 200 || res.Latency.Count != 200 {
		t.Fatalf("got %d requests, %d ok, %d latencies; want 200 each", res.Requests, res.Status["200"], res.Latency.Count)
	}
	if res.Errors != 0 || res.BadBodies != 0 {
		t.Errorf("got %d errors, %d bad bodies; want none", res.Errors, res.BadBodies)
	}
	// Keep-alive: at most one connection per -c for all 200 requests. (A
	// connection dials at its first request, so on a busy machine one may
	// find the 200 all handed out before it starts, and never dial.)
	if res.Dials < 1 || res.Dials > 4 {
		t.Errorf("got %d connections dialled for 200 requests, want 1 to 4 (one keep-alive connection per -c at most)", res.Dials)
	}
	seen := map[string]bool{}
	for _, c := range s.cookies {
		if !freshCookie.MatchString(c) {
			t.Fatalf("cookie %q is not a well-formed anonymous ID", c)
		}
		seen[c] = true
	}
	if len(seen) != 200 {
		t.Errorf("got %d distinct cookies in 200 requests, want a new one each time", len(seen))
	}
	if s.minted.Load() != 0 {
		t.Errorf("server minted %d IDs, want 0 (every request brought one)", s.minted.Load())
	}
	for _, want := range []string{"200 requests", "p50", "p99", "status  200:200", "errors 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Errorf("quantiles out of order: %+v", res.Latency)
	}
}

func TestReturningVisitorAndNoCookie(t *testing.T) {
	s := &tokenServer{}
	runAgainst(t, s, "-mode", "returning", "-c", "2", "-n", "20")
	for _, c := range s.cookies {
		if c != defaultCookie {
			t.Fatalf("returning mode sent %q, want %q", c, defaultCookie)
		}
	}
	s = &tokenServer{}
	runAgainst(t, s, "-mode", "nocookie", "-c", "2", "-n", "20")
	for _, c := range s.cookies {
		if c != "" {
			t.Fatalf("nocookie mode sent %q", c)
		}
	}
	if s.minted.Load() != 20 {
		t.Errorf("server minted %d IDs, want 20", s.minted.Load())
	}
}

func TestVisitorsKeepTheirCookies(t *testing.T) {
	s := &tokenServer{}
	res, out := runAgainst(t, s, "-mode", "visitors", "-visitors", "25", "-loads", "4", "-c", "8", "-seed", "9")
	if res.Requests != 100 || res.Status["200"] != 100 || res.Incomplete {
		t.Fatalf("got %d requests (%v), incomplete=%v; want 100 ok", res.Requests, res.Status, res.Incomplete)
	}
	// Each visitor's first load has no cookie and gets one minted; its
	// other loads bring it back, and get the same token again.
	if got := s.minted.Load(); got != 25 {
		t.Errorf("server minted %d IDs, want 25 (one per visitor)", got)
	}
	perID := map[string]int{}
	for _, c := range s.cookies {
		if c != "" {
			perID[c]++
		}
	}
	if len(perID) != 25 {
		t.Errorf("got %d distinct returning cookies, want 25", len(perID))
	}
	for c, n := range perID {
		if n != 3 {
			t.Errorf("cookie %q came back %d times, want 3", c, n)
		}
	}
	if res.SameToken != 75 {
		t.Errorf("same_token = %d, want 75", res.SameToken)
	}
	if !strings.Contains(out, "same-token-as-before 75") {
		t.Errorf("output lacks the same-token count:\n%s", out)
	}
	// The order is random but reproducible from the seed.
	order := func(seed string) []string {
		s := &tokenServer{}
		runAgainst(t, s, "-mode", "visitors", "-visitors", "5", "-loads", "3", "-c", "1", "-seed", seed)
		return s.cookies
	}
	a, b := order("4"), order("4")
	if strings.Join(a, "|") != strings.Join(b, "|") {
		t.Errorf("same seed, different orders:\n%q\n%q", a, b)
	}
}

func TestRefusedAndErrorsAreCountedApart(t *testing.T) {
	s := &tokenServer{refuse: func(n int64) bool { return n%4 == 0 }}
	res, out := runAgainst(t, s, "-mode", "fresh", "-c", "1", "-n", "40")
	if res.Status["503"] != 10 || res.Status["200"] != 30 {
		t.Fatalf("status %v, want 30×200 and 10×503", res.Status)
	}
	if res.Refused == nil || res.Refused.Count != 10 || res.Latency.Count != 30 {
		t.Fatalf("refused latency %+v, ok count %d; want 10 and 30", res.Refused, res.Latency.Count)
	}
	if got, want := res.OKRPS/res.RPS, 0.75; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("ok/s ÷ req/s = %v, want %v", got, want)
	}
	if !strings.Contains(out, "latency (refused)") {
		t.Errorf("output lacks the refused latency:\n%s", out)
	}

	// A server that drops every connection: errors, no statuses.
	drop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	res, _ = runAgainst(t, drop, "-mode", "returning", "-c", "2", "-n", "10")
	if res.Errors != 10 || len(res.Status) != 0 || res.Latency.Count != 0 {
		t.Fatalf("got %d errors, status %v; want 10 errors and no status", res.Errors, res.Status)
	}

	// 200 with a body that is no token is a bad body.
	junk := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	res, _ = runAgainst(t, junk, "-n", "5", "-c", "1")
	if res.BadBodies != 5 {
		t.Errorf("got %d bad bodies, want 5", res.BadBodies)
	}
}

// bindingServer refuses a made-up anonymous ID and sets its own, bound
// one, as webchatid does with binding keys; it counts the IDs it mints.
type bindingServer struct{ tokenServer }

func (s *bindingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("ANONYMOUS-USER-ID"); err != nil || !strings.HasSuffix(c.Value, ".mac") {
		id := fmt.Sprintf("anon-bound-%d.mac", s.minted.Add(1))
		http.SetCookie(w, &http.Cookie{Name: "ANONYMOUS-USER-ID", Value: id, MaxAge: 3600, HttpOnly: true})
	}
	s.mu.Lock()
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	s.mu.Unlock()
	io.WriteString(w, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
}

func TestReturningPrimeKeepsTheServersCookie(t *testing.T) {
	s := &bindingServer{}
	runAgainst(t, s, "-mode", "returning", "-c", "2", "-n", "20")
	if s.minted.Load() != 20 {
		t.Fatalf("without -prime the server minted %d IDs in 20 requests, want 20 (a made-up cookie each time)", s.minted.Load())
	}
	s = &bindingServer{}
	runAgainst(t, s, "-mode", "returning", "-prime", "-c", "2", "-n", "20")
	if s.minted.Load() != 1 {
		t.Errorf("with -prime the server minted %d IDs, want 1 (the priming request's)", s.minted.Load())
	}
	for _, c := range s.cookies[1:] {
		if c != "ANONYMOUS-USER-ID=anon-bound-1.mac" {
			t.Fatalf("a measured request sent %q, want the cookie the server set", c)
		}
	}
}

func TestOpenLoopCountsFromDueTime(t *testing.T) {
	// At a rate far above what one connection serves, requests fall behind
	// their schedule, and their latency includes the wait: never below the
	// closed-loop service time.
	s := &tokenServer{}
	res, out := runAgainst(t, s, "-mode", "returning", "-c", "1", "-n", "50", "-rate", "1000000")
	if res.Requests != 50 || res.Rate != 1000000 {
		t.Fatalf("got %d requests at rate %v", res.Requests, res.Rate)
	}
	if !strings.Contains(out, "open loop") {
		t.Errorf("output does not say open loop:\n%s", out)
	}
}

func TestSignMode(t *testing.T) {
	file := filepath.Join(t.TempDir(), "out.jsonl")
	var out bytes.Buffer
	key := filepath.Join("..", "..", "identity", "testdata", "rsa2048-a.pem")
	if err := run(context.Background(), []string{"-mode", "sign", "-c", "2", "-n", "6", "-key", key, "-json", file}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Requests != 6 || res.Latency.Count != 6 || res.Mode != "sign" || res.RPS <= 0 {
		t.Fatalf("sign mode: %+v, want 6 signatures", res)
	}
	if !strings.Contains(out.String(), "rsa.SignPKCS1v15") {
		t.Errorf("output: %s", out.String())
	}
}

func TestBriefLine(t *testing.T) {
	s := &tokenServer{refuse: func(n int64) bool { return n%2 == 0 }}
	_, out := runAgainst(t, s, "-brief", "-mode", "returning", "-c", "1", "-n", "10")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "test") || !strings.Contains(out, "refused 5") {
		t.Errorf("brief output %q: want one line with the label and 5 refused", out)
	}
}

func TestRetryAfterPausesTheConnection(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		first := len(times) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	})
	res, _ := runAgainst(t, h, "-mode", "returning", "-c", "1", "-n", "2", "-retry-after")
	if res.Status["503"] != 1 || res.Status["200"] != 1 {
		t.Fatalf("status %v, want one 503 then one 200", res.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < time.Second { // a lower bound: a slow machine only widens it
		t.Errorf("next request %v after a 503 with Retry-After: 1, want at least 1s", gap)
	}
}

func TestRetryPauseSpreadsAfterRetryAfter(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := retryPause(1, 250*time.Millisecond, rng)
		if d < time.Second || d >= time.Second+250*time.Millisecond {
			t.Fatalf("retryPause(1, 250ms) = %v, want in [1s, 1.25s)", d)
		}
		seen[d.Truncate(10*time.Millisecond)] = true
	}
	if len(seen) < 20 { // 25 buckets of 10 ms; 1000 uniform draws fill nearly all
		t.Errorf("1000 pauses fell in %d of 25 10-ms buckets: not spread", len(seen))
	}
	if d := retryPause(1, 0, rng); d != time.Second {
		t.Errorf("retryPause(1, 0) = %v, want exactly 1s", d)
	}
	if d := retryPause(120, 0, rng); d != 30*time.Second {
		t.Errorf("retryPause(120, 0) = %v, want the 30s ceiling", d)
	}
}
