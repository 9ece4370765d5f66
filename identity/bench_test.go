package identity_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

// The token path's budget: everything besides the RSA signature should cost
// under 5 % of it. Compare BenchmarkTokenHandler* with BenchmarkRawSignRS256,
// which is only the signature (rsa.SignPKCS1v15 over the SHA-256 of a
// token-sized input), e.g.
//
//	go test -run '^$' -bench . -benchtime 2s ./identity/

func BenchmarkRawSignRS256(b *testing.B) {
	key := rsaKey(b, keyA)
	input := []byte(strings.Repeat("x", 420)) // about a token's header.payload
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(input)
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimsSign is the claims package alone: build and sign.
func BenchmarkClaimsSign(b *testing.B) {
	signer, err := claims.NewSigner(rsaKey(b, keyA), claims.WithKeyID("k"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, err := claims.NewBuilder().Subject("anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8").
			UserPayload(map[string]string{"name": "Anonymous", "custom_user_id": "anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8"}).
			Sign(signer)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchHandler(b *testing.B, cfg identity.Config, prepare func(*client)) {
	cfg.Reuse.Disabled = true // these measure signing; BenchmarkReuse* the cache
	srv := newServer(b, cfg)
	c := newClient(b, srv)
	prepare(c)
	req := httptest.NewRequest("GET", "/createJWT", nil)
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d", rec.Code)
		}
	}
}

// BenchmarkTokenHandler is a returning anonymous visitor: cookie check and
// renewal, claims, signature, response.
func BenchmarkTokenHandler(b *testing.B) {
	benchHandler(b, identity.Config{}, func(c *client) { c.token() })
}

// BenchmarkTokenHandlerNewVisitor adds generating the anonymous ID.
func BenchmarkTokenHandlerNewVisitor(b *testing.B) {
	benchHandler(b, identity.Config{}, func(c *client) {})
}

// BenchmarkTokenHandlerLoggedIn adds opening the sealed session cookie and
// the ledger recorder's no-op check.
func BenchmarkTokenHandlerLoggedIn(b *testing.B) {
	benchHandler(b, identity.Config{Ledger: &fakeLedger{}}, func(c *client) {
		c.token()
		c.do("POST", "/authenticate")
		if _, ok := c.cookies[identity.DefaultSessionCookie]; !ok {
			b.Fatal("no session cookie")
		}
		if _, ok := c.cookies[cookie.DefaultName]; !ok {
			b.Fatal("no anonymous cookie")
		}
	})
}

// BenchmarkTokenHandlerEncrypted adds encrypting user_payload for IBM
// (one RSA public-key operation).
func BenchmarkTokenHandlerEncrypted(b *testing.B) {
	benchHandler(b, identity.Config{IBMPublicKey: &rsaKey(b, keyIBM).PublicKey}, func(c *client) { c.token() })
}

// stubSigner signs for real once (New's self-test), then returns a fixed
// signature, so a benchmark sees the token path's cost without the RSA
// private-key operation.
type stubSigner struct {
	*rsa.PrivateKey
	calls atomic.Int64
	sig   []byte
}

func (s *stubSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.calls.Add(1) == 1 {
		return s.PrivateKey.Sign(r, digest, opts)
	}
	return append([]byte(nil), s.sig...), nil
}

// BenchmarkTokenHandlerWithoutRSA is BenchmarkTokenHandler minus the RSA
// signature: its time divided by BenchmarkRawSignRS256's is the overhead
// the library adds to the signature.
func BenchmarkTokenHandlerWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}}, func(c *client) {
		c.do("GET", "/createJWT")
	})
}

// BenchmarkTokenHandlerLoggedInWithoutRSA is the logged-in path (sealed
// session cookie, ledger recorder) minus the RSA signature.
func BenchmarkTokenHandlerLoggedInWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}, Ledger: &fakeLedger{}}, func(c *client) {
		c.do("GET", "/createJWT")
		c.do("POST", "/authenticate")
	})
}

// BenchmarkTokenHandlerEncryptedWithoutRSA adds encrypting user_payload
// (one RSA public-key operation) to BenchmarkTokenHandlerWithoutRSA.
func BenchmarkTokenHandlerEncryptedWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}, IBMPublicKey: &rsaKey(b, keyIBM).PublicKey}, func(c *client) {
		c.do("GET", "/createJWT")
	})
}

// Under concurrency: the same token path driven from GOMAXPROCS goroutines
// (b.RunParallel), as an HTTP server runs it, compared with the bare
// signature on as many goroutines. ns/op is wall time per token across all
// goroutines, so 1e9/ns/op is tokens per second on this machine, e.g.
//
//	go test -run '^$' -bench 'Parallel|OpaqueSigner' -benchtime 3s -cpu 2 ./identity/

