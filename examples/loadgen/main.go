// Command loadgen drives a token endpoint on this machine with keep-alive
// connections and prints throughput and latency, the way a site's visitors
// would see it. It talks to loopback addresses only (127.0.0.0/8, ::1,
// localhost) and refuses any other host.
//
// Usage:
//
//	loadgen [flags] URL
//	loadgen -mode sign [-c 2] [-d 5s]
//
// Modes (-mode):
//
//	fresh      every request is a new visitor: a new well-formed
//	           "ANONYMOUS-USER-ID=anon-<uuid v4>" cookie on each request, as
//	           ../shared/bench/fresh-visitors.lua does for wrk; nothing can be
//	           answered from a per-visitor cache and every ID is new to a ledger
//	nocookie   no cookie at all: the server mints the ID itself
//	returning  one fixed cookie (-cookie) on every request: one visitor asking
//	           again and again. With -prime, a first, unmeasured request
//	           sends -cookie and every request after it sends the cookies
//	           that answer set (a browser's cookie jar), so a server that
//	           binds its cookie to a MAC, as webchatid does with binding
//	           keys, sees a returning visitor rather than a new one each time
//	visitors   -visitors N visitors × -loads M page loads each, in random
//	           order (seed -seed); each visitor keeps the cookies the server
//	           set, like a browser, so its first load mints an ID and the
//	           others reuse it. The run ends when all N×M loads are done.
//	sign       no HTTP: -c goroutines sign token-sized input with RSA-2048
//	           (rsa.SignPKCS1v15 over SHA-256), the machine's signing ceiling
//
// Each of the -c connections is its own client with one keep-alive
// connection (like wrk's -c) and sends its next request when the previous
// answer is read (closed loop). The client is a lean HTTP/1.1 one, not
// net/http's: one net.Conn per connection, each GET written from bytes
// built once ("GET path?query HTTP/1.1", Host, Cookie), the answer read
// with a bufio.Reader into a reused buffer (Content-Length or chunked
// bodies, Connection: close, Retry-After, Set-Cookie; no interim 1xx
// answers, no transfer codings but chunked, no redirects followed). A
// connection the server closed, by Connection: close or while idle, is
// dialled again, counted, and an idle one's GET sent once more, as
// net/http's Transport does. -timeout is a deadline on each request's
// connection. Latency is from writing the request to reading the whole
// body. With -rate R the load is open-loop instead
// (wrk2-style): request k of connection i is due at start + (k·c+i)/R, and
// its latency counts from when it was due, so a stalled server is charged
// for the requests it kept waiting (coordinated omission).
//
// It reports requests/s (every answer) and ok/s (2xx answers), latency
// quantiles of 2xx answers (log-bucketed histogram, ≤ 0.8 % above the exact
// nearest-rank value; min, max and mean exact), a separate latency for
// refused requests (503 or 429, so load shedding is visible; with
// -retry-after a refused connection waits the Retry-After it was given,
// plus a random part of -retry-jitter (default 250ms, webchatid.js's
// first backoff step), before its next request, as webchatid.js does,
// instead of asking again at once), counts per
// status code, transport errors by kind (timeout, refused, reset, eof,
// malformed: an answer that is not HTTP/1.x, other), connections dialled (a server that
// closes keep-alive connections shows up here) and, in visitors mode, how
// many answers repeated the visitor's previous token. On Linux each latency
// also has an "arrived" twin that ends at the kernel's receive time of the
// answer (SO_TIMESTAMPNS), before this process got a CPU to read it: what a
// client on cores of its own would measure (arrival_latency_ms and
// refused_arrival_latency_ms in -json). -json FILE appends the
// same as one JSON line, for bench/run.sh and examples/benchchart.
//
// With -server-pid PID (Linux; the server's process on this machine) it
// also records the server's memory during this run alone: it resets the
// process's peak RSS before the run ("5" into /proc/PID/clear_refs) and
// reads VmHWM, the peak, after it (server_rss_kb in -json: start, peak and
// end RSS in kB). The reset needs write access to clear_refs, as the
// process's owner has.
//
// The load generator runs on the same cores as the server: its own CPU
// time is part of every figure, alike for every server measured in the
// same run, so compare servers within one run, not across runs. It prints
// that cost: its own CPU time (getrusage RUSAGE_SELF, user plus system)
// over the measured part of the run divided by the measured requests
// (client_cpu_us_per_req in -json; in sign mode per signature) and, with
// -server-pid, the server's, from utime plus stime in /proc/PID/stat
// (server_cpu_us_per_req; in ticks of 10 ms, so a short run's figure is
// coarse, and absent when 0). CPU time per request, unlike throughput,
// survives a busy machine.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxDuration bounds -d: this tool is for short measurements on a shared
// machine.
const maxDuration = 10 * time.Minute

