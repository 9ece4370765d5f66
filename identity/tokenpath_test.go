package identity_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// stepClock is a test clock moved by hand, so that a token signed anew
// differs from a reused one (its iat).
type stepClock struct{ ns atomic.Int64 }

func newStepClock() *stepClock {
	c := &stepClock{}
	c.ns.Store(fixedNow.UnixNano())
	return c
}

func (c *stepClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *stepClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// verifyAt verifies token against srv's JWKS at clock's time.
func verifyAt(t testing.TB, srv http.Handler, clock *stepClock, token string) jwt.Token {
	t.Helper()
	now := fixedClock(fixedNow)
	if clock != nil {
		now = clock.now
	}
	tok, err := claims.Verify(token, fetchJWKS(t, srv), claims.WithClock(now))
	if err != nil {
		t.Fatalf("token does not verify against the served JWKS: %v", err)
	}
	return tok
}

// tokenText is GET /createJWT's body, which must be a token.
func (c *client) tokenText() string {
	c.t.Helper()
	rec := c.do("GET", "/createJWT")
	if rec.Code != http.StatusOK {
		c.t.Fatalf("GET /createJWT: got status %d (%q), want 200", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

func TestReuseSameClaimsSameToken(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			clock := newStepClock()
			cfg := identity.Config{Now: clock.now}
			if encrypted {
				cfg.IBMPublicKey = &rsaKey(t, keyIBM).PublicKey // random padding: the key must be the clear text
			}
			srv := newServer(t, cfg)
			c := newClient(t, srv)
			first := c.tokenText()
			clock.advance(time.Minute)
			if again := c.tokenText(); again != first {
				t.Fatal("the same visitor a minute later got a new token, want the first one again")
			}
			if st := srv.Stats(); st.ReuseHits != 1 || st.ReuseMisses != 1 || st.Admitted != 1 {
				t.Errorf("Stats: got %+v, want 1 hit, 1 miss, 1 signature", st)
			}
			tok := verifyAt(t, srv, clock, first)
			if encrypted {
				text, err := claims.DecryptUserPayload(rsaKey(t, keyIBM), tok.PrivateClaims()[claims.UserPayloadClaim].(string))
				if err != nil {
					t.Fatal(err)
				}
				jsonEqual(t, json.RawMessage(text), fmt.Sprintf(`{"custom_user_id":%q,"name":"Anonymous"}`, tok.Subject()))
			}
		})
	}
}

// TestReuseKeptBySessionAndBindingRotation: Rotate empties the cache only
// with new signing keys (ReuseConfig's promise); new session or binding
// keys, the old ones still listed, leave the tokens what they would be.
func TestReuseKeptBySessionAndBindingRotation(t *testing.T) {
	clock := newStepClock()
	srv := newServer(t, identity.Config{Now: clock.now, Anonymous: cookie.Config{BindingKeys: [][]byte{bindingKey}}})
	c := newClient(t, srv)
	first := c.tokenText()
	if err := srv.Rotate(identity.Keys{SessionKeys: [][]byte{secretKey(2), secretKey(1)}, BindingKeys: [][]byte{secretKey(7), bindingKey}}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	if again := c.tokenText(); again != first {
		t.Fatal("after rotating session and binding keys: a new token, want the first one again")
	}
	if st := srv.Stats(); st.ReuseHits != 1 || st.Admitted != 1 {
		t.Errorf("Stats: got %+v, want 1 hit, 1 signature", st)
	}
}

func TestReuseDisabledSignsEveryTime(t *testing.T) {
	clock := newStepClock()
	srv := newServer(t, identity.Config{Now: clock.now, Reuse: identity.ReuseConfig{Disabled: true}})
	c := newClient(t, srv)
	first := c.tokenText()
	clock.advance(time.Minute)
	if c.tokenText() == first {
		t.Fatal("Reuse.Disabled: got the same token again")
	}
	if st := srv.Stats(); st.ReuseHits != 0 || st.ReuseMisses != 0 || st.Admitted != 2 {
		t.Errorf("Stats: got %+v, want no reuse, 2 signatures", st)
	}
}

func TestReuseAnyDifferenceSignsAgain(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, srv *identity.Server, c *client)
	}{
		{"login", func(t *testing.T, srv *identity.Server, c *client) {
			if rec := c.do("POST", "/authenticate"); rec.Code != http.StatusNoContent {
				t.Fatalf("login: got %d", rec.Code)
			}
		}},
		{"context claim", func(t *testing.T, srv *identity.Server, c *client) { c.page = "pricing" }},
		{"custom claim", func(t *testing.T, srv *identity.Server, c *client) { c.tier = "gold" }},
		{"key rotation", func(t *testing.T, srv *identity.Server, c *client) {
			if err := srv.RotateKeys(identity.SigningKey{Key: rsaKey(t, keyB)}, identity.SigningKey{Key: rsaKey(t, keyA)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"rotation to the same kid", func(t *testing.T, srv *identity.Server, c *client) {
			// Another key under the old kid: only the flush and the
			// key epoch keep the old token out.
			if err := srv.RotateKeys(identity.SigningKey{Key: rsaKey(t, keyB), KeyID: srv.KeyID()}); err != nil {
				t.Fatal(err)
			}
		}},
		{"two Rotates under one kid", func(t *testing.T, srv *identity.Server, c *client) {
			// Server.Rotate numbers its key sets as RotateKeys does: the
			// token cached between two Rotates (signed by B) is not
			// handed out once A signs again under the same kid.
			kid := srv.KeyID()
			for i, name := range []string{keyB, keyA} {
				if err := srv.Rotate(identity.Keys{SigningKeys: []identity.SigningKey{{Key: rsaKey(t, name), KeyID: kid}}}); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					c.tokenText()
				}
			}
		}},
		{"lifetime", func(t *testing.T, srv *identity.Server, c *client) { c.ttl = 10 * time.Minute }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			var srv *identity.Server
			c := &client{t: t, cookies: map[string]*http.Cookie{}}
			srv = newServer(t, identity.Config{Now: clock.now, Claims: c.claims})
			c.h = srv
			first := c.tokenText()
			clock.advance(time.Minute)
			tt.change(t, srv, c)
			second := c.tokenText()
			if second == first {
				t.Fatalf("after the %s: got the earlier token again", tt.name)
			}
			tok := verifyAt(t, srv, clock, second)
			if !tok.IssuedAt().Equal(clock.now().Add(-claims.DefaultSkew)) {
				t.Errorf("got iat %v, want a token signed now", tok.IssuedAt())
			}
			clock.advance(time.Minute)
			if third := c.tokenText(); third != second {
				t.Error("the new claims' token is not reused in turn")
			}
		})
	}
}

// claims is a Config.Claims hook driven by the client's fields, read
// from request headers so that the hook sees only the request.
func (c *client) claims(r *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
	if p := r.Header.Get("X-Page"); p != "" {
		b.Context(map[string]any{"page": p})
	}
	if v := r.Header.Get("X-Tier"); v != "" {
		b.Claim("tier", v)
	}
	if v := r.Header.Get("X-TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		b.TTL(d)
	}
	if r.Header.Get("X-JTI") != "" {
		b.JWTID(r.Header.Get("X-JTI"))
	}
	return nil
}

func TestReuseLogoutGivesAnonymousTokenNotTheUsers(t *testing.T) {
	clock := newStepClock()
	srv := newServer(t, identity.Config{Now: clock.now})
	c := newClient(t, srv)
	anon := c.tokenText()
	c.do("POST", "/authenticate")
	clock.advance(time.Minute)
	user := c.tokenText()
	if p := payload(t, verifyAt(t, srv, clock, user)); p["custom_user_id"] != "cade-id" {
		t.Fatalf("logged in: got payload %v", p)
	}
	if rec := c.do("POST", "/logout"); rec.Code != http.StatusNoContent {
		t.Fatalf("logout: got %d", rec.Code)
	}
	clock.advance(time.Minute)
	after := c.tokenText()
	if after == user {
		t.Fatal("after logout: got the logged-in token again")
	}
	if p := payload(t, verifyAt(t, srv, clock, after)); p["custom_user_id"] == "cade-id" {
		t.Fatalf("after logout: payload %v still names the user", p)
	}
	// The anonymous claims are what they were before the login: that
	// token is as good as a new one.
	if after != anon {
		t.Error("after logout: the anonymous token of before the login was not reused")
	}
}

func TestReuseNeverAcrossSubs(t *testing.T) {
	srv := newServer(t, identity.Config{})
	const n = 20
	seen := map[string]string{} // token → sub
	for i := range n {
		c := newClient(t, srv)
		for range 2 {
			text := c.tokenText()
			sub := verifyAt(t, srv, nil, text).Subject()
			if other, ok := seen[text]; ok && other != sub {
				t.Fatalf("visitor %d (%s) got the token of %s", i, sub, other)
			}
			seen[text] = sub
		}
	}
	if len(seen) != n {
		t.Errorf("%d visitors got %d distinct tokens, want one each", n, len(seen))
	}
	if st := srv.Stats(); st.ReuseHits != n || st.Admitted != n {
		t.Errorf("Stats: got %+v, want %d hits and %d signatures", st, n, n)
	}
}

func TestReuseSameSubFromSubjectHookIsShared(t *testing.T) {
	// Config.Subject may give two browsers one sub (the user's own ID):
	// they are one user, and their identical tokens may be one.
	clock := newStepClock()
	srv := newServer(t, identity.Config{Now: clock.now, Subject: func(r *http.Request, anonID string, s *identity.SessionInfo) (string, error) {
		if s != nil {
			return "user-" + s.CustomUserID, nil
		}
		return anonID, nil
	}})
	a, b := newClient(t, srv), newClient(t, srv)
	a.do("POST", "/authenticate")
	b.do("POST", "/authenticate")
	ta := a.tokenText()
	clock.advance(time.Minute)
	tb := b.tokenText()
	pa, pb := verifyAt(t, srv, clock, ta), verifyAt(t, srv, clock, tb)
	if pa.Subject() != "user-cade-id" || pb.Subject() != "user-cade-id" {
		t.Fatalf("got subs %q and %q", pa.Subject(), pb.Subject())
	}
}

func TestReuseRespectsMinRemaining(t *testing.T) {
	clock := newStepClock()
	srv := newServer(t, identity.Config{Now: clock.now, TTL: time.Hour, Reuse: identity.ReuseConfig{MinRemaining: 0.5}})
	c := newClient(t, srv)
	first := c.tokenText()
	life := time.Hour + claims.DefaultSkew // exp − iat
	clock.advance(life/2 - claims.DefaultSkew)
	if c.tokenText() != first {
		t.Fatal("with half its lifetime left: not reused")
	}
	clock.advance(time.Second)
	second := c.tokenText()
	if second == first {
		t.Fatal("with under half its lifetime left: reused")
	}
	if got := verifyAt(t, srv, clock, second).IssuedAt(); !got.Equal(clock.now().Add(-claims.DefaultSkew)) {
		t.Errorf("got iat %v, want now", got)
	}
}

func TestReuseNeverWithJTI(t *testing.T) {
	clock := newStepClock()
	c := &client{t: t, cookies: map[string]*http.Cookie{}}
	srv := newServer(t, identity.Config{Now: clock.now, Claims: c.claims})
	c.h = srv
	c.jti = "same-jti"
	first := c.tokenText()
	clock.advance(time.Minute)
	if c.tokenText() == first {
		t.Fatal("a token with a jti was reused")
	}
	if st := srv.Stats(); st.ReuseHits != 0 || st.ReuseEntries != 0 {
		t.Errorf("Stats: got %+v, want nothing cached", st)
	}
}

func TestReuseCacheIsBounded(t *testing.T) {
	srv := newServer(t, identity.Config{Reuse: identity.ReuseConfig{Size: 2}})
	visitors := []*client{newClient(t, srv), newClient(t, srv), newClient(t, srv)}
	for _, c := range visitors {
		c.tokenText()
	}
	if st := srv.Stats(); st.ReuseEntries != 2 {
		t.Fatalf("got %d entries, want Size (2)", st.ReuseEntries)
	}
	visitors[0].tokenText() // evicted: signs again
	visitors[2].tokenText() // still there
	if st := srv.Stats(); st.ReuseHits != 1 || st.Admitted != 4 || st.ReuseEntries != 2 {
		t.Errorf("Stats: got %+v, want 1 hit, 4 signatures, 2 entries", st)
	}
}

func TestTokenPathConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg  identity.Config
		want string
	}{
		{identity.Config{Admission: identity.AdmissionConfig{MaxConcurrent: -1}}, "Config.Admission.MaxConcurrent"},
		{identity.Config{Admission: identity.AdmissionConfig{MaxQueue: -1}}, "Config.Admission.MaxQueue"},
		{identity.Config{Admission: identity.AdmissionConfig{MaxWait: -1}}, "Config.Admission.MaxWait"},
		{identity.Config{TTL: time.Minute, Admission: identity.AdmissionConfig{MaxWait: time.Hour}}, "Config.Admission.MaxWait"},
		{identity.Config{Reuse: identity.ReuseConfig{Size: -1}}, "Config.Reuse.Size"},
		{identity.Config{Reuse: identity.ReuseConfig{MinRemaining: 1.5}}, "Config.Reuse.MinRemaining"},
		{identity.Config{Reuse: identity.ReuseConfig{MinRemaining: -0.1}}, "Config.Reuse.MinRemaining"},
	} {
		tt.cfg.SigningKeys = []identity.SigningKey{{Key: rsaKey(t, keyA)}}
		if _, err := identity.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want an error naming %s", err, tt.want)
		}
	}
}

