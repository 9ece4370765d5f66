package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/webchatid/webchatid/internal/testpeer"
)

// startDemo runs the demo in-process on a free loopback port and returns its
// URL and its log. The demo stops when the test ends.
func startDemo(t *testing.T, args ...string) (url string, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	urlc := make(chan string, 1)
	errc := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-ledger", "memory"}, args...)
	go func() { errc <- run(ctx, args, logs, logs, func(u string) { urlc <- u }) }()
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
	Count        int    `json:"count"`
	Sub          string `json:"sub"`
	CustomUserID string `json:"customUserId"`
	Name         string `json:"name"`
	ExpiresAt    string `json:"expiresAt"`
	Expired      int    `json:"expiredRefused"`
}

const lastAnswerJS = `(() => {
	const all = document.querySelectorAll('#messages li.bot');
	const li = all[all.length - 1];
	return li ? Object.assign({}, li.dataset, {count: all.length, expiredRefused: Number(li.dataset.expiredRefused)}) : {count: 0};
})()`

// TestDemoInChromium drives the demo's page in headless Chromium through the
// tutorial: anonymous chat, login mid-session (same sub, new user_payload),
// automatic refresh of an expired token, logout, all under a strict CSP.
func TestDemoInChromium(t *testing.T) {
	chromium := findChromium(t)
	const ttl = 3 * time.Second
	url, logs := startDemo(t,
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

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
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
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	console := collectConsole(bctx)
	shots := newScreenshots(t)
	fail := func(what string, err error) {
		t.Helper()
		t.Fatalf("%s: %v\nbrowser console:\n%s\ndemo log:\n%s", what, err, console, logs)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			fail(what, err)
		}
	}
	wait := func(predicate string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(15*time.Second))
	}
	lastAnswer := func() answer {
		t.Helper()
		a, err := chromedp.Run(bctx, chromedp.Evaluate[answer](lastAnswerJS))
		if err != nil {
			fail("read the last answer", err)
		}
		return a
	}
	send := func(text string, wantCount int) answer {
		t.Helper()
		step("send "+text,
			chromedp.SetValue(chromedp.ID("chat-input"), text),
			chromedp.Click(chromedp.ID("send")),
			wait(fmt.Sprintf(`document.querySelectorAll('#messages li.bot').length >= %d || document.querySelector('#messages li.error') !== null`, wantCount)),
		)
		a := lastAnswer()
		if a.Count < wantCount {
			page, _ := chromedp.Run(bctx, chromedp.TextContent(chromedp.ID("messages")))
			t.Fatalf("after %q: got %d answers, want %d; page says:\n%s\nconsole:\n%s\ndemo log:\n%s", text, a.Count, wantCount, page, console, logs)
		}
		return a
	}
	waitGreeting := func(want string) {
		t.Helper()
		step("greeting "+want, wait(fmt.Sprintf(
			`document.getElementById('greeting').textContent === %q && !document.getElementById('login').disabled`, want)))
	}

	// 1. Anonymous: sub is the anonymous ID, and so is custom_user_id.
	step("load page", chromedp.Navigate(url))
	waitGreeting("Hello, anonymous visitor.")
	first := send("hello", 1)
	if !strings.HasPrefix(first.Sub, "anon-") {
		t.Fatalf("got sub %q, want an anon-… ID", first.Sub)
	}
	if first.CustomUserID != first.Sub || first.Name != "Anonymous" {
		t.Errorf("anonymous: got user_payload name %q custom_user_id %q, want %q and the sub %q", first.Name, first.CustomUserID, "Anonymous", first.Sub)
	}
	shots.take(bctx, "1-anonymous")

	// 2. Login mid-session: same sub, the user in user_payload.
	step("login", chromedp.Click(chromedp.ID("login")))
	waitGreeting("Welcome back, Cade!")
	loggedIn := send("after login", 2)
	if loggedIn.Sub != first.Sub {
		t.Errorf("after login: got sub %q, want the same %q", loggedIn.Sub, first.Sub)
	}
	if loggedIn.CustomUserID != "cade-id" || loggedIn.Name != "Cade" {
		t.Errorf("after login: got name %q custom_user_id %q, want Cade and cade-id", loggedIn.Name, loggedIn.CustomUserID)
	}
	shots.take(bctx, "2-logged-in")

	// 3. Expiry: wait until the token the page holds has expired (the
	// stand-in allows no leeway; exp has one-second resolution), then the
	// next message is refused once, the page fetches a new token through
	// webchatid.js and the retry is answered.
	exp, err := time.Parse(time.RFC3339, loggedIn.ExpiresAt)
	if err != nil {
		t.Fatalf("token expiry %q: %v", loggedIn.ExpiresAt, err)
	}
	if d := time.Until(exp); d > 2*ttl {
		t.Fatalf("token expires in %v, want about %v", d, ttl)
	}
	select {
	case <-time.After(time.Until(exp) + 1100*time.Millisecond):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	refreshed := send("after expiry", 3)
	if refreshed.Expired < 1 {
		t.Errorf("after expiry: stand-in refused %d expired tokens, want at least 1", refreshed.Expired)
	}
	pageExpired, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.ID("expired-count")))
	if err != nil {
		fail("read the counter", err)
	}
	if pageExpired == "0" {
		t.Errorf("after expiry: page counted %s refused tokens, want at least 1", pageExpired)
	}
	if refreshed.Sub != first.Sub || refreshed.CustomUserID != "cade-id" {
		t.Errorf("after refresh: got sub %q custom_user_id %q, want %q and cade-id", refreshed.Sub, refreshed.CustomUserID, first.Sub)
	}
	if !strings.Contains(logs.String(), "token expired") {
		t.Errorf("demo log does not mention the expired token:\n%s", logs)
	}
	shots.take(bctx, "3-refreshed")

	// 4. Logout: destroySession clears the chat; the payload is anonymous
	// again and sub has not changed.
	step("logout", chromedp.Click(chromedp.ID("login")))
	waitGreeting("Hello, anonymous visitor.")
	out := send("after logout", 1)
	if out.Sub != first.Sub || out.CustomUserID != first.Sub || out.Name != "Anonymous" {
		t.Errorf("after logout: got sub %q name %q custom_user_id %q, want %q, Anonymous, %q", out.Sub, out.Name, out.CustomUserID, first.Sub, first.Sub)
	}
	shots.take(bctx, "4-logged-out")

	// 5. No CSP violation happened, and the page would have noticed one:
	// an inline script added now must be blocked and counted.
	violations, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`window.cspViolations`))
	if err != nil {
		fail("read CSP violations", err)
	}
	if len(violations) != 0 || strings.Contains(console.String(), "Content Security Policy") {
		t.Errorf("got CSP violations %q, want none; console:\n%s", violations, console)
	}
	if strings.Contains(console.String(), "webchatid:") {
		t.Errorf("webchatid.js reported an error:\n%s", console)
	}
	step("inline script is blocked",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true'; document.body.appendChild(s); })()`),
		wait(`window.cspViolations.length > 0`))
	inlineRan, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.inlineRan === true`))
	if err != nil {
		fail("check the inline script", err)
	}
	if inlineRan {
		t.Error("an inline script ran, want it blocked by the CSP")
	}
	// The console message travels over the DevTools connection on its own,
	// so it can arrive after the page counted the violation: wait for it.
	if !console.waitFor(ctx, "Content Security Policy", 10*time.Second) {
		t.Errorf("the blocked inline script left no CSP message in the console, so the check above proves nothing:\n%s", console)
	}
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

// syncBuffer is a bytes.Buffer safe for the demo's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
