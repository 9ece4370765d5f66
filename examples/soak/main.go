// Command soak runs mixed traffic against an in-process identity.Server on
// loopback for a bounded time and then checks that the process returned to
// where it started: no goroutine left over and the heap back near its
// baseline. Run it with the race detector:
//
//	go run -race ./examples/soak -d 60s -c 32
//
// The traffic mixes new and returning anonymous visitors, logins, logouts,
// session and JWKS reads, and tampered requests (flipped, forged, oversized
// and duplicate cookies, cross-site state changes). Every answer must be the
// one its kind of request deserves; any other status, or any 5xx, fails the
// run. It exits 0 when all is well, 1 when a check failed, 2 on bad flags.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	duration time.Duration
	requests int
	clients  int
	// slack is how many goroutines above the baseline are tolerated
	// (timers of the runtime and net/http that end on their own).
	slack    int
	heapSlop float64 // allowed heap growth over the baseline, in MiB
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to run (at most 1h); with -n, whichever ends first")
	fs.IntVar(&o.requests, "n", 0, "stop after this many requests (0: run for -d)")
	fs.IntVar(&o.clients, "c", 16, "concurrent clients")
	fs.IntVar(&o.slack, "goroutine-slack", 2, "goroutines above the baseline tolerated after the run")
	fs.Float64Var(&o.heapSlop, "heap-slop", 8, "MiB of heap growth over the baseline tolerated after the run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0 || o.duration > time.Hour:
		return o, fmt.Errorf("-d %v: want more than 0 and at most 1h", o.duration)
	case o.clients < 1 || o.clients > 1024:
		return o, fmt.Errorf("-c %d: want 1 to 1024", o.clients)
	case o.requests < 0:
		return o, fmt.Errorf("-n %d: must not be negative", o.requests)
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	if err := soak(o, stdout); err != nil {
		fmt.Fprintln(stderr, "soak: FAIL:", err)
		return 1
	}
	fmt.Fprintln(stdout, "soak: ok")
	return 0
}

// The demo's fixed secrets: this program is a test harness; never use them
// for anything else.
var (
	sessionKey = []byte("soak-session-key-0123456789abcdef")[:32]
	bindingKey = []byte("soak-binding-key-fedcba9876543210")[:32]
)

const password = "soak-password"

func newServer() (*identity.Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		SessionKeys: [][]byte{sessionKey},
		Anonymous:   cookie.Config{BindingKeys: [][]byte{bindingKey}},
		Ledger:      memstore.New(),
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			if r.PostFormValue("password") != password {
				return nil, identity.ErrUnauthenticated
			}
			user := r.PostFormValue("user")
			return &identity.SessionInfo{UserName: user, CustomUserID: "id-" + user}, nil
		},
		Logger: slog.New(slog.DiscardHandler),
	})
}

// stats counts answers by kind of request.
type stats struct {
	requests atomic.Int64
	shed     atomic.Int64 // token requests refused with 503 and Retry-After
	mu       sync.Mutex
	bad      []string // unexpected answers, the first few
	nbad     int
}

func (s *stats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nbad++
	if len(s.bad) < 10 {
		s.bad = append(s.bad, fmt.Sprintf(format, args...))
	}
}

