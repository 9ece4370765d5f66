package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/internal/logbuf"
	"github.com/webchatid/webchatid/internal/testpeer"
)

// startDemo runs the demo in-process on a free loopback port and returns its
// URL and its log. The demo stops when the test ends.
func startDemo(t *testing.T, args ...string) (url string, logs *logbuf.Buffer) {
	t.Helper()
	return startDemoWith(t, nil, args...)
}

// startDemoWith is startDemo with the demo's handler wrapped by wrap (nil:
// not wrapped), so a test can see every request the server answers.
func startDemoWith(t *testing.T, wrap func(http.Handler) http.Handler, args ...string) (url string, logs *logbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &logbuf.Buffer{}
	urlc := make(chan string, 1)
	errc := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-ledger", "memory"}, args...)
	go func() { errc <- runWrapped(ctx, args, logs, logs, func(u string) { urlc <- u }, wrap) }()
	select {
	case url = <-urlc:
	case err := <-errc:
		cancel()
		t.Fatalf("demo did not start: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("demo did not start within 30 s\n%s", logs)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("demo exited with %v", err)
		}
	})
	return url, logs
}

// findChromium returns the browser to drive, or stops the test (a failure in
// CI) when none is installed.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testpeer.Missing(t, "install Debian's chromium (apt-get install chromium) to run the browser test")
	return ""
}

// answer is what the page shows of the stand-in's latest reply.
type answer struct {
	Count             int    `json:"count"`
	Sub               string `json:"sub"`
	CustomUserID      string `json:"customUserId"`
	Name              string `json:"name"`
	ExpiresAt         string `json:"expiresAt"`
	Expired           int    `json:"expiredRefused"`
	SubChangesRefused int    `json:"subChangesRefused"`
}

const lastAnswerJS = `(() => {
	const all = document.querySelectorAll('#messages li.bot');
	const li = all[all.length - 1];
	return li ? Object.assign({}, li.dataset, {count: all.length, expiredRefused: Number(li.dataset.expiredRefused),
		subChangesRefused: Number(li.dataset.subChangesRefused)}) : {count: 0};
})()`

// browser is headless Chromium on the demo's page, with the demo's log, the
// browser console and the network failures at hand for failure messages.
type browser struct {
	t       *testing.T
	ctx     context.Context // the page's tab
	url     string
	logs    *logbuf.Buffer
	console *consoleLog
	net     *netLog
	shots   *screenshots
}

// openBrowser starts Chromium for the demo at url; it ends with the test.
func openBrowser(t *testing.T, url string, logs *logbuf.Buffer) *browser {
	t.Helper()
	chromium := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // the test may run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	b := &browser{t: t, ctx: bctx, url: url, logs: logs, console: collectConsole(bctx), shots: newScreenshots(t)}
	var err error
	if b.net, err = collectNetwork(bctx); err != nil {
		t.Fatalf("listen to the browser's network events: %v", err)
	}
	return b
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.t.Fatalf("%s: %v\nbrowser console:\n%s\ndemo log:\n%s", what, err, b.console, b.logs)
}

func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// wait polls a predicate on animation frames: only for a visible tab.
func wait(predicate string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(15*time.Second))
}

// eval evaluates expression in the page, awaiting a promise it returns.
func eval[T any](b *browser, what, expression string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail(what, err)
	}
	return v
}

func (b *browser) lastAnswer() answer {
	b.t.Helper()
	return eval[answer](b, "read the last answer", lastAnswerJS)
}

// send types text into the stand-in chat and waits for the wantCount-th answer.
func (b *browser) send(text string, wantCount int) answer {
	b.t.Helper()
	b.step("send "+text,
		chromedp.SetValue(chromedp.ID("chat-input"), text),
		chromedp.Click(chromedp.ID("send")),
		wait(fmt.Sprintf(`document.querySelectorAll('#messages li.bot').length >= %d || document.querySelector('#messages li.error') !== null`, wantCount)),
	)
	a := b.lastAnswer()
	if a.Count < wantCount {
		page, _ := chromedp.Run(b.ctx, chromedp.TextContent(chromedp.ID("messages")))
		b.t.Fatalf("after %q: got %d answers, want %d; page says:\n%s\nconsole:\n%s\ndemo log:\n%s", text, a.Count, wantCount, page, b.console, b.logs)
	}
	return a
}