// defaultCookie is the returning visitor of ../shared/bench/README.md.
const defaultCookie = "ANONYMOUS-USER-ID=anon-0f8fad5b-d9cb-469f-a165-70867728950e"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options is the parsed command line.
type options struct {
	url      string
	mode     string
	conns    int
	duration time.Duration
	requests int64
	warmup   time.Duration
	rate     float64
	timeout  time.Duration
	cookie   string
	visitors int
	loads    int
	seed     uint64
	label    string
	round    int
	jsonFile string
	keyFile  string
	quiet    bool
	brief    bool
	backoff  bool          // -retry-after
	jitter   time.Duration // -retry-jitter
	prime    bool          // -prime
	pid      int           // -server-pid
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loadgen [flags] URL   (loopback only; see go doc ./examples/loadgen)")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.mode, "mode", "fresh", "`mode`: fresh, nocookie, returning, visitors or sign")
	fs.IntVar(&o.conns, "c", 16, "concurrent keep-alive `connections` (sign: goroutines)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured `duration` (at most 10m); with -n or in visitors mode an upper bound, 10m unless set")
	fs.Int64Var(&o.requests, "n", 0, "stop after this many measured `requests` (0: run for -d)")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured warm-up before -d (fresh, nocookie, returning, sign; not with -n)")
	fs.Float64Var(&o.rate, "rate", 0, "open-loop: total `requests/s` sent on schedule, latency counted from when each was due (0: closed loop)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request `timeout`; an answer slower than this is an error \"timeout\"")
	fs.StringVar(&o.cookie, "cookie", defaultCookie, "Cookie header of returning mode")
	fs.BoolVar(&o.prime, "prime", false, "returning mode: send -cookie once, unmeasured, then the cookies its answer set, as a browser would (for servers that bind their cookie)")
	fs.IntVar(&o.visitors, "visitors", 10000, "visitors mode: number of `visitors`")
	fs.IntVar(&o.loads, "loads", 10, "visitors mode: page `loads` per visitor")
	fs.Uint64Var(&o.seed, "seed", 1, "visitors mode: `seed` of the order of page loads")
	fs.StringVar(&o.label, "label", "", "`name` of the server measured, recorded in -json")
	fs.IntVar(&o.round, "round", 0, "`number` of the round, recorded in -json")
	fs.StringVar(&o.jsonFile, "json", "", "append the results as one JSON line to `file`")
	fs.StringVar(&o.keyFile, "key", "", "sign mode: RSA private key PEM `file` (default: a new 2048-bit key)")
	fs.BoolVar(&o.quiet, "q", false, "print nothing but errors (with -json)")
	fs.BoolVar(&o.brief, "brief", false, "print one line per run")
	fs.IntVar(&o.pid, "server-pid", 0, "record the peak RSS and the CPU per request of this server `process` during the run (Linux: resets its VmHWM before, reads it after; CPU from /proc/PID/stat)")
	fs.BoolVar(&o.backoff, "retry-after", false, "closed loop: after a 503 or 429 with Retry-After (seconds, at most 30), a connection waits that long plus a random part of -retry-jitter before its next request, as webchatid.js does")
	fs.DurationVar(&o.jitter, "retry-jitter", 250*time.Millisecond, "with -retry-after: the wait after Retry-After is uniform in [0, `duration`) (webchatid.js: its backoffMs, 250 ms; 0 makes connections refused together return together)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "d" })
	if !durationSet && (o.requests > 0 || o.mode == "visitors") {
		o.duration = maxDuration // a counted run ends by its count
	}
	switch o.mode {
	case "fresh", "nocookie", "returning", "visitors":
		if fs.NArg() != 1 {
			return o, fmt.Errorf("-mode %s needs one URL argument, got %d", o.mode, fs.NArg())
		}
		o.url = fs.Arg(0)
		if err := checkLoopback(o.url); err != nil {
			return o, err
		}
	case "sign":
		if fs.NArg() != 0 {
			return o, fmt.Errorf("-mode sign takes no URL, got %q", fs.Arg(0))
		}
	default:
		return o, fmt.Errorf("-mode %q: want fresh, nocookie, returning, visitors or sign", o.mode)
	}
	if o.conns < 1 || o.conns > 10000 {
		return o, fmt.Errorf("-c %d: want 1 to 10000", o.conns)
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return o, fmt.Errorf("-d %v: want more than 0 and at most %v", o.duration, maxDuration)
	}
	if o.warmup < 0 || o.warmup > time.Minute {
		return o, fmt.Errorf("-warmup %v: want 0 to 1m", o.warmup)
	}
	if o.warmup > 0 && (o.requests > 0 || o.mode == "visitors") {
		return o, errors.New("-warmup goes with a timed run (-d), not with -n or -mode visitors")
	}
	if o.requests < 0 {
		return o, fmt.Errorf("-n %d: must not be negative", o.requests)
	}
	if o.jitter < 0 || o.jitter > time.Minute {
		return o, fmt.Errorf("-retry-jitter %v: want 0 to 1m", o.jitter)
	}
	if o.backoff && (o.rate > 0 || o.mode == "sign") {
		return o, errors.New("-retry-after goes with a closed-loop HTTP run (no -rate, not -mode sign)")
	}
	if o.rate < 0 || (o.rate > 0 && o.mode == "sign") {
		return o, fmt.Errorf("-rate %v: want a positive rate of HTTP requests", o.rate)
	}
	if o.pid < 0 || (o.pid > 0 && o.mode == "sign") {
		return o, fmt.Errorf("-server-pid %d: want the process ID of the HTTP server measured", o.pid)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout %v: must be positive", o.timeout)
	}
	if o.mode == "visitors" {
		if o.visitors < 1 || o.loads < 1 || int64(o.visitors)*int64(o.loads) > 10_000_000 {
			return o, fmt.Errorf("-visitors %d -loads %d: want at least 1 each and at most 10 000 000 loads", o.visitors, o.loads)
		}
	}
	if o.prime && o.mode != "returning" {
		return o, errors.New("-prime goes with -mode returning")
	}
	if o.mode == "returning" && strings.ContainsAny(o.cookie, "\r\n") {
		return o, errors.New("-cookie: must be one header line")
	}
	return o, nil
}

// checkLoopback refuses a URL whose host is not a loopback address: this
// tool must not load anyone else's server.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("URL %q: host %q is not a loopback address; loadgen only loads servers on this machine (127.0.0.1, ::1, localhost)", raw, host)
	}
	return nil
}