// gateSigner signs for real, but after New's self-test each signature
// waits for a value on gate, so a test can hold the signing slots.
type gateSigner struct {
	*rsa.PrivateKey
	calls   atomic.Int64
	gate    chan struct{}
	entered chan struct{}
}

func (s *gateSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.calls.Add(1) > 1 {
		s.entered <- struct{}{}
		<-s.gate
	}
	return s.PrivateKey.Sign(r, digest, opts)
}

// handOver lets the request holding the one signing slot finish, waits
// for the next request to take the slot and lets it finish too, and
// checks that both were answered 200.
func (g *gateSigner) handOver(t *testing.T, holding, next <-chan *httptest.ResponseRecorder) {
	t.Helper()
	g.gate <- struct{}{}
	<-g.entered
	g.gate <- struct{}{}
	for _, c := range []<-chan *httptest.ResponseRecorder{holding, next} {
		if rec := <-c; rec.Code != http.StatusOK {
			t.Errorf("admitted request: got %d, want 200", rec.Code)
		}
	}
}

// admissionServer is a Server whose signatures wait for the gate, with one
// signing slot, a queue of queue and the given wait, and no reuse. Call it
// inside a synctest bubble.
func admissionServer(t *testing.T, queue int, wait time.Duration, logs *logbuf.Buffer) (*identity.Server, *gateSigner) {
	g := &gateSigner{PrivateKey: rsaKey(t, keyA), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	srv := newServer(t, identity.Config{
		SigningKeys: []identity.SigningKey{{Key: g}},
		Admission:   identity.AdmissionConfig{MaxConcurrent: 1, MaxQueue: queue, MaxWait: wait},
		Reuse:       identity.ReuseConfig{Disabled: true},
		Logger:      logs.Logger(),
	})
	return srv, g
}

// fetch serves GET /createJWT for a new visitor in its own goroutine.
func fetch(ctx context.Context, srv http.Handler) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/createJWT", nil))
		done <- rec
	}()
	return done
}