// BenchmarkRawSignRS256Parallel is the machine's signing ceiling: only
// rsa.SignPKCS1v15, on every core.
func BenchmarkRawSignRS256Parallel(b *testing.B) {
	key := rsaKey(b, keyA)
	input := []byte(strings.Repeat("x", 420))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256(input)
			if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// opaqueSigner stands for a key in a KMS or HSM: a crypto.Signer that is not
// an *rsa.PrivateKey, so the token path takes its generic signing branch.
// It only forwards to the key, so its benchmarks show that branch's own
// cost, not a remote call's.
type opaqueSigner struct{ key *rsa.PrivateKey }

func (s opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}

// BenchmarkTokenHandlerOpaqueSigner is BenchmarkTokenHandler with the key
// behind a crypto.Signer wrapper.
func BenchmarkTokenHandlerOpaqueSigner(b *testing.B) {
	cfg := identity.Config{SigningKeys: []identity.SigningKey{{Key: opaqueSigner{rsaKey(b, keyA)}}}}
	benchHandler(b, cfg, func(c *client) { c.token() })
}

// freshAnonCookie returns an anonymous-ID cookie with a new well-formed
// UUID v4, as every request of ../shared/bench/fresh-visitors.lua carries.
func freshAnonCookie(r *mrand.Rand) *http.Cookie {
	const hex = "0123456789abcdef"
	var u [36]byte
	for i := range u {
		u[i] = hex[r.IntN(16)]
	}
	u[8], u[13], u[18], u[23] = '-', '-', '-', '-'
	u[14] = '4'
	u[19] = "89ab"[r.IntN(4)]
	return &http.Cookie{Name: cookie.DefaultName, Value: "anon-" + string(u[:])}
}

// BenchmarkTokenParallel is GET /createJWT on every core, for a fresh
// visitor (a new anonymous ID on each request: every request is a ledger
// write) and a returning one (one fixed cookie: the ledger has nothing new
// to write), without a ledger and with the in-memory ledger (the demo's
// -ledger memory), and for a returning visitor with the key behind a
// crypto.Signer wrapper.
func BenchmarkTokenParallel(b *testing.B) {
	key := rsaKey(b, keyA)
	for _, tc := range []struct {
		visitor, ledger string
		signer          crypto.Signer
	}{
		{"fresh", "none", key},
		{"fresh", "memory", key},
		{"returning", "none", key},
		{"returning", "memory", key},
		{"returning", "none/opaque-signer", opaqueSigner{key}},
	} {
		b.Run(tc.visitor+"/"+tc.ledger, func(b *testing.B) {
			cfg := identity.Config{SigningKeys: []identity.SigningKey{{Key: tc.signer}}, Reuse: identity.ReuseConfig{Disabled: true}}
			var store *memstore.Store
			if tc.ledger == "memory" {
				store = memstore.New()
				cfg.Ledger = store
			}
			srv := newServer(b, cfg)
			var returning []*http.Cookie
			if tc.visitor == "returning" {
				returning = benchDo(b, srv, "GET", "/createJWT", nil).Result().Cookies()
				if len(returning) == 0 {
					b.Fatal("no anonymous cookie set")
				}
			}
			var seed atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := mrand.New(mrand.NewPCG(seed.Add(1), 9))
				for pb.Next() {
					cookies := returning
					if cookies == nil {
						cookies = []*http.Cookie{freshAnonCookie(r)}
					}
					if rec := benchDo(b, srv, "GET", "/createJWT", cookies); rec.Code != http.StatusOK {
						b.Errorf("GET /createJWT: got status %d, want 200", rec.Code)
						return
					}
				}
			})
			if st := srv.Stats(); st.LedgerErrors != 0 {
				b.Errorf("got %d ledger errors, want 0", st.LedgerErrors)
			}
			if store != nil {
				// What is measured: a fresh visitor is a row per
				// request, a returning one a single row.
				rows := 0
				if err := store.Export(context.Background(), func(ledger.Entry) error { rows++; return nil }); err != nil {
					b.Fatal(err)
				}
				want := 1
				if tc.visitor == "fresh" {
					want = b.N
				}
				if rows != want {
					b.Errorf("ledger holds %d rows after %d requests, want %d", rows, b.N, want)
				}
			}
		})
	}
}
func benchDo(b *testing.B, h http.Handler, method, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://example.com"+path, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if method == "POST" && rec.Code >= 300 {
		b.Fatalf("%s %s: got status %d", method, path, rec.Code)
	}
	return rec
}

