package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatid/webchatid/internal/leakcheck"
)

// rawServer listens on 127.0.0.1 and calls serve for each connection, with
// a reader over it; it returns the URL and the number of connections
// accepted. Everything is closed when the test ends.
func rawServer(t *testing.T, serve func(conn net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serve(conn, bufio.NewReader(conn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/createJWT", &accepted
}

// readRequest reads one request's head from br; false at its end.
func readRequest(br *bufio.Reader) (cookie string, ok bool) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", false
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return cookie, true
		}
		if v, found := strings.CutPrefix(line, "Cookie: "); found {
			cookie = v
		}
	}
}

func runRaw(t *testing.T, url string, args ...string) Result {
	t.Helper()
	var res Result
	o, err := parseFlags(append(args, url), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = runHTTP(context.Background(), o); err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	return res
}

const token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"

func TestChunkedAnswers(t *testing.T) {
	leakcheck.Check(t)
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for {
			if _, ok := readRequest(br); !ok {
				return
			}
			// The token in three chunks, a chunk extension and a trailer.
			fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"+
				"5;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-T: done\r\n\r\n", token[:5], len(token)-5, token[5:])
		}
	})
	res := runRaw(t, url, "-c", "1", "-n", "30")
	if res.Status["200"] != 30 || res.BadBodies != 0 || res.Errors != 0 {
		t.Fatalf("status %v, %d bad bodies, %d errors; want 30 good tokens", res.Status, res.BadBodies, res.Errors)
	}
	if res.Dials != 1 {
		t.Errorf("dialled %d connections, want 1: a chunked answer keeps the connection", res.Dials)
	}
}

func TestConnectionCloseRedials(t *testing.T) {
	leakcheck.Check(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, token)
	})
	res, _ := runAgainst(t, h, "-mode", "returning", "-c", "1", "-n", "10")
	if res.Requests != 10 || res.Status["200"] != 10 || res.Errors != 0 {
		t.Fatalf("got %d requests, status %v, %d errors; want 10 answers, each counted once", res.Requests, res.Status, res.Errors)
	}
	if res.Dials != 10 {
		t.Errorf("dialled %d connections, want 10 (one per answer with Connection: close)", res.Dials)
	}
}

func TestServerClosingIdleConnections(t *testing.T) {
	leakcheck.Check(t)
	// One answer per connection, with no Connection: close, then the
	// server closes it: the client finds out only when it sends its next
	// request there, and must send it again on a new connection.
	var requests atomic.Int64
	url, accepted := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if _, ok := readRequest(br); !ok {
			return
		}
		requests.Add(1)
		fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(token), token)
	})
	res := runRaw(t, url, "-mode", "returning", "-c", "1", "-n", "10")
	if res.Requests != 10 || res.Status["200"] != 10 || res.Errors != 0 {
		t.Fatalf("got %d requests, status %v, errors %v; want 10 answers and no error", res.Requests, res.Status, res.ErrorKinds)
	}
	if res.Dials != accepted.Load() || res.Dials != 10 || requests.Load() != 10 {
		t.Errorf("dialled %d, server accepted %d connections and answered %d requests; want 10 each", res.Dials, accepted.Load(), requests.Load())
	}
}

// cookieServer sets, replaces and deletes cookies over a visitor's loads:
// the first gets id, old and tmp; the second replaces id, deletes tmp
// (Max-Age<0) and old (an Expires in the past); the third must bring id
// alone.
type cookieServer struct {
	mu   sync.Mutex
	seen map[string][]string // by visitor: the Cookie headers, in order
	n    int
}

func (s *cookieServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := r.Header.Get("Cookie")
	var id string
	if ck, err := r.Cookie("id"); err == nil {
		id = strings.TrimSuffix(ck.Value, "v2")
	} else {
		s.n++
		id = fmt.Sprint(s.n)
	}
	s.seen[id] = append(s.seen[id], c)
	switch len(s.seen[id]) {
	case 1:
		http.SetCookie(w, &http.Cookie{Name: "id", Value: id, MaxAge: 3600})
		http.SetCookie(w, &http.Cookie{Name: "tmp", Value: "x"})
		http.SetCookie(w, &http.Cookie{Name: "old", Value: "y"})
	case 2:
		http.SetCookie(w, &http.Cookie{Name: "id", Value: id + "v2"})
		http.SetCookie(w, &http.Cookie{Name: "tmp", MaxAge: -1})
		w.Header().Add("Set-Cookie", "old=y; Expires=Thu, 01 Jan 1970 00:00:01 GMT")
	}
	io.WriteString(w, token)
}

func TestVisitorsCookieReplaceAndDelete(t *testing.T) {
	leakcheck.Check(t)
	s := &cookieServer{seen: map[string][]string{}}
	res, _ := runAgainst(t, s, "-mode", "visitors", "-visitors", "6", "-loads", "3", "-c", "3")
	if res.Status["200"] != 18 {
		t.Fatalf("status %v, want 18×200", res.Status)
	}
	if len(s.seen) != 6 {
		t.Fatalf("server saw %d visitors, want 6", len(s.seen))
	}
	for id, got := range s.seen {
		want := []string{"", "id=" + id + "; old=y; tmp=x", "id=" + id + "v2"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("visitor %s sent %q, want %q", id, got, want)
		}
	}
}