// loopbackDial dials like net.Dialer but closes any connection whose peer is
// not a loopback address (a "localhost" that resolves elsewhere).
func loopbackDial(dials *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
			conn.Close()
			return nil, fmt.Errorf("dial %s: peer %v is not a loopback address", addr, conn.RemoteAddr())
		}
		dials.Add(1)
		return stamped(conn), nil
	}
}

// Latency is a set of quantiles in milliseconds, as written to -json.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func latencyOf(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Latency{
		Count: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}
}

// Result is one run, as one JSON line of -json.
type Result struct {
	Time     string   `json:"time"`
	Label    string   `json:"label,omitempty"`
	Round    int      `json:"round,omitempty"`
	Mode     string   `json:"mode"`
	URL      string   `json:"url,omitempty"`
	Conns    int      `json:"conns"`
	Rate     float64  `json:"rate,omitempty"`
	Seconds  float64  `json:"seconds"`
	Requests int64    `json:"requests"`
	RPS      float64  `json:"rps"`
	OKRPS    float64  `json:"ok_rps"`
	Latency  Latency  `json:"latency_ms"`
	Refused  *Latency `json:"refused_latency_ms,omitempty"`
	// Arrival and RefusedArrival are Latency and Refused ended at the
	// kernel's receive time of each answer (Linux, SO_TIMESTAMPNS): what a
	// client on cores of its own would measure. Nil where unknown.
	Arrival        *Latency         `json:"arrival_latency_ms,omitempty"`
	RefusedArrival *Latency         `json:"refused_arrival_latency_ms,omitempty"`
	Status         map[string]int64 `json:"status,omitempty"`
	Errors         int64            `json:"errors"`
	ErrorKinds     map[string]int64 `json:"error_kinds,omitempty"`
	BadBodies      int64            `json:"bad_bodies,omitempty"`
	Dials          int64            `json:"dials,omitempty"`
	SameToken      int64            `json:"same_token,omitempty"`
	Incomplete     bool             `json:"incomplete,omitempty"`
	GoVersion      string           `json:"go"`
	Experiment     string           `json:"goexperiment,omitempty"`
	GOMAXPROCS     int              `json:"gomaxprocs"`
	ServerRSS      *ServerRSS       `json:"server_rss_kb,omitempty"` // -server-pid
	ClientCPU      float64          `json:"client_cpu_us_per_req,omitempty"`
	ServerCPU      float64          `json:"server_cpu_us_per_req,omitempty"` // -server-pid
}