func (b *browser) waitGreeting(want string) {
	b.t.Helper()
	b.step("greeting "+want, wait(fmt.Sprintf(
		`document.getElementById('greeting').textContent === %q && !document.getElementById('login').disabled`, want)))
}

// clickReloading clicks the element with the ID and waits for the page it
// makes the browser load.
func (b *browser) clickReloading(id string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID(id)))); err != nil {
		b.fail("click #"+id+" and wait for the reload", err)
	}
}

// hide opens another tab in the same window, which hides the page's tab as
// switching tabs does; the returned func closes it, showing the page again.
func (b *browser) hide() (show func()) {
	b.t.Helper()
	other, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewWindow(false))
	if err := chromedp.Do(other, chromedp.Navigate("about:blank")); err != nil {
		b.fail("open another tab", err)
	}
	if got := eval[string](b, "read visibility", `document.visibilityState`); got != "hidden" {
		b.t.Fatalf("the page is %q behind another tab, want hidden", got)
	}
	return func() {
		b.t.Helper()
		cancel()
		if _, err := chromedp.Call(b.ctx, page.BringToFront, cdp.Empty{}); err != nil {
			b.fail("bring the page to front", err)
		}
		if got := eval[string](b, "read visibility", `document.visibilityState`); got != "visible" {
			b.t.Fatalf("the page is %q after closing the other tab, want visible", got)
		}
	}
}

// checkHealthy fails the test on a CSP violation, a webchatid.js console
// error, or a request the browser reports as failed (such as the
// net::ERR_ABORTED Chromium reports for a response whose body nobody read,
// once it is collected: the garbage collector is run first).
func (b *browser) checkHealthy() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		b.fail("collect garbage", err)
	}
	// A round trip after the collection, so its events have arrived.
	eval[bool](b, "round trip", `true`)
	if failed := b.net.failures(); len(failed) != 0 {
		b.t.Errorf("requests failed in the browser: %q\nconsole:\n%s", failed, b.console)
	}
	violations := eval[[]string](b, "read CSP violations", `window.cspViolations`)
	if len(violations) != 0 || strings.Contains(b.console.String(), "Content Security Policy") {
		b.t.Errorf("got CSP violations %q, want none; console:\n%s", violations, b.console)
	}
	if strings.Contains(b.console.String(), "webchatid:") {
		b.t.Errorf("webchatid.js reported an error:\n%s", b.console)
	}
}