// Admission and reuse under concurrency, e.g.
//
//	go test -run '^$' -bench 'Shed|Reuse' -benchtime 3s -cpu 2 ./identity/
//	go test -run '^$' -bench 'ReuseVisitors' -benchtime 100000x -cpu 2 ./identity/
//
// BenchmarkShedParallel reports the latency of answered (p50-ms, p99-ms)
// and refused (shed-p99-ms) requests and the share refused (shed-%);
// BenchmarkReuseVisitors the signatures saved (saved-%) and tokens/s.

// latencies collects per-request durations from RunParallel goroutines.
type latencies struct {
	mu      sync.Mutex
	ok, bad []time.Duration
}

func (l *latencies) add(ok, bad []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ok, l.bad = append(l.ok, ok...), append(l.bad, bad...)
}

func quantileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(q*float64(len(d))))]) / 1e6
}

// BenchmarkShedParallel is fresh visitors (nothing reusable) from 512
// goroutines on GOMAXPROCS cores, as the c512 run: with admission
// (the default) every request beyond the queue is refused at once, and the
// answered ones stay fast; without it every request waits its turn among
// 512.
func BenchmarkShedParallel(b *testing.B) {
	for _, tc := range []struct {
		name string
		adm  identity.AdmissionConfig
	}{
		{"admission", identity.AdmissionConfig{}},
		{"no-admission", identity.AdmissionConfig{Disabled: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newServer(b, identity.Config{Admission: tc.adm})
			var seed atomic.Uint64
			var lat latencies
			b.SetParallelism(max(1, 512/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := mrand.New(mrand.NewPCG(seed.Add(1), 9))
				var ok, bad []time.Duration
				for pb.Next() {
					start := time.Now()
					rec := benchDo(b, srv, "GET", "/createJWT", []*http.Cookie{freshAnonCookie(r)})
					d := time.Since(start)
					switch rec.Code {
					case http.StatusOK:
						ok = append(ok, d)
					case http.StatusServiceUnavailable:
						bad = append(bad, d)
					default:
						b.Errorf("got status %d", rec.Code)
						return
					}
				}
				lat.add(ok, bad)
			})
			b.StopTimer()
			b.ReportMetric(quantileMs(lat.ok, 0.5), "p50-ms")
			b.ReportMetric(quantileMs(lat.ok, 0.99), "p99-ms")
			b.ReportMetric(quantileMs(lat.bad, 0.99), "shed-p99-ms")
			b.ReportMetric(100*float64(len(lat.bad))/float64(b.N), "shed-%")
		})
	}
}