func TestAdmissionQueueFullIs503AtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logbuf.Buffer{}
		srv, g := admissionServer(t, 1, time.Hour, logs)
		signing := fetch(t.Context(), srv)
		<-g.entered // holds the one slot
		queued := fetch(t.Context(), srv)
		synctest.Wait() // in the queue

		for i := range 3 {
			start := time.Now()
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest("GET", "/createJWT", nil))
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
				t.Fatalf("request %d beyond the queue: got %d, Retry-After %q, want 503 with Retry-After: 1", i, rec.Code, rec.Header().Get("Retry-After"))
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("refused after %v, want at once", d)
			}
		}
		if n := strings.Count(logs.String(), "too many tokens to sign"); n != 1 {
			t.Errorf("got %d log lines for a burst of 3 refusals, want 1:\n%s", n, logs)
		}
		if st := srv.Stats(); st.Shed != 3 || st.ShedLate != 0 || st.Signing != 1 || st.Waiting != 1 {
			t.Errorf("Stats: got %+v, want 3 shed, 1 signing, 1 waiting", st)
		}
		g.handOver(t, signing, queued) // the queued request signs next
		if st := srv.Stats(); st.Admitted != 2 || st.Queued != 1 || st.Shed != 3 {
			t.Errorf("Stats: got %+v, want 2 admitted, 1 queued, 3 shed", st)
		}
	})
}

