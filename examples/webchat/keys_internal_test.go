package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/internal/leakcheck"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// Keys of the rotation tests (never use them for anything else): the demo's
// signing key A, identity's test key B, and fixed secrets.
const (
	signingA = "testdata/signing-key.pem"
	signingB = "../../identity/testdata/rsa2048-b.pkcs8.pem"
)

var (
	sessionA, sessionB = bytes.Repeat([]byte{0x5a}, 32), bytes.Repeat([]byte{0x5b}, 32)
	bindingA, bindingB = bytes.Repeat([]byte{0xba}, 32), bytes.Repeat([]byte{0xbb}, 32)
)

// keyDir holds the key files a fleet shares: each kind as the key in use
// and the previous one, fixed names whose contents a deploy replaces.
type keyDir struct {
	t   *testing.T
	dir string
}

func newKeyDir(t *testing.T) *keyDir {
	d := &keyDir{t: t, dir: t.TempDir()}
	a := d.read(signingA)
	d.install(map[string][]byte{
		"signing.pem": a, "previous.pem": a,
		"session.key": hexLine(sessionA), "session-previous.key": hexLine(sessionA),
		"binding.key": hexLine(bindingA), "binding-previous.key": hexLine(bindingA),
	})
	return d
}

func hexLine(b []byte) []byte { return []byte(hex.EncodeToString(b) + "\n") }

func (d *keyDir) read(path string) []byte {
	d.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		d.t.Fatal(err)
	}
	return b
}

// install writes each file beside its name and renames it over, as a
// deploy tool does.
func (d *keyDir) install(files map[string][]byte) {
	d.t.Helper()
	for name, data := range files {
		p := filepath.Join(d.dir, name)
		if err := os.WriteFile(p+".tmp", data, 0o600); err != nil {
			d.t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			d.t.Fatal(err)
		}
	}
}

// flags are the demo's key flags for the directory, as README.md gives them.
func (d *keyDir) flags() []string {
	p := func(n string) string { return filepath.Join(d.dir, n) }
	return []string{
		"-key", p("signing.pem"), "-key", p("previous.pem"),
		"-session-key", p("session.key"), "-session-key", p("session-previous.key"),
		"-binding-key", p("binding.key"), "-binding-key", p("binding-previous.key"),
	}
}

// rotatingDemo is the demo run in-process with a reload trigger.
type rotatingDemo struct {
	t        *testing.T
	url      string
	logs     *logbuf.Buffer
	reload   chan struct{}
	reloaded chan error
	client   *http.Client
}

func startRotatingDemo(t *testing.T, args ...string) *rotatingDemo {
	t.Helper()
	d := &rotatingDemo{t: t, logs: &logbuf.Buffer{}, reload: make(chan struct{}), reloaded: make(chan error)}
	ctx, cancel := context.WithCancel(context.Background())
	urlc, errc := make(chan string, 1), make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-ledger", "memory", "-standin-key", "testdata/standin-ibm-key.pem"}, args...)
	go func() {
		errc <- runDemo(ctx, args, d.logs, d.logs, hooks{
			ready:    func(u string) { urlc <- u },
			reload:   d.reload,
			reloaded: func(err error) { d.reloaded <- err },
		})
	}()
	select {
	case d.url = <-urlc:
	case err := <-errc:
		cancel()
		t.Fatalf("demo did not start: %v\n%s", err, d.logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("demo did not start within 30 s\n%s", d.logs)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	d.client = &http.Client{Jar: jar, Transport: tr}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("demo exited with %v", err)
		}
	})
	return d
}

// doReload triggers a reload, as SIGHUP does, and returns how it went.
func (d *rotatingDemo) doReload() error {
	d.t.Helper()
	select {
	case d.reload <- struct{}{}:
	case <-time.After(30 * time.Second):
		d.t.Fatal("the demo did not take the reload within 30 s")
	}
	select {
	case err := <-d.reloaded:
		return err
	case <-time.After(30 * time.Second):
		d.t.Fatal("the reload did not finish within 30 s")
		return nil
	}
}

func (d *rotatingDemo) send(method, path, auth string) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.url+path, strings.NewReader(`{"text":"hi"}`))
	if err != nil {
		d.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func (d *rotatingDemo) token() string {
	d.t.Helper()
	code, body := d.send("GET", "createJWT", "")
	if code != http.StatusOK {
		d.t.Fatalf("GET /createJWT: got %d %q", code, body)
	}
	return body
}

func (d *rotatingDemo) jwks() jwk.Set {
	d.t.Helper()
	_, body := d.send("GET", ".well-known/jwks.json", "")
	set, err := jwk.Parse([]byte(body))
	if err != nil {
		d.t.Fatal(err)
	}
	return set
}

func (d *rotatingDemo) kids() []string {
	d.t.Helper()
	set := d.jwks()
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, k.KeyID())
	}
	return kids
}