// BenchmarkReuseParallel is one returning visitor on every core, with the
// reuse cache (the default: every token after the first is a cache hit)
// and without it (every token signed).
func BenchmarkReuseParallel(b *testing.B) {
	for _, tc := range []struct {
		name  string
		reuse identity.ReuseConfig
	}{
		{"reuse", identity.ReuseConfig{}},
		{"no-reuse", identity.ReuseConfig{Disabled: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newServer(b, identity.Config{Reuse: tc.reuse, IBMPublicKey: &rsaKey(b, keyIBM).PublicKey})
			cookies := benchDo(b, srv, "GET", "/createJWT", nil).Result().Cookies()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if rec := benchDo(b, srv, "GET", "/createJWT", cookies); rec.Code != http.StatusOK {
						b.Errorf("got status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReuseVisitors is the realistic reuse workload: 10 000
// visitors × 10 page loads each in random order, from 64 clients; each
// visitor keeps its cookie like a browser and loads one page at a time.
// Run it with -benchtime 100000x for exactly one pass (more passes only
// add cache hits). It reports the share of signatures saved and tokens/s.
func BenchmarkReuseVisitors(b *testing.B) {
	const visitors, loads, clients = 10_000, 10, 64
	for _, tc := range []struct {
		name  string
		reuse identity.ReuseConfig
	}{
		{"reuse", identity.ReuseConfig{}},
		{"no-reuse", identity.ReuseConfig{Disabled: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newServer(b, identity.Config{Reuse: tc.reuse, IBMPublicKey: &rsaKey(b, keyIBM).PublicKey,
				Ledger: memstore.New()})
			type visitor struct {
				mu      sync.Mutex
				cookies []*http.Cookie
			}
			vs := make([]visitor, visitors)
			order := make([]int32, 0, visitors*loads)
			for v := range visitors {
				for range loads {
					order = append(order, int32(v))
				}
			}
			rnd := mrand.New(mrand.NewPCG(1, 2))
			rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			var next atomic.Int64
			b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v := &vs[order[(next.Add(1)-1)%int64(len(order))]]
					v.mu.Lock()
					rec := benchDo(b, srv, "GET", "/createJWT", v.cookies)
					if v.cookies == nil {
						v.cookies = rec.Result().Cookies()
					}
					v.mu.Unlock()
					if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
						b.Errorf("got status %d", rec.Code)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			st := srv.Stats()
			signed := st.Admitted
			if tc.reuse.Disabled {
				signed = uint64(b.N)
			}
			b.ReportMetric(100*(1-float64(signed)/float64(b.N)), "saved-%")
			b.ReportMetric(float64(uint64(b.N)-st.Shed)/elapsed.Seconds(), "tokens/s")
			b.ReportMetric(float64(st.Shed), "shed") // 503s: only on a machine too busy to sign 64 at once within MaxWait
			if st.LedgerErrors != 0 {
				b.Errorf("Stats: %+v, want no ledger errors", st)
			}
		})
	}
}

// BenchmarkTokenWithoutRSAParallel is BenchmarkTokenHandlerWithoutRSA
// under b.RunParallel: the token path minus the RSA signature from
// GOMAXPROCS goroutines, so that lock contention and GC work shared by the
// cores show. Compare its ns/op with BenchmarkRawSignRS256Parallel's.
// "returning" is BenchmarkTokenHandlerWithoutRSA's visitor (reuse off, so
// every request builds and signs); "new" sends no cookie, so every request
// mints an ID and, with the reuse cache on (the default), misses it after
// building its key: what the cache costs when it cannot help.
func BenchmarkTokenWithoutRSAParallel(b *testing.B) {
	key := rsaKey(b, keyA)
	for _, tc := range []struct {
		name      string
		returning bool
		reuse     identity.ReuseConfig
	}{
		{"returning/no-reuse", true, identity.ReuseConfig{Disabled: true}},
		{"new/reuse", false, identity.ReuseConfig{}},
		{"new/no-reuse", false, identity.ReuseConfig{Disabled: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
			srv := newServer(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}, Reuse: tc.reuse})
			var cookies []*http.Cookie
			if tc.returning {
				c := newClient(b, srv)
				c.do("GET", "/createJWT")
				for _, ck := range c.cookies {
					cookies = append(cookies, ck)
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/createJWT", nil)
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
				for pb.Next() {
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("got status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReuseHitParallel is a reuse-cache hit, end to end through the
// token handler, on every core: what a returning visitor's page load costs
// once its token is cached. The server is set up as the demo is (binding
// keys, the in-memory ledger, user_payload encrypted for IBM on a miss):
// "anonymous" is a returning anonymous visitor, "logged-in" opens the
// sealed session cookie too, and "custom-claims" has a Config.Claims hook
// that adds a context and a further claim. Every request is a hit (the
// benchmark fails if any signs), so ns/op is the hit path alone, e.g.
//
//	go test -run '^$' -bench 'ReuseHitParallel' -benchtime 2s -cpu 2 ./identity/
func BenchmarkReuseHitParallel(b *testing.B) {
	for _, tc := range []struct {
		name   string
		login  bool
		claims func(*http.Request, *claims.Builder, *identity.SessionInfo) error
	}{
		{"anonymous", false, nil},
		{"logged-in", true, nil},
		{"custom-claims", false, func(r *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
			b.Context(map[string]any{"page": r.URL.Path, "plan": "gold"})
			b.Claim("tier", "gold")
			return nil
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := newServer(b, identity.Config{IBMPublicKey: &rsaKey(b, keyIBM).PublicKey, Ledger: memstore.New(), Claims: tc.claims})
			c := newClient(b, srv)
			c.token()
			if tc.login {
				if rec := c.do("POST", "/authenticate"); rec.Code != http.StatusNoContent {
					b.Fatalf("login: got status %d", rec.Code)
				}
				if _, ok := c.cookies[identity.DefaultSessionCookie]; !ok {
					b.Fatal("no session cookie")
				}
			}
			c.token() // cached now
			signed := srv.Stats().Admitted
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/createJWT", nil)
				for _, ck := range c.cookies {
					req.AddCookie(ck)
				}
				for pb.Next() {
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("got status %d", rec.Code)
						return
					}
				}
			})
			b.StopTimer()
			if st := srv.Stats(); st.Admitted != signed {
				b.Errorf("%d tokens signed during the run, want 0: every request should be a hit", st.Admitted-signed)
			}
		})
	}
}