// tally is one worker's counts; merged at the end.
type tally struct {
	ok, refused Histogram
	// okArr and refusedArr end at the kernel's receive time of the answer
	// (response.arrived), not when this process read it.
	okArr, refusedArr Histogram
	requests          int64
	status            map[int]int64
	errs              map[string]int64
	badBodies         int64
	sameToken         int64
}

func newTally() *tally { return &tally{status: map[int]int64{}, errs: map[string]int64{}} }

func (t *tally) merge(o *tally) {
	t.ok.Merge(&o.ok)
	t.refused.Merge(&o.refused)
	t.okArr.Merge(&o.okArr)
	t.refusedArr.Merge(&o.refusedArr)
	t.requests += o.requests
	for k, v := range o.status {
		t.status[k] += v
	}
	for k, v := range o.errs {
		t.errs[k] += v
	}
	t.badBodies += o.badBodies
	t.sameToken += o.sameToken
}

// errKind names a transport error briefly, for the error counts.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, errMalformed):
		return "malformed" // an answer that is not HTTP/1.x
	}
	return "other"
}

// visitor is one browser of visitors mode: its cookies and last token.
type visitor struct {
	mu      sync.Mutex
	cookies map[string]string
	hdr     []byte // the Cookie header of cookies, built when they change
	last    uint64 // maphash of the last token (0: none yet); not the token, 1 kB a visitor
}

// tokenSeed hashes visitors' tokens: [visitor.last] keeps a 64-bit hash,
// so 10 000 visitors do not keep 10 MB of tokens alive in the client's heap
// (its garbage collector's work, on the server's cores). Two different
// tokens hash alike with probability 2^-64.
var tokenSeed = maphash.MakeSeed()

// seen records token as v's latest and reports whether it repeats the one
// before.
func (v *visitor) seen(token []byte) bool {
	h := maphash.Bytes(tokenSeed, token) | 1 // never 0, "none yet"
	same := v.last == h
	v.last = h
	return same
}

// header returns the Cookie header a browser would send: the cookies by
// name, "; " between them.
func (v *visitor) header() []byte {
	if v.hdr != nil || len(v.cookies) == 0 {
		return v.hdr
	}
	names := make([]string, 0, len(v.cookies))
	for n := range v.cookies {
		names = append(names, n)
	}
	slices.Sort(names)
	v.hdr = []byte{}
	for i, n := range names {
		if i > 0 {
			v.hdr = append(v.hdr, "; "...)
		}
		v.hdr = append(append(append(v.hdr, n...), '='), v.cookies[n]...)
	}
	return v.hdr
}

// update applies an answer's Set-Cookie values, as a browser would
// (RFC 6265, 5.3): a cookie is set or replaced, or removed by a Max-Age of
// zero or less or, without Max-Age, an Expires in the past. Values
// http.ParseSetCookie refuses are ignored, as by http.Response.Cookies.
func (v *visitor) update(setCookies []string) {
	for _, line := range setCookies {
		if !v.renews(line) {
			v.apply(line)
		}
	}
}

// apply is update for one Set-Cookie line, the general way.
func (v *visitor) apply(line string) {
	c, err := http.ParseSetCookie(line)
	if err != nil {
		return
	}
	v.hdr = nil
	if c.MaxAge < 0 || (c.MaxAge == 0 && !c.Expires.IsZero() && c.Expires.Before(time.Now())) {
		delete(v.cookies, c.Name)
		return
	}
	v.cookies[c.Name] = c.Value
}