// TestAdmissionRefusalWritesNothing: a request refused by admission is
// refused before the ledger write, so an overloaded server spends nothing
// on it (with SQLite or PostgreSQL, a commit), and the ledger still gets
// the visitor's ID with the first token it is actually issued.
func TestAdmissionRefusalWritesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		led := &fakeLedger{}
		g := &gateSigner{PrivateKey: rsaKey(t, keyA), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
		srv := newServer(t, identity.Config{
			SigningKeys: []identity.SigningKey{{Key: g}},
			Admission:   identity.AdmissionConfig{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Hour},
			Reuse:       identity.ReuseConfig{Disabled: true},
			Ledger:      led,
		})
		signing := fetch(t.Context(), srv)
		<-g.entered // holds the one slot, its visitor recorded
		queued := fetch(t.Context(), srv)
		synctest.Wait() // recorded, and waiting for the slot
		refused := httptest.NewRecorder()
		srv.ServeHTTP(refused, httptest.NewRequest("GET", "/createJWT", nil))
		if refused.Code != http.StatusServiceUnavailable {
			t.Fatalf("beyond the queue: got %d, want 503", refused.Code)
		}
		if recs, _ := led.counts(); len(recs) != 2 {
			t.Fatalf("ledger after a signing, a queued and a refused request: %d rows, want 2 (the refused one writes nothing)", len(recs))
		}
		g.handOver(t, signing, queued)

		// The refused visitor comes back with the cookie the 503 set.
		var again *http.Request = httptest.NewRequest("GET", "/createJWT", nil)
		for _, c := range refused.Result().Cookies() {
			again.AddCookie(c)
		}
		if len(again.Cookies()) == 0 {
			t.Fatal("the 503 set no cookie")
		}
		done := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, again)
			done <- rec
		}()
		<-g.entered
		g.gate <- struct{}{}
		if rec := <-done; rec.Code != http.StatusOK {
			t.Fatalf("the visitor's next request: got %d, want 200", rec.Code)
		}
		recs, _ := led.counts()
		if len(recs) != 3 || recs[2] == recs[0] || recs[2] == recs[1] {
			t.Fatalf("ledger: got %q, want the refused visitor's ID recorded with its first token", recs)
		}
	})
}

