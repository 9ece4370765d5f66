package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
	"github.com/webchatid/webchatid/internal/logbuf"
	"github.com/webchatid/webchatid/internal/pgtest"
	"github.com/webchatid/webchatid/internal/testpeer"
)

// The replica tier: three demo processes that share their key files and one
// PostgreSQL ledger (which also keeps revoked sessions), behind a
// round-robin reverse proxy, must act as one server. DEPLOYING.md describes
// the deployment this test builds.
//
// Every wait is on a condition (a readiness probe, a kid, a count) with a
// deadline generous enough for a loaded machine; nothing is timed.

// fleetDeadline bounds every wait of the tier.
const fleetDeadline = 2 * time.Minute

const fleetReplicas = 3

// A fleet is the three replicas, their proxy and what the test was told.
type fleet struct {
	t        *testing.T
	dsn      string
	db       *sql.DB
	replicas []*replica
	proxy    *fleetProxy
	url      string // the proxy's, with a trailing slash
	payload  *rsa.PrivateKey
	currentK string // kid of the key the fleet starts signing with
	nextK    string // kid of the key rotated to
	rotates  bool   // the demo reloads keys on SIGHUP (-key repeatable)

	mu    sync.Mutex
	acked map[string]bool    // every sub a client received
	links map[[2]string]bool // every (sub, custom user) a logged-in client received
}

type replica struct {
	i     int
	url   string // with a trailing slash
	cmd   *exec.Cmd
	done  chan error
	logs  *logbuf.Buffer
	dir   string // its key directory, laid out as a Kubernetes secret mount
	alive bool
}

func TestFleet(t *testing.T) {
	base := os.Getenv("WEBCHATID_TEST_POSTGRES_DSN")
	if base == "" {
		testpeer.Missing(t, "the replica tier needs PostgreSQL: set WEBCHATID_TEST_POSTGRES_DSN (eval \"$(.ci/postgres.sh start)\"; .ci/run does)")
	}
	f := startFleet(t, base)

	t.Run("tokens verify with every replica's JWKS and keep one sub", f.testOneSub)
	t.Run("login on A, token from B, logout on C", f.testLoginAcrossReplicas)
	t.Run("50 concurrent clients write each ID and link once", f.testConcurrentClients)
	t.Run("key rotation rolled through the replicas", f.testRotation)
	t.Run("a replica killed mid-load", f.testKill)
}

// startFleet builds the demo, writes the shared key files and starts the
// replicas on a fresh schema of the PostgreSQL server base names.
func startFleet(t *testing.T, base string) *fleet {
	dir := t.TempDir()
	bin := filepath.Join(dir, "webchat")
	build := exec.Command("go", "build", "-o", bin, ".")
	if raceBuild { // a data race in a replica then fails the test (exit status 66)
		build.Args = append(build.Args[:2], append([]string{"-race"}, build.Args[2:]...)...)
	}
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help, _ := exec.Command(bin, "-h").CombinedOutput()

	f := &fleet{t: t, acked: map[string]bool{}, links: map[[2]string]bool{}}
	f.rotates = bytes.Contains(help, []byte("-watch-interval"))
	f.dsn, f.db = freshSchema(t, base)

	// Shared secrets: the signing key and the next one, the binding key
	// (anonymous IDs verify on every replica) and the session key (logins
	// open on every replica).
	current, err := os.ReadFile("testdata/signing-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	next := newKeyPEM(t)
	f.currentK, f.nextK = pemKeyID(t, current), pemKeyID(t, next)
	binding, session := filepath.Join(dir, "binding.key"), filepath.Join(dir, "session.key")
	for _, p := range []string{binding, session} {
		if err := os.WriteFile(p, randomBytes(t, 32), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if f.payload, err = loadRSA("testdata/standin-ibm-key.pem"); err != nil {
		t.Fatal(err)
	}

	for i := range fleetReplicas {
		r := &replica{i: i, dir: filepath.Join(dir, fmt.Sprintf("replica-%d", i)), logs: &logbuf.Buffer{}}
		// Each replica has its own mount of the key secret, as each pod
		// has: a rollout changes them one at a time.
		writeSecretMount(t, r.dir, "..v0", current, next)
		args := []string{"-addr", "127.0.0.1:0", "-key", filepath.Join(r.dir, "active.pem")}
		if f.rotates {
			args = append(args, "-key", filepath.Join(r.dir, "published.pem"))
		}
		args = append(args, "-binding-key", binding, "-session-key", session,
			"-standin-key", "testdata/standin-ibm-key.pem", "-ledger", f.dsn,
			// Admission stays on, but this tier checks that replicas act
			// as one, not shedding: on a loaded CI machine under -race a
			// signature can take tens of milliseconds, and 50 clients
			// queued behind two slots would exceed the default 100 ms wait.
			"-admission-max-wait", "2m")
		f.start(r, bin, args)
		f.replicas = append(f.replicas, r)
	}
	for _, r := range f.replicas {
		f.waitReady(t, r)
	}
	f.proxy = newFleetProxy(f.replicas)
	srv := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "fleet" },
		Transport: f.proxy,
	})
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range f.replicas {
				t.Logf("replica %d log:\n%s", r.i, r.logs)
			}
		}
	})
	return f
}