// TestDemoInChromium drives the demo's page in headless Chromium through the
// tutorial: anonymous chat, login mid-session (same sub, new user_payload),
// renewal paused while the tab is hidden, the identityTokenExpired fallback
// for a token that expired meanwhile, catching up when the tab is shown,
// logout the way IBM documents (destroySession, reload), all under a strict
// CSP and without a failed request.
func TestDemoInChromium(t *testing.T) {
	const ttl = 3 * time.Second
	tr := &traffic{}
	url, logs := startDemoWith(t, tr.wrap,
		"-key", filepath.Join("testdata", "signing-key.pem"),
		"-standin-key", filepath.Join("testdata", "standin-ibm-key.pem"),
		"-ttl", ttl.String())

	// The page's CSP is strict: nothing inline, nothing from elsewhere.
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';"} {
		if !strings.Contains(csp, want) {
			t.Errorf("got Content-Security-Policy %q, want it to contain %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("got Content-Security-Policy %q, want no unsafe-* source", csp)
	}

	b := openBrowser(t, url, logs)

	// 1. Anonymous: sub is the anonymous ID, and so is custom_user_id.
	b.step("load page", chromedp.Navigate(url))
	b.waitGreeting("Hello, anonymous visitor.")
	first := b.send("hello", 1)
	if !strings.HasPrefix(first.Sub, "anon-") {
		t.Fatalf("got sub %q, want an anon-… ID", first.Sub)
	}
	if first.CustomUserID != first.Sub || first.Name != "Anonymous" {
		t.Errorf("anonymous: got user_payload name %q custom_user_id %q, want %q and the sub %q", first.Name, first.CustomUserID, "Anonymous", first.Sub)
	}
	b.shots.take(b.ctx, "1-anonymous")

	// 2. Login mid-session: same sub, the user in user_payload.
	b.step("login", chromedp.Click(chromedp.ID("login")))
	b.waitGreeting("Welcome back, Cade!")
	loggedIn := b.send("after login", 2)
	if loggedIn.Sub != first.Sub {
		t.Errorf("after login: got sub %q, want the same %q", loggedIn.Sub, first.Sub)
	}
	if loggedIn.CustomUserID != "cade-id" || loggedIn.Name != "Cade" {
		t.Errorf("after login: got name %q custom_user_id %q, want Cade and cade-id", loggedIn.Name, loggedIn.CustomUserID)
	}
	b.shots.take(b.ctx, "2-logged-in")

	// 3. Hidden: no renewal while the tab is behind another one. Wait until
	// the token the page holds has expired (the stand-in allows no leeway;
	// exp has one-second resolution); the server must have issued nothing.
	show := b.hide()
	hiddenFrom := tr.tokens()
	exp := tr.lastExp()
	if d := time.Until(exp); d > 2*ttl {
		t.Fatalf("token expires in %v, want about %v", d, ttl)
	}
	b.sleepUntil(exp.Add(1100 * time.Millisecond))
	if n := tr.tokens() - hiddenFrom; n != 0 {
		t.Errorf("the hidden tab renewed its token %d times, want none", n)
	}
	// A message sent now (by script: the tab is hidden) carries the expired
	// token: the stand-in refuses it once, web chat fires identityTokenExpired
	// and webchatid.js answers it: the fallback.
	refreshed := eval[answer](b, "send while hidden", `demoChat.send('after expiry').then((body) => ({
		sub: body.system_integrations.channel.private.user.id,
		customUserId: body.system_integrations.chat.private.user_payload.custom_user_id,
		expiredRefused: body.stand_in.expired_tokens_refused}))`)
	if refreshed.Expired < 1 {
		t.Errorf("after expiry: stand-in refused %d expired tokens, want at least 1", refreshed.Expired)
	}
	if refreshed.Sub != first.Sub || refreshed.CustomUserID != "cade-id" {
		t.Errorf("after refresh: got sub %q custom_user_id %q, want %q and cade-id", refreshed.Sub, refreshed.CustomUserID, first.Sub)
	}
	if !strings.Contains(logs.String(), "token expired") {
		t.Errorf("demo log does not mention the expired token:\n%s", logs)
	}
	// Still hidden past the new token's renewal time: nothing; shown again:
	// the renewal that came due runs at once.
	fallbackTokens := tr.tokens()
	b.sleepUntil(tr.lastExp().Add(-200 * time.Millisecond))
	if n := tr.tokens() - fallbackTokens; n != 0 {
		t.Errorf("the hidden tab renewed its token %d times, want none", n)
	}
	show()
	if !tr.waitTokens(b.ctx, fallbackTokens+1, 10*time.Second) {
		t.Errorf("no renewal after the tab became visible again (server issued %d tokens)", tr.tokens())
	}
	b.shots.take(b.ctx, "3-refreshed")

	// 4. Logout: IBM's way by default: destroySession() and a page reload.
	// The payload is anonymous again and sub has not changed (the default
	// LogoutPolicy keeps the anonymous ID).
	eval[bool](b, "mark the page", `window.beforeLogout = true`)
	b.clickReloading("login")
	b.waitGreeting("Hello, anonymous visitor.")
	if eval[bool](b, "read the mark", `window.beforeLogout === true`) {
		t.Error("logout did not reload the page, want destroySession and a reload")
	}
	out := b.send("after logout", 1)
	if out.Sub != first.Sub || out.CustomUserID != first.Sub || out.Name != "Anonymous" {
		t.Errorf("after logout: got sub %q name %q custom_user_id %q, want %q, Anonymous, %q", out.Sub, out.Name, out.CustomUserID, first.Sub, first.Sub)
	}
	b.shots.take(b.ctx, "4-logged-out")

	// 5. No CSP violation, no webchatid.js error, no failed request (the 204
	// answers of /authenticate and /logout are read, so Chromium does not
	// list them as aborted), and the page would have noticed a violation: an
	// inline script added now must be blocked and counted.
	b.checkHealthy()
	for _, p := range []string{"/authenticate", "/logout"} {
		if !b.net.saw(p) {
			t.Errorf("the network log has no request to %s, so the check above proves nothing", p)
		}
	}
	b.step("inline script is blocked",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.appendChild(s); })()`),
		wait(`window.cspViolations.length > 0`))
	if eval[bool](b, "check the inline script", `window.inlineRan === true`) {
		t.Error("an inline script ran, want it blocked by the CSP")
	}
	// The console message travels over the DevTools connection on its own,
	// so it can arrive after the page counted the violation: wait for it.
	if !b.console.waitFor(b.ctx, "Content Security Policy", 10*time.Second) {
		t.Errorf("the blocked inline script left no CSP message in the console, so the check above proves nothing:\n%s", b.console)
	}
}

// sleepUntil lets real time pass: the browser test needs tokens to expire.
func (b *browser) sleepUntil(at time.Time) {
	b.t.Helper()
	select {
	case <-time.After(time.Until(at)):
	case <-b.ctx.Done():
		b.t.Fatal(b.ctx.Err())
	}
}

// TestTokenRenewedAheadInChromium: with 6-second tokens, a page that sends a
// message every quarter second for several token lifetimes never has one
// refused (no 401, no identityTokenExpired after the session's first), and
// each token sees at most one /createJWT in its lifetime, made before it
// expired. The requests are counted by the server.
func TestTokenRenewedAheadInChromium(t *testing.T) {
	const ttl = 6 * time.Second
	tr := &traffic{}
	url, logs := startDemoWith(t, tr.wrap,
		"-key", filepath.Join("testdata", "signing-key.pem"),
		"-standin-key", filepath.Join("testdata", "standin-ibm-key.pem"),
		"-ttl", ttl.String())
	b := openBrowser(t, url, logs)
	b.step("load page", chromedp.Navigate(url))
	b.waitGreeting("Hello, anonymous visitor.")
	eval[bool](b, "start the probe", `(() => {
		window.probe = {ok: 0, errors: []};
		(async () => {
			while (!window.stopProbe) {
				try { await demoChat.send('tick'); probe.ok++; } catch (e) { probe.errors.push(String(e.message)); }
				await new Promise((r) => setTimeout(r, 250));
			}
			probe.done = true;
		})();
		return true;
	})()`)
	const want = 5 // the first token and four renewals: four lifetimes and more
	if !tr.waitTokens(b.ctx, want, 60*time.Second) {
		t.Fatalf("the server issued %d tokens, want %d\nconsole:\n%s\ndemo log:\n%s", tr.tokens(), want, b.console, logs)
	}
	type probe struct {
		OK     int      `json:"ok"`
		Errors []string `json:"errors"`
		Asked  int      `json:"asked"`
		Expiry int      `json:"expired"`
	}
	p := eval[probe](b, "stop the probe", `(async () => {
		window.stopProbe = true;
		while (!probe.done) await new Promise((r) => setTimeout(r, 50));
		return {ok: probe.ok, errors: probe.errors, asked: demoChat.stats.asked, expired: demoChat.stats.expired};
	})()`)
	if n := tr.count("/standin/message", http.StatusUnauthorized); n != 0 {
		t.Errorf("the stand-in refused %d messages (401), want none", n)
	}
	if len(p.Errors) != 0 || p.Asked != 1 || p.Expiry != 0 {
		t.Errorf("page: %d answered, errors %q, identityTokenExpired fired %d times, %d refused; want no error, 1 (session start), 0", p.OK, p.Errors, p.Asked, p.Expiry)
	}
	if p.OK < 20 {
		t.Errorf("only %d messages answered over %d token lifetimes, want a message every quarter second", p.OK, want-1)
	}
	issued := tr.issued()
	for i, tok := range issued[:len(issued)-1] {
		within := 0
		for _, later := range issued[i+1:] {
			if later.At.Before(tok.Exp) {
				within++
			}
		}
		if within > 1 {
			t.Errorf("token %d (issued %v, exp %v) saw %d /createJWT in its lifetime, want at most 1", i, tok.At.Format(time.StampMilli), tok.Exp.Format(time.StampMilli), within)
		}
		if next := issued[i+1]; !next.At.Before(tok.Exp) {
			t.Errorf("token %d (exp %v) was renewed at %v, after it expired", i, tok.Exp.Format(time.StampMilli), next.At.Format(time.StampMilli))
		}
	}
	b.checkHealthy()
}

// TestSubChangeEndsSessionInChromium: with -subject user-id, login and logout
// change sub. IBM's web chat refuses a token with another sub within a
// session, and so does the stand-in, so webchatid.js must end the session
// (each of IBM's two ways) before web chat gets the new sub.
func TestSubChangeEndsSessionInChromium(t *testing.T) {
	for _, mode := range []string{"reload", "destroy"} {
		t.Run(mode, func(t *testing.T) {
			tr := &traffic{}
			url, logs := startDemoWith(t, tr.wrap,
				"-key", filepath.Join("testdata", "signing-key.pem"),
				"-standin-key", filepath.Join("testdata", "standin-ibm-key.pem"),
				"-subject", "user-id", "-session-end", mode)
			b := openBrowser(t, url, logs)
			b.step("load page", chromedp.Navigate(url))
			b.waitGreeting("Hello, anonymous visitor.")
			first := b.send("hello", 1)
			if !strings.HasPrefix(first.Sub, "anon-") {
				t.Fatalf("got sub %q, want an anon-… ID", first.Sub)
			}
			eval[bool](b, "mark the page", `window.mark = true`)
			click := func() {
				if mode == "reload" {
					b.clickReloading("login")
				} else {
					b.step("click", chromedp.Click(chromedp.ID("login")))
				}
			}
			click() // login
			b.waitGreeting("Welcome back, Cade!")
			if kept := eval[bool](b, "read the mark", `window.mark === true`); kept != (mode == "destroy") {
				t.Errorf("page kept across login: %v, want %v for sessionEnd %s", kept, mode == "destroy", mode)
			}
			in := b.send("after login", 1) // a new session: its first answer
			if in.Sub != "user-cade-id" || in.CustomUserID != "cade-id" {
				t.Errorf("after login: got sub %q custom_user_id %q, want user-cade-id and cade-id", in.Sub, in.CustomUserID)
			}
			click() // logout
			b.waitGreeting("Hello, anonymous visitor.")
			out := b.send("after logout", 1)
			if out.Sub != first.Sub {
				t.Errorf("after logout: got sub %q, want the anonymous ID %q", out.Sub, first.Sub)
			}
			if n := tr.count("/standin/message", http.StatusUnauthorized); n != 0 || out.SubChangesRefused != 0 {
				t.Errorf("the stand-in refused %d messages (%d for a changed sub), want none\ndemo log:\n%s", n, out.SubChangesRefused, logs)
			}
			b.checkHealthy()
		})
	}
}

// TestLogoutRotationInChromium: with -logout-policy on-request, a logout
// keeps the anonymous ID (and sub) unless the page's "shared device" box asks
// for a new one, as webchatid.logout({rotateAnonymousID: true}) does.
func TestLogoutRotationInChromium(t *testing.T) {
	url, logs := startDemo(t,
		"-key", filepath.Join("testdata", "signing-key.pem"),
		"-standin-key", filepath.Join("testdata", "standin-ibm-key.pem"),
		"-logout-policy", "on-request")
	b := openBrowser(t, url, logs)
	b.step("load page", chromedp.Navigate(url))
	b.waitGreeting("Hello, anonymous visitor.")
	first := b.send("hello", 1)

	cycle := func(shared bool) answer {
		t.Helper()
		b.step("login", chromedp.Click(chromedp.ID("login")))
		b.waitGreeting("Welcome back, Cade!")
		if shared {
			b.step("tick the shared device box", chromedp.Click(chromedp.ID("shared-device")))
		}
		b.clickReloading("login")
		b.waitGreeting("Hello, anonymous visitor.")
		return b.send("after logout", 1)
	}
	kept := cycle(false)
	if kept.Sub != first.Sub {
		t.Errorf("after a keeping logout: got sub %q, want the same %q", kept.Sub, first.Sub)
	}
	rotated := cycle(true)
	if rotated.Sub == first.Sub || !strings.HasPrefix(rotated.Sub, "anon-") {
		t.Errorf("after a rotating logout: got sub %q, want a new anon-… ID, not %q", rotated.Sub, first.Sub)
	}
	if rotated.CustomUserID != rotated.Sub {
		t.Errorf("after a rotating logout: got custom_user_id %q, want the new sub %q", rotated.CustomUserID, rotated.Sub)
	}
	b.checkHealthy()
}

// traffic records the requests the demo answers, for tests that count them
// on the server's side.
type traffic struct {
	mu      sync.Mutex
	reqs    []served
	changed chan struct{} // closed and replaced at each request
}

// served is one answered request; Exp is the expiry of an issued token.
type served struct {
	At     time.Time
	Path   string
	Status int
	Exp    time.Time
}

func (tr *traffic) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recordingWriter{ResponseWriter: w, status: http.StatusOK, keep: r.URL.Path == "/createJWT"}
		at := time.Now()
		next.ServeHTTP(rec, r)
		s := served{At: at, Path: r.URL.Path, Status: rec.status}
		if rec.keep && rec.status == http.StatusOK {
			s.Exp = tokenExpiry(rec.body.Bytes())
		}
		tr.mu.Lock()
		tr.reqs = append(tr.reqs, s)
		if tr.changed != nil {
			close(tr.changed)
			tr.changed = nil
		}
		tr.mu.Unlock()
	})
}

// tokenExpiry reads exp from a /createJWT answer (JSON or the bare token).
func tokenExpiry(body []byte) time.Time {
	var j struct {
		Token string `json:"token"`
	}
	token := string(bytes.TrimSpace(body))
	if json.Unmarshal(body, &j) == nil && j.Token != "" {
		token = j.Token
	}
	tok, err := jwt.ParseInsecure([]byte(token))
	if err != nil {
		return time.Time{}
	}
	return tok.Expiration()
}

// issued returns the token requests answered 200, in order.
func (tr *traffic) issued() []served {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []served
	for _, s := range tr.reqs {
		if s.Path == "/createJWT" && s.Status == http.StatusOK {
			out = append(out, s)
		}
	}
	return out
}

func (tr *traffic) tokens() int { return len(tr.issued()) }

// lastExp is the expiry of the last token issued.
func (tr *traffic) lastExp() time.Time {
	is := tr.issued()
	if len(is) == 0 {
		return time.Time{}
	}
	return is[len(is)-1].Exp
}

// count returns how many requests to path were answered with status.
func (tr *traffic) count(path string, status int) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, s := range tr.reqs {
		if s.Path == path && s.Status == status {
			n++
		}
	}
	return n
}

// waitTokens reports whether n tokens were issued within d.
func (tr *traffic) waitTokens(ctx context.Context, n int, d time.Duration) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		tr.mu.Lock()
		if tr.changed == nil {
			tr.changed = make(chan struct{})
		}
		changed := tr.changed
		tr.mu.Unlock()
		if tr.tokens() >= n {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// recordingWriter notes the status and, when keep is set, the body.
type recordingWriter struct {
	http.ResponseWriter
	status int
	keep   bool
	body   bytes.Buffer
}

func (w *recordingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.keep {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// netLog records the page's requests and those the browser reports failed.
type netLog struct {
	mu     sync.Mutex
	urls   map[network.RequestID]string
	failed []string
}

func collectNetwork(ctx context.Context) (*netLog, error) {
	n := &netLog{urls: make(map[network.RequestID]string)}
	err := chromedp.Listen(ctx, func(ev any) {
		n.mu.Lock()
		defer n.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			n.urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFailed:
			n.failed = append(n.failed, n.urls[e.RequestID]+": "+e.ErrorText)
		}
	})
	return n, err
}

func (n *netLog) failures() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.failed...)
}

// saw reports whether a request to a URL ending in path was made.
func (n *netLog) saw(path string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, u := range n.urls {
		if strings.HasSuffix(u, path) {
			return true
		}
	}
	return false
}

// consoleLog collects the browser's console messages and log entries.
type consoleLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each new line
}

func collectConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{changed: make(chan struct{})}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.lines = append(c.lines, strings.TrimSpace(m.Source+" "+m.String()))
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
	}()
	return c
}

// waitFor reports whether a line containing s arrives within d.
func (c *consoleLog) waitFor(ctx context.Context, s string, d time.Duration) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		found := strings.Contains(strings.Join(c.lines, "\n"), s)
		changed := c.changed
		c.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// screenshots saves a PNG per step into $WEBCHATID_SCREENSHOTS, when set.
type screenshots struct {
	t   *testing.T
	dir string
}

func newScreenshots(t *testing.T) *screenshots {
	dir := os.Getenv("WEBCHATID_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &screenshots{t: t, dir: dir}
}

func (s *screenshots) take(ctx context.Context, name string) {
	s.t.Helper()
	if s.dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	s.t.Logf("screenshot %s", path)
}