// renews reports whether line only renews a cookie v has with the same
// value: its name=value is one v holds and its one Max-Age is a positive
// number of seconds (which wins over Expires), so applying it changes
// nothing v sends. It is the common answer (webchatid renews its cookie on
// every token) and costs no allocation; anything else is left to
// http.ParseSetCookie.
func (v *visitor) renews(line string) bool {
	pair, attrs, _ := strings.Cut(line, ";")
	name, value, ok := strings.Cut(pair, "=")
	if !ok || !plainCookie(name, value) {
		return false
	}
	if have, ok := v.cookies[name]; !ok || have != value {
		return false
	}
	positive := false
	for attrs != "" {
		var a string
		a, attrs, _ = strings.Cut(attrs, ";")
		k, val, _ := strings.Cut(strings.TrimSpace(a), "=")
		if !strings.EqualFold(k, "max-age") {
			continue
		}
		if positive || val == "" || val[0] < '1' || val[0] > '9' {
			return false // twice, or zero, negative or malformed: the general path decides
		}
		for _, c := range val {
			if c < '0' || c > '9' {
				return false
			}
		}
		positive = true
	}
	return positive
}

// plainCookie reports whether name is a non-empty token and value is
// made of cookie-octets only (no quotes, spaces, commas, semicolons or
// backslashes), so that http.ParseSetCookie takes both as they are.
func plainCookie(name, value string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	for i := range len(value) {
		c := value[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// primeCookie sends one request with o.cookie and returns the Cookie header
// a browser would send next: o.cookie's cookies, replaced or removed by the
// answer's Set-Cookie. A server that binds its anonymous ID to a MAC
// (webchatid with binding keys) refuses a made-up cookie and sets its own;
// sending that one back is what a returning browser does.
func primeCookie(ctx context.Context, o options) (string, error) {
	v := visitor{cookies: map[string]string{}}
	for _, c := range strings.Split(o.cookie, ";") {
		if name, value, ok := strings.Cut(strings.TrimSpace(c), "="); ok {
			v.cookies[name] = value
		}
	}
	resp, err := getOnce(ctx, o.url, o.cookie, o.timeout)
	if err != nil {
		return "", fmt.Errorf("returning mode: the first request: %w", err)
	}
	if resp.status != http.StatusOK {
		return "", fmt.Errorf("returning mode: the first request got %d %s", resp.status, http.StatusText(resp.status))
	}
	v.update(resp.setCookies)
	return string(v.header()), nil
}

// appendAnonCookie appends a well-formed anonymous-ID cookie with a random
// UUID v4 to dst, as fresh-visitors.lua makes them (math/rand: this is
// load, not an identifier anyone relies on).
func appendAnonCookie(dst []byte, r *mrand.Rand) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, "ANONYMOUS-USER-ID=anon-"...)
	var b [36]byte
	for i := range b {
		b[i] = hex[r.IntN(16)]
	}
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	b[14] = '4'
	b[19] = "89ab"[r.IntN(4)]
	return append(dst, b[:]...)
}

// retryPause is how long a connection answered Retry-After: seconds waits
// before its next request: that (at most 30 s), then a random part of
// jitter, as webchatid.js waits after Retry-After.
func retryPause(seconds int, jitter time.Duration, rng *mrand.Rand) time.Duration {
	d := time.Duration(min(seconds, 30)) * time.Second
	if jitter > 0 {
		d += time.Duration(rng.Int64N(int64(jitter)))
	}
	return d
}

// looksLikeJWT reports whether body is three dot-separated non-empty parts.
func looksLikeJWT(body []byte) bool {
	body = bytes.TrimSpace(body)
	a, rest, ok1 := bytes.Cut(body, []byte("."))
	b, c, ok2 := bytes.Cut(rest, []byte("."))
	return ok1 && ok2 && len(a) > 0 && len(b) > 0 && len(c) > 0 && bytes.IndexByte(c, '.') < 0
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var rss *ServerRSS
	if o.pid > 0 {
		if err := resetPeakRSS(o.pid); err != nil {
			return err
		}
		cur, _, err := procRSS(o.pid)
		if err != nil {
			return err
		}
		rss = &ServerRSS{PID: o.pid, Start: cur}
	}
	var res Result
	if o.mode == "sign" {
		res, err = runSign(ctx, o)
	} else {
		res, err = runHTTP(ctx, o)
	}
	if err != nil {
		return err
	}
	if rss != nil {
		if rss.End, rss.Peak, err = procRSS(o.pid); err != nil {
			return fmt.Errorf("after the run: %w", err)
		}
		res.ServerRSS = rss
	}
	res.Time = time.Now().UTC().Format(time.RFC3339)
	res.Label, res.Round, res.Mode, res.Conns, res.Rate = o.label, o.round, o.mode, o.conns, o.rate
	res.GoVersion, res.GOMAXPROCS = runtime.Version(), runtime.GOMAXPROCS(0)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" {
				res.Experiment = s.Value
			}
		}
	}
	switch {
	case o.quiet:
	case o.brief:
		printBrief(stdout, res)
	default:
		printResult(stdout, res)
	}
	if o.jsonFile != "" {
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(o.jsonFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func runHTTP(ctx context.Context, o options) (Result, error) {
	var dials atomic.Int64
	if o.mode == "returning" && o.prime {
		c, err := primeCookie(ctx, o)
		if err != nil {
			return Result{}, err
		}
		o.cookie = c
	}
	var visitors []visitor
	var order []int32
	total := o.requests
	if o.mode == "visitors" {
		visitors = make([]visitor, o.visitors)
		for i := range visitors {
			visitors[i].cookies = map[string]string{}
		}
		order = make([]int32, 0, o.visitors*o.loads)
		for v := range o.visitors {
			for range o.loads {
				order = append(order, int32(v))
			}
		}
		r := mrand.New(mrand.NewPCG(o.seed, 0x5eed))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		total = int64(len(order))
	}

	start := time.Now()
	measureFrom := start.Add(o.warmup)
	deadline := measureFrom.Add(o.duration)
	meter := startCPUMeter(measureFrom, o.pid)
	defer meter.stop()
	var next atomic.Int64 // measured requests handed out
	var wg sync.WaitGroup
	tallies := make([]*tally, o.conns)
	var firstErr atomic.Pointer[string]
	for i := range o.conns {
		t := newTally()
		tallies[i] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			client, err := newClient(o.url, loopbackDial(&dials), o.timeout, o.mode == "visitors")
			if err != nil {
				s := err.Error()
				firstErr.CompareAndSwap(nil, &s)
				return
			}
			defer client.Close()
			rng := mrand.New(mrand.NewPCG(o.seed, uint64(i)+1))
			var resp response
			var anon []byte // fresh mode's cookie
			returning := []byte(o.cookie)
			var pause time.Duration // -retry-after
			for k := int64(0); ; k++ {
				if pause > 0 {
					select {
					case <-time.After(min(pause, time.Until(deadline))):
					case <-ctx.Done():
						return
					}
					pause = 0
				}
				if ctx.Err() != nil {
					return
				}
				now := time.Now()
				if !now.Before(deadline) {
					return
				}
				due := now
				if o.rate > 0 {
					due = start.Add(time.Duration(float64(k*int64(o.conns)+int64(i)) / o.rate * float64(time.Second)))
					if due.After(deadline) {
						return
					}
					if wait := time.Until(due); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							return
						}
					}
				}
				measured := !due.Before(measureFrom)
				var idx int64 = -1
				if measured && total > 0 {
					idx = next.Add(1) - 1
					if idx >= total {
						return
					}
				}
				var v *visitor
				var cookie []byte
				switch o.mode {
				case "fresh":
					anon = appendAnonCookie(anon[:0], rng)
					cookie = anon
				case "returning":
					cookie = returning
				case "visitors":
					v = &visitors[order[idx]]
					v.mu.Lock() // one browser loads one page at a time
					cookie = v.header()
				}
				sent := time.Now()
				if o.rate == 0 {
					due = sent
				}
				err := client.do(ctx, cookie, &resp)
				lat := time.Since(due)
				refused := resp.status == http.StatusServiceUnavailable || resp.status == http.StatusTooManyRequests
				if o.backoff && err == nil && refused && resp.retryAfter > 0 {
					pause = retryPause(resp.retryAfter, o.jitter, rng) // waited before the next request
				}
				if v != nil {
					if err == nil {
						v.update(resp.setCookies)
						if resp.status/100 == 2 && v.seen(resp.body) {
							t.sameToken++
						}
					}
					v.mu.Unlock()
				}
				if !measured {
					continue
				}
				t.requests++
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted: not the server's error
					}
					t.errs[errKind(err)]++
					continue
				}
				t.status[resp.status]++
				switch {
				case resp.status/100 == 2:
					t.ok.Record(lat)
					if resp.arrived != 0 {
						t.okArr.Record(time.Duration(resp.arrived - due.UnixNano()))
					}
					if !looksLikeJWT(resp.body) {
						t.badBodies++
					}
				case refused:
					t.refused.Record(lat)
					if resp.arrived != 0 {
						t.refusedArr.Record(time.Duration(resp.arrived - due.UnixNano()))
					}
				}
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return Result{}, errors.New(*p)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	end := time.Now()
	all := newTally()
	for _, t := range tallies {
		all.merge(t)
	}
	elapsed := end.Sub(measureFrom).Seconds()
	res := Result{
		URL: o.url, Seconds: elapsed, Requests: all.requests,
		RPS:   float64(all.requests) / elapsed,
		OKRPS: float64(all.ok.Count()) / elapsed, Latency: latencyOf(&all.ok),
		Status: map[string]int64{}, ErrorKinds: all.errs, BadBodies: all.badBodies,
		Dials: dials.Load(), SameToken: all.sameToken,
		Incomplete: total > 0 && all.requests < total,
	}
	for code, n := range all.status {
		res.Status[strconv.Itoa(code)] = n
	}
	for _, n := range all.errs {
		res.Errors += n
	}
	if all.refused.Count() > 0 {
		l := latencyOf(&all.refused)
		res.Refused = &l
	}
	if all.okArr.Count() > 0 {
		l := latencyOf(&all.okArr)
		res.Arrival = &l
	}
	if all.refusedArr.Count() > 0 {
		l := latencyOf(&all.refusedArr)
		res.RefusedArrival = &l
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	if err := meter.finish(&res); err != nil {
		return Result{}, err
	}
	return res, nil
}

// runSign measures bare RSA-2048 signing on o.conns goroutines: what the
// token endpoint could at best reach on this machine.
func runSign(ctx context.Context, o options) (Result, error) {
	key, err := signingKey(o.keyFile)
	if err != nil {
		return Result{}, err
	}
	input := []byte(strings.Repeat("x", 420)) // about a token's header.payload
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	deadline := measureFrom.Add(o.duration)
	meter := startCPUMeter(measureFrom, 0)
	defer meter.stop()
	var next atomic.Int64
	tallies := make([]*tally, o.conns)
	errc := make(chan error, o.conns)
	var wg sync.WaitGroup
	for i := range o.conns {
		t := newTally()
		tallies[i] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(deadline) {
					return
				}
				measured := !now.Before(measureFrom)
				if measured && o.requests > 0 && next.Add(1) > o.requests {
					return
				}
				sum := sha256.Sum256(input)
				if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
					errc <- err
					return
				}
				if measured {
					t.requests++
					t.ok.Record(time.Since(now))
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	all := newTally()
	for _, t := range tallies {
		all.merge(t)
	}
	elapsed := time.Since(measureFrom).Seconds()
	res := Result{
		Seconds: elapsed, Requests: all.requests, RPS: float64(all.requests) / elapsed,
		OKRPS: float64(all.requests) / elapsed, Latency: latencyOf(&all.ok),
	}
	return res, meter.finish(&res)
}

func signingKey(file string) (*rsa.PrivateKey, error) {
	if file == "" {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("-key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("-key %s: no PEM block", file)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("-key %s: %w", file, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("-key %s: %T is not an RSA key", file, k)
	}
	return rk, nil
}

// printBrief prints r on one line: label, mode, connections, ok/s,
// p50/p99/max, and what went wrong, if anything.
func printBrief(w io.Writer, r Result) {
	name := r.Label
	if name == "" {
		name = r.URL
	}
	fmt.Fprintf(w, "  %-34s %-9s c%-4d %7.0f ok/s  p50 %7.2fms  p99 %8.2fms  max %8.2fms", name, r.Mode, r.Conns, r.OKRPS, r.Latency.P50, r.Latency.P99, r.Latency.Max)
	if f := r.Refused; f != nil {
		fmt.Fprintf(w, "  refused %d (p99 %.2fms)", f.Count, f.P99)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "  errors %d", r.Errors)
	}
	if r.BadBodies > 0 {
		fmt.Fprintf(w, "  bad-bodies %d", r.BadBodies)
	}
	if other := r.Requests - int64(r.Latency.Count) - r.Errors - refusedCount(r); other > 0 {
		fmt.Fprintf(w, "  other-status %d", other)
	}
	if r.Mode == "visitors" {
		fmt.Fprintf(w, "  same-token %d", r.SameToken)
	}
	if m := r.ServerRSS; m != nil {
		fmt.Fprintf(w, "  peak-rss %s (from %s)", mb(m.Peak), mb(m.Start))
	}
	if r.ClientCPU > 0 {
		fmt.Fprintf(w, "  cpu/req client %.0fµs", r.ClientCPU)
	}
	if r.ServerCPU > 0 || r.ServerRSS != nil {
		fmt.Fprintf(w, " server %.0fµs", r.ServerCPU)
	}
	if r.Incomplete {
		fmt.Fprint(w, "  INCOMPLETE")
	}
	fmt.Fprintln(w)
}

func refusedCount(r Result) int64 {
	if r.Refused == nil {
		return 0
	}
	return int64(r.Refused.Count)
}

func printResult(w io.Writer, r Result) {
	target := r.URL
	if r.Mode == "sign" {
		target = "rsa.SignPKCS1v15 RSA-2048"
	}
	fmt.Fprintf(w, "%s  mode=%s  c=%d  %.1fs", target, r.Mode, r.Conns, r.Seconds)
	if r.Rate > 0 {
		fmt.Fprintf(w, "  rate=%.0f/s (open loop)", r.Rate)
	}
	if r.Experiment != "" {
		fmt.Fprintf(w, "  GOEXPERIMENT=%s", r.Experiment)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %d requests  %.1f req/s  %.1f ok/s\n", r.Requests, r.RPS, r.OKRPS)
	l := r.Latency
	fmt.Fprintf(w, "  latency (ok)     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms  mean %.2fms\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	if f := r.Refused; f != nil {
		fmt.Fprintf(w, "  latency (refused) p50 %.2fms  p99 %.2fms  max %.2fms  (%d answers 503/429)\n", f.P50, f.P99, f.Max, f.Count)
	}
	if a := r.Arrival; a != nil {
		fmt.Fprintf(w, "  arrived (ok)     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms  (kernel receive time)\n", a.P50, a.P90, a.P99, a.P999, a.Max)
	}
	if a := r.RefusedArrival; a != nil {
		fmt.Fprintf(w, "  arrived (refused) p50 %.2fms  p99 %.2fms  max %.2fms\n", a.P50, a.P99, a.Max)
	}
	if len(r.Status) > 0 {
		codes := make([]string, 0, len(r.Status))
		for c := range r.Status {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		fmt.Fprint(w, "  status")
		for _, c := range codes {
			fmt.Fprintf(w, "  %s:%d", c, r.Status[c])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  errors %d", r.Errors)
	kinds := make([]string, 0, len(r.ErrorKinds))
	for k := range r.ErrorKinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %s:%d", k, r.ErrorKinds[k])
	}
	if r.BadBodies > 0 {
		fmt.Fprintf(w, "  bad-bodies:%d", r.BadBodies)
	}
	if r.Mode != "sign" {
		fmt.Fprintf(w, "  connections-dialled %d", r.Dials)
	}
	if r.Mode == "visitors" {
		fmt.Fprintf(w, "  same-token-as-before %d", r.SameToken)
	}
	if r.Incomplete {
		fmt.Fprint(w, "  INCOMPLETE (-d reached)")
	}
	fmt.Fprintln(w)
	if m := r.ServerRSS; m != nil {
		fmt.Fprintf(w, "  server pid %d: peak RSS %s during the run (VmHWM; %s at the start, %s at the end)\n", m.PID, mb(m.Peak), mb(m.Start), mb(m.End))
	}
	if r.ClientCPU > 0 || r.ServerCPU > 0 {
		fmt.Fprintf(w, "  CPU per request  loadgen %.1fµs", r.ClientCPU)
		if r.ServerCPU > 0 || r.ServerRSS != nil {
			fmt.Fprintf(w, "  server %.1fµs", r.ServerCPU)
		}
		fmt.Fprintln(w)
	}
}

// mb formats kB as MB (MiB, as /proc counts) with one decimal.
func mb(kb int64) string { return strconv.FormatFloat(float64(kb)/1024, 'f', 1, 64) + "MB" }