// start runs one replica and waits for the URL it prints.
func (f *fleet) start(r *replica, bin string, args []string) {
	t := f.t
	r.cmd = exec.Command(bin, args...)
	r.cmd.Stderr = r.logs
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.alive = true
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(r.logs, line)
			if _, rest, ok := strings.Cut(line, "open "); ok && strings.HasPrefix(rest, "http://") {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urlc <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	r.done = make(chan error, 1)
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if !r.alive {
			return
		}
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("replica %d exited with %v after SIGTERM", r.i, err)
			}
		case <-time.After(fleetDeadline):
			_ = r.cmd.Process.Kill()
			<-r.done
			t.Errorf("replica %d did not stop on SIGTERM", r.i)
		}
	})
	select {
	case r.url = <-urlc:
	case err := <-r.done:
		r.alive = false
		t.Fatalf("replica %d exited at start: %v\n%s", r.i, err, r.logs)
	case <-time.After(fleetDeadline):
		t.Fatalf("replica %d printed no URL\n%s", r.i, r.logs)
	}
}

// waitReady waits until the replica's /readyz answers 200.
func (f *fleet) waitReady(t *testing.T, r *replica) {
	t.Helper()
	f.waitFor(t, fmt.Sprintf("replica %d ready", r.i), func() bool {
		res, err := http.Get(r.url + "readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// waitFor polls cond until it holds, failing the test at fleetDeadline.
func (f *fleet) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(fleetDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freshSchema returns a DSN whose search_path is a new schema (dropped at
// the end) and a handle on it for the test's own queries.
func freshSchema(t *testing.T, base string) (string, *sql.DB) {
	t.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		t.Fatal("WEBCHATID_TEST_POSTGRES_DSN must be a postgres:// URL (the demo's -ledger takes only those)")
	}
	dsn := pgtest.Schema(t, "webchatid_fleet_")
	db, err := sql.Open(postgres.DriverName, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// writeSecretMount lays out dir as Kubernetes mounts a secret: the files
// are symlinks through ..data, a symlink to a versioned directory, so one
// rename swaps every file at once.
func writeSecretMount(t *testing.T, dir, version string, active, published []byte) {
	t.Helper()
	v := filepath.Join(dir, version)
	if err := os.MkdirAll(v, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"active.pem": active, "published.pem": published} {
		if err := os.WriteFile(filepath.Join(v, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"active.pem", "published.pem"} {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
}

// A fleetProxy is the load balancer: round robin over the live replicas. A
// request whose connection fails goes to the next replica (it had no body,
// so it can be sent again), and a replica that refuses connections is
// marked down, as a load balancer's passive health check does. The header X-Fleet-Pin: N
// sends a request to replica N; answers carry X-Fleet-Replica: N.
type fleetProxy struct {
	backends []string // host:port
	down     []atomic.Bool
	next     atomic.Uint64
	base     http.RoundTripper
}

func newFleetProxy(rs []*replica) *fleetProxy {
	p := &fleetProxy{down: make([]atomic.Bool, len(rs)), base: http.DefaultTransport}
	for _, r := range rs {
		u, _ := neturl.Parse(r.url)
		p.backends = append(p.backends, u.Host)
	}
	return p
}

func (p *fleetProxy) RoundTrip(req *http.Request) (*http.Response, error) {
	if pin := req.Header.Get("X-Fleet-Pin"); pin != "" {
		i, err := strconv.Atoi(pin)
		if err != nil || i < 0 || i >= len(p.backends) {
			return nil, fmt.Errorf("bad X-Fleet-Pin %q", pin)
		}
		return p.send(i, req)
	}
	start := p.next.Add(1)
	err := errors.New("fleet proxy: every replica is down")
	for k := range uint64(len(p.backends)) {
		i := int((start + k) % uint64(len(p.backends)))
		if p.down[i].Load() {
			continue
		}
		var res *http.Response
		if res, err = p.send(i, req); err == nil {
			return res, nil
		}
		if req.Body != nil && req.Body != http.NoBody {
			return nil, err
		}
		// A refused connection: the process is gone. (A connection cut
		// mid-request is retried elsewhere but not yet marked down.)
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "dial" {
			p.down[i].Store(true)
		}
	}
	return nil, err
}

func (p *fleetProxy) send(i int, req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Del("X-Fleet-Pin")
	out.URL.Host, out.Host = p.backends[i], p.backends[i]
	res, err := p.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	res.Header.Set("X-Fleet-Replica", strconv.Itoa(i))
	return res, nil
}

// A visitor is a browser: a cookie jar on the proxy's site.
type visitor struct {
	f      *fleet
	client *http.Client
}

func (f *fleet) newVisitor() *visitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // cookiejar.New(nil) never fails
	}
	return &visitor{f: f, client: &http.Client{Jar: jar}}
}

// do sends a request through the proxy, to replica pin (-1: round robin),
// and returns the status, the body and the replica that answered.
func (v *visitor) do(method, path string, pin int) (int, string, int, error) {
	req, err := http.NewRequest(method, v.f.url+path, nil)
	if err != nil {
		return 0, "", 0, err
	}
	if pin >= 0 {
		req.Header.Set("X-Fleet-Pin", strconv.Itoa(pin))
	}
	res, err := v.client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", 0, err
	}
	replica, _ := strconv.Atoi(res.Header.Get("X-Fleet-Replica"))
	return res.StatusCode, string(b), replica, nil
}

// issued is a token a visitor received, read with the stand-in IBM's key.
type issued struct {
	raw, sub, kid, user string // user: user_payload's custom_user_id
	replica             int
}

// token asks for a token (through replica pin, -1 for round robin) and
// notes its sub, and its link when logged in, as acknowledged.
func (v *visitor) token(pin int) (issued, error) {
	status, body, replica, err := v.do("GET", "createJWT", pin)
	if err != nil {
		return issued{}, err
	}
	if status != http.StatusOK {
		return issued{}, fmt.Errorf("GET /createJWT: status %d: %s", status, body)
	}
	in, err := claims.Inspect(body, claims.WithPayloadKey(v.f.payload))
	if err != nil {
		return issued{}, fmt.Errorf("reading a token: %w", err)
	}
	var p struct {
		CustomUserID string `json:"custom_user_id"`
		Name         string `json:"name"`
	}
	if err := json.Unmarshal(in.UserPayload, &p); err != nil {
		return issued{}, fmt.Errorf("user_payload: %w", err)
	}
	tok := issued{raw: body, replica: replica}
	tok.sub, _ = in.Claims["sub"].(string)
	tok.kid, _ = in.Header["kid"].(string)
	if p.Name != "Anonymous" {
		tok.user = p.CustomUserID
	}
	v.f.mu.Lock()
	v.f.acked[tok.sub] = true
	if tok.user != "" {
		v.f.links[[2]string{tok.sub, tok.user}] = true
	}
	v.f.mu.Unlock()
	return tok, nil
}

func (v *visitor) mustToken(t *testing.T, pin int) issued {
	t.Helper()
	tok, err := v.token(pin)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (v *visitor) post(path string, pin int) error {
	status, body, _, err := v.do("POST", path, pin)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		return fmt.Errorf("POST /%s: status %d: %s", path, status, body)
	}
	return nil
}

// jwks fetches one replica's key set, straight from the replica.
func (f *fleet) jwks(r *replica) (jwk.Set, error) {
	res, err := http.Get(r.url + ".well-known/jwks.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return jwk.Parse(b)
}

// union is the set of every key the live replicas publish.
func (f *fleet) union() (jwk.Set, error) {
	u := jwk.NewSet()
	seen := map[string]bool{}
	for _, r := range f.replicas {
		if !r.alive {
			continue
		}
		s, err := f.jwks(r)
		if err != nil {
			return nil, err
		}
		for i := range s.Len() {
			k, _ := s.Key(i)
			if !seen[k.KeyID()] {
				seen[k.KeyID()] = true
				if err := u.AddKey(k); err != nil {
					return nil, err
				}
			}
		}
	}
	return u, nil
}

func (f *fleet) testOneSub(t *testing.T) {
	v := f.newVisitor()
	first := v.mustToken(t, 0)
	for i, r := range f.replicas {
		tok := v.mustToken(t, i)
		if tok.replica != i {
			t.Fatalf("pinned to replica %d, answered by %d", i, tok.replica)
		}
		if tok.sub != first.sub {
			t.Errorf("replica %d: sub %q, want %q as on replica 0 (binding key not shared?)", i, tok.sub, first.sub)
		}
		for _, other := range f.replicas {
			set, err := f.jwks(other)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := claims.Verify(tok.raw, set); err != nil {
				t.Errorf("token from replica %d with replica %d's JWKS: %v", r.i, other.i, err)
			}
		}
	}
}

func (f *fleet) testLoginAcrossReplicas(t *testing.T) {
	const a, b, c = 0, 1, 2
	v := f.newVisitor()
	anon := v.mustToken(t, a)
	if err := v.post("authenticate", a); err != nil {
		t.Fatal(err)
	}
	stolen := v.client.Jar.Cookies(mustURL(t, f.url)) // a copy taken before logout

	in := v.mustToken(t, b)
	if in.user != "cade-id" || in.sub != anon.sub {
		t.Fatalf("token from B after login on A: user %q sub %q, want cade-id and %q", in.user, in.sub, anon.sub)
	}
	if err := v.post("logout", c); err != nil {
		t.Fatal(err)
	}
	for _, pin := range []int{a, b, c} {
		if out := v.mustToken(t, pin); out.user != "" || out.sub != anon.sub {
			t.Errorf("token from replica %d after logout on C: user %q sub %q, want anonymous with %q", pin, out.user, out.sub, anon.sub)
		}
	}

	// The copied cookies replayed, on every replica: revocation is shared.
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(t, f.url), stolen)
	thief := &visitor{f: f, client: &http.Client{Jar: jar}}
	for _, pin := range []int{a, b, c} {
		if tok := thief.mustToken(t, pin); tok.user != "" {
			t.Errorf("replica %d honours the session cookie copied before logout: user %q", pin, tok.user)
		}
	}
}

func mustURL(t *testing.T, s string) *neturl.URL {
	t.Helper()
	u, err := neturl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fleet) testConcurrentClients(t *testing.T) {
	const clients = 50
	subs := make([]string, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for n := range clients {
		wg.Go(func() {
			v := f.newVisitor()
			// Round robin: the ID is minted on one replica and recorded
			// again by the others, all at once across the clients.
			for range fleetReplicas {
				tok, err := v.token(-1)
				if err != nil {
					errs <- err
					return
				}
				if subs[n] == "" {
					subs[n] = tok.sub
				} else if tok.sub != subs[n] {
					errs <- fmt.Errorf("client %d: sub changed from %q to %q", n, subs[n], tok.sub)
					return
				}
			}
			if err := v.post("authenticate", -1); err != nil {
				errs <- err
				return
			}
			for range fleetReplicas {
				tok, err := v.token(-1)
				if err != nil {
					errs <- err
					return
				}
				if tok.user != "cade-id" || tok.sub != subs[n] {
					errs <- fmt.Errorf("client %d logged in: user %q sub %q", n, tok.user, tok.sub)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	ids := f.count(t, `SELECT COUNT(*) FROM webchatid_anonymous_ids WHERE anonymous_id = ANY($1)`, subs)
	links := f.count(t, `SELECT COUNT(*) FROM webchatid_links WHERE custom_user_id = 'cade-id' AND anonymous_id = ANY($1)`, subs)
	if ids != clients || links != clients {
		t.Errorf("ledger: %d IDs and %d links for the %d clients, want %d of each", ids, links, clients, clients)
	}
	// No row but those some client received: no replica minted a second
	// ID for a visitor another replica knew.
	f.mu.Lock()
	acked, ackedLinks := len(f.acked), len(f.links)
	f.mu.Unlock()
	if all := f.count(t, `SELECT COUNT(*) FROM webchatid_anonymous_ids`); all != acked {
		t.Errorf("ledger holds %d IDs, clients received %d", all, acked)
	}
	if all := f.count(t, `SELECT COUNT(*) FROM webchatid_links`); all != ackedLinks {
		t.Errorf("ledger holds %d links, clients received %d", all, ackedLinks)
	}
}

func (f *fleet) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// testRotation rolls a new signing key through the replicas the way a
// secret update reaches pods: one replica at a time, by file swap, no
// restart. Zero failed verifications is possible because the next key was
// published by every replica before any replica signed with it (each
// starts with -key active.pem -key published.pem, published.pem holding
// the next key), and the rotation swaps the two (active: next, published:
// the old key), so tokens of unrotated replicas keep verifying everywhere.
// A verifier holding a copy of the JWKS from before the rollout (a cache)
// verifies every token too. The old key leaves in a later rollout, once the
// last token it signed has expired (DEPLOYING.md).
func (f *fleet) testRotation(t *testing.T) {
	if !f.rotates {
		testpeer.Missing(t, "the demo does not reload its keys (no -watch-interval flag, no repeatable -key): the rotation branch adds that; this step runs once it is merged")
	}
	before, err := f.union()
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{f.currentK, f.nextK} {
		if _, ok := before.LookupKeyID(kid); !ok {
			t.Fatalf("before the rollout the fleet's JWKS lacks %s: the next key must be published first", kid)
		}
	}

	var (
		iterations atomic.Int64
		mu         sync.Mutex
		failures   []string
		kids       = map[string]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		v := f.newVisitor()
		for {
			select {
			case <-stop:
				return
			default:
			}
			tok, err := v.token(-1)
			if err != nil {
				fail("token: %v", err)
				continue
			}
			mu.Lock()
			kids[tok.kid]++
			mu.Unlock()
			if _, err := claims.Verify(tok.raw, before); err != nil {
				fail("token of replica %d (kid %s) with the JWKS from before the rollout: %v", tok.replica, tok.kid, err)
			}
			now, err := f.union()
			if err != nil {
				fail("JWKS: %v", err)
			} else if _, err := claims.Verify(tok.raw, now); err != nil {
				fail("token of replica %d (kid %s) with the replicas' JWKS: %v", tok.replica, tok.kid, err)
			}
			iterations.Add(1)
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()

	f.waitFor(t, "tokens before the rollout", func() bool { return iterations.Load() >= 5 })
	for _, r := range f.replicas {
		f.rotate(t, r)
		n := iterations.Load()
		f.waitFor(t, "tokens after a replica rotated", func() bool { return iterations.Load() >= n+5 })
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close

	mu.Lock()
	defer mu.Unlock()
	for _, msg := range failures {
		t.Error(msg)
	}
	if kids[f.currentK] == 0 || kids[f.nextK] == 0 {
		t.Errorf("tokens by kid %v: want some signed with each key (%s, then %s)", kids, f.currentK, f.nextK)
	}
	t.Logf("%d tokens verified during the rollout, by kid: %v", iterations.Load(), kids)
}

// rotate swaps replica r's key files (active: the next key; published: the
// old one) in one rename, sends SIGHUP, and waits until r signs with the
// next key.
func (f *fleet) rotate(t *testing.T, r *replica) {
	t.Helper()
	current, err := os.ReadFile(filepath.Join(r.dir, "active.pem"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := os.ReadFile(filepath.Join(r.dir, "published.pem"))
	if err != nil {
		t.Fatal(err)
	}
	writeSecretMount(t, r.dir, "..v1", next, current)
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	v := f.newVisitor()
	f.waitFor(t, fmt.Sprintf("replica %d signing with %s", r.i, f.nextK), func() bool {
		tok, err := v.token(r.i)
		return err == nil && tok.kid == f.nextK
	})
}

// testKill SIGKILLs one replica while clients keep asking for tokens: the
// proxy skips it, no client sees a failure, and every sub and link a
// client received is in the ledger (a write is acknowledged only after
// PostgreSQL committed it).
func (f *fleet) testKill(t *testing.T) {
	const clients = 8
	var (
		served atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		errs   []error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := range clients {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				v := f.newVisitor() // a new visitor each time: a new ID, a new row
				_, err := v.token(-1)
				if err == nil && (n+k)%4 == 0 {
					if err = v.post("authenticate", -1); err == nil {
						_, err = v.token(-1)
					}
				}
				if err != nil {
					failed.Add(1)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					continue
				}
				served.Add(1)
			}
		})
	}
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer halt()

	f.waitFor(t, "load before the kill", func() bool { return served.Load() >= 40 })
	victim := f.replicas[1]
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	victim.alive = false
	atKill := served.Load()
	f.waitFor(t, "load after the kill", func() bool { return served.Load() >= atKill+60 })
	halt()

	for _, err := range errs {
		t.Errorf("a client saw a failure: %v", err)
	}
	for _, r := range f.replicas {
		if r.alive {
			f.waitReady(t, r)
		}
	}
	rows := map[string]bool{}
	links := map[[2]string]bool{}
	f.scan(t, `SELECT anonymous_id, '' FROM webchatid_anonymous_ids`, func(id, _ string) { rows[id] = true })
	f.scan(t, `SELECT anonymous_id, custom_user_id FROM webchatid_links`, func(id, user string) { links[[2]string{id, user}] = true })
	f.mu.Lock()
	defer f.mu.Unlock()
	lost := 0
	for sub := range f.acked {
		if !rows[sub] {
			lost++
		}
	}
	for l := range f.links {
		if !links[l] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged rows are not in the ledger (of %d IDs and %d links clients received)", lost, len(f.acked), len(f.links))
	}
	t.Logf("%d requests served (%d after the kill), %d failed; %d IDs and %d links acknowledged",
		served.Load(), served.Load()-atKill, failed.Load(), len(f.acked), len(f.links))
}

func (f *fleet) scan(t *testing.T, q string, fn func(a, b string)) {
	t.Helper()
	rows, err := f.db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		fn(a, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newKeyPEM makes the key the fleet rotates to.
func newKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func pemKeyID(t *testing.T, b []byte) string {
	t.Helper()
	k, err := keys.ParsePrivatePEM(b)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := claims.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

func loadRSA(path string) (*rsa.PrivateKey, error) {
	k, err := keys.LoadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New(path + ": not an RSA key")
	}
	return rk, nil
}