func soak(o options, stdout io.Writer) error {
	srv, err := newServer()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Shutdown
	base := "http://" + ln.Addr().String()

	// The baseline is taken with the server up and its first request
	// served, so that one-time allocations (the mux, sync.Pools) are in it.
	warm := &http.Client{Transport: &http.Transport{}}
	if resp, err := warm.Get(base + "/createJWT"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	warm.CloseIdleConnections()
	goroutines0, heap0 := settle()

	var st stats
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: o.clients}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.clients {
		wg.Go(func() { client(ctx, cancel, o, i, base, transport, &st) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	transport.CloseIdleConnections()

	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	goroutines1, heap1 := settle()

	n := st.requests.Load()
	fmt.Fprintf(stdout, "soak: %d requests in %v (%.0f/s) from %d clients; %d unexpected answers; %d shed (503, Retry-After)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), o.clients, st.nbad, st.shed.Load())
	fmt.Fprintf(stdout, "soak: goroutines %d -> %d; heap %.1f -> %.1f MiB\n", goroutines0, goroutines1, mib(heap0), mib(heap1))
	var errs []error
	if st.nbad > 0 {
		errs = append(errs, fmt.Errorf("%d unexpected answers, e.g.:\n  %s", st.nbad, strings.Join(st.bad, "\n  ")))
	}
	if n == 0 {
		errs = append(errs, errors.New("no request was made"))
	}
	if goroutines1 > goroutines0+o.slack {
		buf := make([]byte, 1<<20)
		errs = append(errs, fmt.Errorf("goroutines did not return to the baseline (%d -> %d):\n%s", goroutines0, goroutines1, buf[:runtime.Stack(buf, true)]))
	}
	if mib(heap1) > mib(heap0)+o.heapSlop {
		errs = append(errs, fmt.Errorf("heap did not return to the baseline: %.1f -> %.1f MiB (more than %.0f MiB over)", mib(heap0), mib(heap1), o.heapSlop))
	}
	return errors.Join(errs...)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// settle lets goroutines on their way out finish and collects garbage, then
// returns the goroutine count and the live heap. It waits at most a few
// seconds for the goroutine count to stop falling.
func settle() (goroutines int, heap uint64) {
	prev := -1
	for i := 0; i < 50; i++ {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n == prev {
			break
		}
		prev = n
		time.Sleep(20 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// client plays visitors until ctx ends or the request budget is spent.
func client(ctx context.Context, cancel func(), o options, id int, base string, transport http.RoundTripper, st *stats) {
	rnd := mathrand.New(mathrand.NewPCG(uint64(id), 0x50a4))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: transport, Jar: jar}
	for ctx.Err() == nil {
		if o.requests > 0 && st.requests.Add(1) > int64(o.requests) {
			cancel()
			return
		} else if o.requests == 0 {
			st.requests.Add(1)
		}
		switch k := rnd.IntN(100); {
		case k < 30: // a returning visitor's page load
			expect(ctx, st, c, "GET", base+"/createJWT", nil, nil, 200)
		case k < 40: // a new visitor
			jar, _ = cookiejar.New(nil)
			c.Jar = jar
			expect(ctx, st, c, "GET", base+"/createJWT", nil, nil, 200)
		case k < 50:
			expect(ctx, st, c, "POST", base+"/authenticate", strings.NewReader(fmt.Sprintf("user=u%d&password=%s", id, password)), nil, 204)
		case k < 55:
			expect(ctx, st, c, "POST", base+"/authenticate", strings.NewReader("user=x&password=wrong"), nil, 401)
		case k < 62:
			expect(ctx, st, c, "POST", base+"/logout", nil, nil, 204)
		case k < 68:
			expect(ctx, st, c, "GET", base+"/session", nil, nil, 200)
		case k < 70:
			expect(ctx, st, c, "GET", base+"/.well-known/jwks.json", nil, nil, 200)
		case k < 78: // tampered cookies, without the jar
			tampered(ctx, st, transport, base, rnd)
		case k < 84: // a cross-site state change
			expect(ctx, st, c, "POST", base+"/logout", nil, []string{"Sec-Fetch-Site", "cross-site"}, 403)
		case k < 88:
			expect(ctx, st, c, "DELETE", base+"/createJWT", nil, nil, 405)
		default: // a token POST, as some pages send
			expect(ctx, st, c, "POST", base+"/createJWT", nil, nil, 200)
		}
	}
}

func tampered(ctx context.Context, st *stats, transport http.RoundTripper, base string, rnd *mathrand.Rand) {
	c := &http.Client{Transport: transport}
	values := []string{
		"anon-0f8fad5b-d9cb-469f-a165-70867728950e",                        // made up, unbound
		"anon-0f8fad5b-d9cb-469f-a165-70867728950e.AAAAAAAAAAAAAAAAAAAAAA", // forged MAC
		strings.Repeat("x", 3000),
		"",
	}
	hdr := []string{"Cookie", cookie.DefaultName + "=" + values[rnd.IntN(len(values))] + "; " +
		identity.DefaultSessionCookie + "=" + strings.Repeat("A", 1+rnd.IntN(400)) + "; " +
		cookie.DefaultName + "=dup"}
	expect(ctx, st, c, "GET", base+"/createJWT", nil, hdr, 200)
}

func expect(ctx context.Context, st *stats, c *http.Client, method, url string, body io.Reader, hdr []string, want int) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		st.fail("%s %s: %v", method, url, err)
		return
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			st.fail("%s %s: %v", method, url, err)
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable && want == http.StatusOK && resp.Header.Get("Retry-After") != "" {
		st.shed.Add(1) // admission control (identity.AdmissionConfig) shed load: an answer, not a bug
		return
	}
	if resp.StatusCode != want {
		st.fail("%s %s: got %d, want %d", method, url, resp.StatusCode, want)
	}
}