func (d *rotatingDemo) loggedIn() bool {
	d.t.Helper()
	_, body := d.send("GET", "session", "")
	var s struct {
		LoggedIn bool `json:"logged_in"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		d.t.Fatalf("GET /session: %v (%q)", err, body)
	}
	return s.LoggedIn
}

// verifies reports whether the demo's JWKS verifies token.
func (d *rotatingDemo) verifies(token string) bool {
	d.t.Helper()
	_, err := claims.Verify(token, d.jwks())
	return err == nil
}

// kidOf returns the kid of the private key PEM file at path.
func kidOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return pemKeyID(t, b)
}

// tokenPart decodes the JSON of a token's header (0) or claims (1) into v,
// unverified.
func tokenPart(t *testing.T, token string, i int, v any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func tokenKid(t *testing.T, token string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	tokenPart(t, token, 0, &h)
	return h.Kid
}

func mustSub(t *testing.T, token string) string {
	t.Helper()
	var c struct {
		Sub string `json:"sub"`
	}
	tokenPart(t, token, 1, &c)
	return c.Sub
}

// A rotation rolled through the files and a reload (SIGHUP): the new key
// signs, the old one still verifies, logins and anonymous IDs survive; a bad
// file changes nothing; dropping the old keys retires what they made. The
// demo leaves no goroutine behind.
func TestDemoRotatesKeysOnReload(t *testing.T) {
	leakcheck.Check(t)
	files := newKeyDir(t)
	d := startRotatingDemo(t, append(files.flags(), "-watch-interval", "0")...)
	kidA, kidB := kidOf(t, signingA), kidOf(t, signingB)

	oldToken := d.token()
	if code, body := d.send("POST", "authenticate", ""); code >= 300 {
		t.Fatalf("login: %d %q", code, body)
	}
	sub := mustSub(t, oldToken)
	if got := d.kids(); !slices.Equal(got, []string{kidA}) {
		t.Fatalf("JWKS before rotation: got %v, want [%s]", got, kidA)
	}

	// Roll: B signs, A verifies; new secrets first, the old ones kept.
	files.install(map[string][]byte{
		"signing.pem": files.read(signingB), "session.key": hexLine(sessionB), "binding.key": hexLine(bindingB),
	})
	if err := d.doReload(); err != nil {
		t.Fatalf("reload: %v\n%s", err, d.logs)
	}
	if got := d.kids(); !slices.Equal(got, []string{kidB, kidA}) {
		t.Errorf("JWKS after rotation: got %v, want [%s %s]", got, kidB, kidA)
	}
	newToken := d.token()
	if got := tokenKid(t, newToken); got != kidB {
		t.Errorf("new token's kid: got %s, want %s", got, kidB)
	}
	if !d.verifies(oldToken) || !d.verifies(newToken) {
		t.Error("the JWKS does not verify both the old and the new token")
	}
	if got := mustSub(t, newToken); got != sub {
		t.Errorf("sub changed across the rotation: %s, then %s", sub, got)
	}
	if !d.loggedIn() {
		t.Error("the login sealed with the old session key was lost")
	}
	// The stand-in holds one key, as IBM's Security tab does: the new one.
	if code, _ := d.send("POST", "standin/message", oldToken); code != http.StatusUnauthorized {
		t.Errorf("stand-in with the old key's token: got %d, want 401 (web chat then asks for a new token)", code)
	}
	if code, body := d.send("POST", "standin/message", newToken); code != http.StatusOK {
		t.Errorf("stand-in with the new token: got %d %q", code, body)
	}
	if !strings.Contains(d.logs.String(), `msg="keys: keys reloaded" role=active kid=`+kidB) {
		t.Errorf("log lacks the new kid:\n%s", d.logs)
	}

	// A bad file keeps every key.
	files.install(map[string][]byte{"previous.pem": []byte("not a key")})
	if err := d.doReload(); err == nil {
		t.Error("reload of a bad key file: got no error")
	}
	if got := d.kids(); !slices.Equal(got, []string{kidB, kidA}) {
		t.Errorf("JWKS after a bad file: got %v, want it unchanged", got)
	}
	if !strings.Contains(d.logs.String(), `msg="keys: reload failed; keeping the previous keys"`) {
		t.Errorf("log lacks the failed reload:\n%s", d.logs)
	}

	// Later, drop the old keys.
	files.install(map[string][]byte{
		"previous.pem": files.read(signingB), "session-previous.key": hexLine(sessionB), "binding-previous.key": hexLine(bindingB),
	})
	if err := d.doReload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := d.kids(); !slices.Equal(got, []string{kidB}) {
		t.Errorf("JWKS after dropping A: got %v, want [%s]", got, kidB)
	}
	if d.verifies(oldToken) {
		t.Error("the old key's token still verifies after A was dropped")
	}
	if d.loggedIn() {
		t.Error("a login sealed only with the dropped session key is still accepted")
	}
	if got := mustSub(t, d.token()); got != sub {
		t.Errorf("anonymous ID lost although its cookie was re-bound with the new key: %s, then %s", sub, got)
	}
}

// With -watch-interval, the demo picks up a change without a signal.
func TestDemoWatchesKeyFiles(t *testing.T) {
	files := newKeyDir(t)
	d := startRotatingDemo(t, append(files.flags(), "-watch-interval", "10ms")...)
	kidB := kidOf(t, signingB)
	files.install(map[string][]byte{"signing.pem": files.read(signingB)})
	for deadline := time.Now().Add(time.Minute); tokenKid(t, d.token()) != kidB; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not pick up the new signing key within a minute\n%s", d.logs)
		}
	}
}

// Without key files a reload changes nothing and says so.
func TestDemoReloadWithoutKeyFiles(t *testing.T) {
	d := startRotatingDemo(t)
	if err := d.doReload(); err == nil || !strings.Contains(err.Error(), "no key files") {
		t.Errorf("got %v, want an error saying there are no key files", err)
	}
}

// The real binary reloads its key files on SIGHUP.
func TestMainReloadsOnSIGHUP(t *testing.T) {
	files := newKeyDir(t)
	cmd := mainCommand(strings.Join(append(files.flags(), "-watch-interval", "0", "-addr", "127.0.0.1:0", "-ledger", "memory", "-standin-key", "testdata/standin-ibm-key.pem"), " "))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	var seen string
	buf := make([]byte, 4096)
	for !strings.Contains(seen, "/  (web chat") {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("demo printed no URL: %v (%q)", err, seen)
		}
		seen += string(buf[:n])
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	_, rest, _ := strings.Cut(seen, "open ")
	url, _, _ := strings.Cut(rest, " ")
	d := &rotatingDemo{t: t, url: url, client: &http.Client{}}
	kidB := kidOf(t, signingB)

	files.install(map[string][]byte{"signing.pem": files.read(signingB)})
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); !slices.Contains(d.kids(), kidB); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the demo did not load the new key within a minute of SIGHUP")
		}
	}
	if got := tokenKid(t, d.token()); got != kidB {
		t.Errorf("token after SIGHUP: kid %s, want %s", got, kidB)
	}
}

// WEBCHATID_BINDING_KEY is read as a -binding-key file is: hex or base64 of
// at least 32 random bytes; anything else stops the demo with an error that
// names the variable and never quotes its value.
func TestBindingKeyFromEnv(t *testing.T) {
	key := bytes.Repeat([]byte{0xa5, 0x3c}, 16)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, v := range []string{hex.EncodeToString(key), " " + hex.EncodeToString(key) + "\n", base64.StdEncoding.EncodeToString(key)} {
		t.Setenv("WEBCHATID_BINDING_KEY", v)
		got, err := bindingKey(discard)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("WEBCHATID_BINDING_KEY=%q: got %x, %v; want %x", v, got, err, key)
		}
	}
	for v, want := range map[string]string{
		strings.Repeat("00", 32):           "all zeros",
		hex.EncodeToString(key[:16]):       "16 bytes",
		"correct-horse.battery!staple#123": "neither hex nor base64",
		"correct horse battery staple 123": "21 bytes", // base64 once the spaces go
		strings.Repeat("ab", 32) + "c":     "odd number",
	} {
		t.Setenv("WEBCHATID_BINDING_KEY", v)
		got, err := bindingKey(discard)
		if err == nil {
			t.Errorf("WEBCHATID_BINDING_KEY=%q: got a %d-byte key, want an error", v, len(got))
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "WEBCHATID_BINDING_KEY") || !strings.Contains(msg, want) {
			t.Errorf("WEBCHATID_BINDING_KEY=%q: error %q, want one naming the variable and saying %q", v, msg, want)
		}
		if strings.Contains(msg, strings.TrimSpace(v)) {
			t.Errorf("WEBCHATID_BINDING_KEY=%q: the error quotes the value: %q", v, msg)
		}
	}
}