func TestMalformedAnswersAreCountedErrors(t *testing.T) {
	leakcheck.Check(t)
	for name, tc := range map[string]struct {
		answer string
		kind   string
	}{
		"status line":         {"HTTP/1.1 2x0 OK\r\n\r\n", "malformed"},
		"not HTTP":            {"SSH-2.0-OpenSSH\r\n", "malformed"},
		"interim answer":      {"HTTP/1.1 100 Continue\r\n\r\n", "malformed"},
		"header without ':'":  {"HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello", "malformed"},
		"Content-Length":      {"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", "malformed"},
		"two Content-Lengths": {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "malformed"},
		"huge Content-Length": {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n", "malformed"},
		"other coding":        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "malformed"},
		"bad chunk":           {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed"},
		"long header":         {"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", readBufSize) + "\r\n\r\n", "malformed"},
		"short body":          {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", "eof"},
		"cut in the headers":  {"HTTP/1.1 200 OK\r\nContent-Le", "eof"},
		"no answer":           {"", "eof"},
	} {
		t.Run(name, func(t *testing.T) {
			url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
				if _, ok := readRequest(br); ok {
					io.WriteString(conn, tc.answer)
				}
			})
			res := runRaw(t, url, "-c", "1", "-n", "3", "-timeout", "20s")
			if res.Errors != 3 || res.ErrorKinds[tc.kind] != 3 || len(res.Status) != 0 {
				t.Errorf("errors %v, status %v; want 3 errors %q and no status", res.ErrorKinds, res.Status, tc.kind)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	leakcheck.Check(t)
	// A server that reads the request and never answers: each request
	// ends at its deadline as a "timeout", and the next one redials.
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.Copy(io.Discard, br) // until the client or the test closes it
	})
	res := runRaw(t, url, "-c", "2", "-n", "4", "-timeout", "50ms")
	if res.Errors != 4 || res.ErrorKinds["timeout"] != 4 {
		t.Fatalf("errors %v, want 4 timeouts", res.ErrorKinds)
	}
	if res.Dials != 4 {
		t.Errorf("dialled %d connections, want 4: a timed-out connection is not reused", res.Dials)
	}
}

func TestInterruptEndsAStalledRequest(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan struct{})
	url, _ := rawServer(t, func(conn net.Conn, br *bufio.Reader) {
		readRequest(br)
		close(got)
		io.Copy(io.Discard, br)
	})
	o, err := parseFlags([]string{"-c", "1", "-n", "1", "-timeout", "10m", url}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	if _, err := runHTTP(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("runHTTP after an interrupt: %v, want context.Canceled", err)
	}
}

func TestLoopbackDialRefusesOtherPeers(t *testing.T) {
	// A local address that is not loopback, if this machine has one.
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address here")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skip(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var dials atomic.Int64
	c, err := newClient("http://"+ln.Addr().String()+"/", loopbackDial(&dials), 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	err = c.do(context.Background(), nil, &r)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") || dials.Load() != 0 {
		t.Fatalf("do against %v: %v, %d dials; want a loopback refusal and none counted", ln.Addr(), err, dials.Load())
	}
}

func TestCPUPerRequest(t *testing.T) {
	s := &tokenServer{}
	// This process is the server too: its CPU is counted twice, which is
	// fine for a check that both figures are there.
	res, out := runAgainst(t, s, "-mode", "fresh", "-c", "4", "-n", "3000", "-server-pid", fmt.Sprint(os.Getpid()))
	if res.ClientCPU <= 0 || res.ServerCPU <= 0 {
		t.Fatalf("client %v µs, server %v µs per request; want both above 0", res.ClientCPU, res.ServerCPU)
	}
	if !strings.Contains(out, "CPU per request  loadgen ") {
		t.Errorf("output lacks the CPU line:\n%s", out)
	}
}

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses; utime 1234, stime 66.
	line := "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 66 0 0 20 0 9 0 12345 1000000 500 18446744073709551615\n"
	d, err := parseProcStat([]byte(line))
	if err != nil || d != 13*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 13s", d, err)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x 66 0"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) succeeded", bad)
		}
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Skip("no /proc here:", err)
	}
}

// TestRenewalTakesTheShortcut: webchatid's answer to a returning visitor
// renews the cookie it sent; update must recognise that without parsing
// (no allocation, the Cookie header kept), and still apply every other
// line the general way, Max-Age winning over Expires as in RFC 6265.
func TestRenewalTakesTheShortcut(t *testing.T) {
	const id = "anon-15a42323-6f12-468d-9093-ce980238bc99.wlk8q442PmQWmyDZLqGGfw"
	renewal := []string{"ANONYMOUS-USER-ID=" + id + "; Path=/; Expires=Mon, 18 Jan 2027 03:20:25 GMT; Max-Age=3888000; HttpOnly; SameSite=Lax"}
	v := visitor{cookies: map[string]string{"ANONYMOUS-USER-ID": id}}
	hdr := v.header()
	if n := testing.AllocsPerRun(100, func() { v.update(renewal) }); n != 0 {
		t.Errorf("update with a renewal: %v allocations, want 0 (the shortcut)", n)
	}
	if got := v.header(); &got[0] != &hdr[0] {
		t.Error("a renewal rebuilt the Cookie header")
	}
	v.update([]string{
		"ANONYMOUS-USER-ID=anon-other; Max-Age=60",                  // a new value: replaced
		"kept=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:01 GMT", // Max-Age wins
		"gone=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT",             // expired: not set
	})
	if got, want := string(v.header()), "ANONYMOUS-USER-ID=anon-other; kept=1"; got != want {
		t.Errorf("Cookie header %q, want %q", got, want)
	}
}