func TestAdmissionWaitExceededIs503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 100 * time.Millisecond
		srv, g := admissionServer(t, 8, wait, &logbuf.Buffer{})
		signing := fetch(t.Context(), srv)
		<-g.entered
		start := time.Now()
		rec := <-fetch(t.Context(), srv)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("got %d, Retry-After %q, want 503 with Retry-After: 1", rec.Code, rec.Header().Get("Retry-After"))
		}
		if d := time.Since(start); d != wait {
			t.Errorf("refused after %v, want MaxWait (%v)", d, wait)
		}
		g.gate <- struct{}{}
		if rec := <-signing; rec.Code != http.StatusOK {
			t.Errorf("admitted request: got %d", rec.Code)
		}
		if st := srv.Stats(); st.Shed != 1 || st.ShedLate != 1 || st.Queued != 1 || st.Admitted != 1 {
			t.Errorf("Stats: got %+v, want 1 shed (late: after queueing), 1 admitted", st)
		}
	})
}

func TestAdmissionCancelledRequestLeavesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, g := admissionServer(t, 8, time.Hour, &logbuf.Buffer{})
		signing := fetch(t.Context(), srv)
		<-g.entered
		ctx, cancel := context.WithCancel(t.Context())
		gone := fetch(ctx, srv)
		synctest.Wait()
		next := fetch(t.Context(), srv)
		synctest.Wait()
		cancel()
		<-gone
		if st := srv.Stats(); st.Abandoned != 1 || st.Waiting != 1 {
			t.Fatalf("Stats: got %+v, want 1 abandoned, 1 still waiting", st)
		}
		g.handOver(t, signing, next) // the slot goes to the request still waiting
		if st := srv.Stats(); st.Admitted != 2 || st.Signing != 0 || st.Waiting != 0 {
			t.Errorf("Stats: got %+v, want 2 admitted, nothing held", st)
		}
	})
}

func TestReusedTokenSkipsAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateSigner{PrivateKey: rsaKey(t, keyA), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
		srv := newServer(t, identity.Config{
			SigningKeys: []identity.SigningKey{{Key: g}},
			Admission:   identity.AdmissionConfig{MaxConcurrent: 1, MaxQueue: 1, MaxWait: time.Hour},
		})
		returning := newClient(t, srv)
		go func() { <-g.entered; g.gate <- struct{}{} }()
		want := returning.tokenText()

		signing := fetch(t.Context(), srv)
		<-g.entered
		queued := fetch(t.Context(), srv)
		synctest.Wait() // slot and queue full: a new token would be refused
		if rec := httptest.NewRecorder(); true {
			srv.ServeHTTP(rec, httptest.NewRequest("GET", "/createJWT", nil))
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("a new visitor: got %d, want 503", rec.Code)
			}
		}
		if got := returning.tokenText(); got != want {
			t.Error("the returning visitor got a new token")
		}
		g.gate <- struct{}{}
		<-g.entered
		g.gate <- struct{}{}
		<-signing
		<-queued
	})
}

func TestAdmissionDisabledNeverRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateSigner{PrivateKey: rsaKey(t, keyA), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
		srv := newServer(t, identity.Config{
			SigningKeys: []identity.SigningKey{{Key: g}},
			Admission:   identity.AdmissionConfig{Disabled: true, MaxConcurrent: 1, MaxQueue: 1},
		})
		var recs []<-chan *httptest.ResponseRecorder
		for range 5 {
			recs = append(recs, fetch(t.Context(), srv))
			<-g.entered // all five sign at once
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 5 {
				g.gate <- struct{}{}
			}
		})
		for _, c := range recs {
			if rec := <-c; rec.Code != http.StatusOK {
				t.Errorf("got %d, want 200", rec.Code)
			}
		}
		wg.Wait()
		if st := srv.Stats(); st.Admitted != 0 || st.Shed != 0 {
			t.Errorf("Stats: got %+v, want no admission counters", st)
		}
	})
}

// TestReuseKeyHasEveryClaimTheHookSets: for each claim Config.Claims can
// set, the same value is a hit and another value a new token, so no claim
// is left out of the cache key.
func TestReuseKeyHasEveryClaimTheHookSets(t *testing.T) {
	tests := []struct {
		name string
		set  func(b *claims.Builder, v string)
	}{
		{"iss", func(b *claims.Builder, v string) { b.Issuer("https://issuer-" + v) }},
		{"aud", func(b *claims.Builder, v string) { b.Audience("aud-" + v) }},
		{"aud count", func(b *claims.Builder, v string) { b.Audience(strings.Split("a,b,c", ",")[:len(v)]...) }},
		{"TTL", func(b *claims.Builder, v string) { b.TTL(time.Duration(len(v)) * 10 * time.Minute) }},
		{"skew", func(b *claims.Builder, v string) { b.Skew(time.Duration(len(v)) * time.Second) }},
		{"user_payload", func(b *claims.Builder, v string) { b.UserPayload(map[string]string{"name": v}) }},
		{"user_payload ciphertext", func(b *claims.Builder, v string) { b.UserPayloadCiphertext(strings.Repeat("A", 4*len(v))) }},
		{"context", func(b *claims.Builder, v string) { b.Context(map[string]any{"page": v}) }},
		{"custom claim value", func(b *claims.Builder, v string) { b.Claim("tier", v) }},
		{"custom claim name", func(b *claims.Builder, v string) { b.Claim("tier-"+v, true) }},
		{"custom claim type", func(b *claims.Builder, v string) {
			if len(v) == 1 {
				b.Claim("n", 1)
			} else {
				b.Claim("n", "1")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			srv := newServer(t, identity.Config{Now: clock.now, Claims: func(r *http.Request, b *claims.Builder, _ *identity.SessionInfo) error {
				tt.set(b, r.Header.Get("X-Claim"))
				return nil
			}})
			c := newClient(t, srv)
			get := func(v string) string {
				t.Helper()
				rec := c.do("GET", "/createJWT", "X-Claim", v)
				if rec.Code != http.StatusOK {
					t.Fatalf("X-Claim %q: got status %d (%q)", v, rec.Code, rec.Body.String())
				}
				clock.advance(time.Second)
				return rec.Body.String()
			}
			one := get("x")
			if get("x") != one {
				t.Fatal("the same claims: not reused")
			}
			two := get("xy")
			if two == one {
				t.Fatalf("another %s: got the earlier token", tt.name)
			}
			verifyAt(t, srv, clock, two)
			if get("xy") != two {
				t.Error("the new claims' token is not reused in turn")
			}
			if get("x") != one {
				t.Error("back to the first claims: their token is not reused")
			}
			if st := srv.Stats(); st.Admitted != 2 {
				t.Errorf("got %d signatures, want 2", st.Admitted)
			}
		})
	}
}
