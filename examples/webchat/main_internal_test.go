package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
	"github.com/webchatid/webchatid/internal/testpeer"
)

// TestMain lets a test run the real main in a child process (see runMain).
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("WEBCHAT_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"webchat"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testKeys(t *testing.T) (signing, standinKey *rsa.PrivateKey) {
	t.Helper()
	load := func(name string) *rsa.PrivateKey {
		k, err := keys.LoadPrivateFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return k.(*rsa.PrivateKey)
	}
	return load("signing-key.pem"), load("standin-ibm-key.pem")
}

func TestStandin(t *testing.T) {
	signing, ibm := testKeys(t)
	signer, err := claims.NewSigner(signing)
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := claims.NewSigner(ibm) // a key the stand-in does not trust
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payload := map[string]string{"name": "Cade", "custom_user_id": "cade-id"}
	token := func(s *claims.Signer, issued time.Time, encrypt bool) string {
		t.Helper()
		b := claims.NewBuilder().Subject("anon-1").IssuedAt(issued).TTL(time.Minute).UserPayload(payload)
		if encrypt {
			b = b.EncryptFor(&ibm.PublicKey, claims.NodeRSA)
		}
		tok, err := b.Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	tests := []struct {
		name       string
		auth       string
		noKey      bool // the stand-in lacks the payload key (-ibm-public-key without IBM settings)
		wantStatus int
		wantError  string
		wantUser   string // "" when the stand-in cannot read user_payload
		wantState  string // stand_in.user_payload
	}{
		{"encrypted payload is decrypted", "Bearer " + token(signer, now, true), false, 200, "", "cade-id", payloadDecrypted},
		{"clear payload is passed on", "Bearer " + token(signer, now, false), false, 200, "", "cade-id", payloadClear},
		{"payload encrypted for a key the stand-in lacks is reported unreadable", "Bearer " + token(signer, now, true), true, 200, "", "", payloadUnreadable},
		{"token expired a second ago is refused as expired", "Bearer " + token(signer, now.Add(-time.Minute-time.Second), true), false, 401, "token expired", "", ""},
		{"token from another key is refused", "Bearer " + token(otherSigner, now, true), false, 401, "token invalid", "", ""},
		{"garbage is refused", "Bearer not.a.jwt", false, 401, "token invalid", "", ""},
		{"missing token is refused", "", false, 401, "no identity token", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &standin{verifyKey: func() crypto.PublicKey { return signing.Public() }, payloadKey: ibm, log: discardLogger(), now: func() time.Time { return now }}
			if tc.noKey {
				s.payloadKey = nil
			}
			r := httptest.NewRequest(http.MethodPost, "/standin/message", strings.NewReader(`{"text":"hi"}`))
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			if rec.Code != tc.wantStatus {
				t.Fatalf("got status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantStatus != 200 {
				var m map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				if m["error_description"] != tc.wantError {
					t.Errorf("got error_description %q, want %q", m["error_description"], tc.wantError)
				}
				if tc.wantError == "token expired" && s.expired.Load() != 1 {
					t.Errorf("got %d expired tokens counted, want 1", s.expired.Load())
				}
				return
			}
			var a standinAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			if got := a.SystemIntegrations.Channel.Private.User.ID; got != "anon-1" {
				t.Errorf("got user.id %q, want anon-1", got)
			}
			checkStandinPayload(t, a, tc.wantState, tc.wantUser)
		})
	}
}

// checkStandinPayload checks that a stand-in answer says what it did with
// user_payload, and only that: a greeting by name when it could read the
// payload, never "Anonymous" nor a claim of decryption when it could not.
func checkStandinPayload(t *testing.T, a standinAnswer, wantState, wantUser string) {
	t.Helper()
	if a.StandIn.UserPayload != wantState {
		t.Errorf("got stand_in.user_payload %q, want %q", a.StandIn.UserPayload, wantState)
	}
	note := a.StandIn.UserPayloadNote
	if wantUser == "" {
		if len(a.SystemIntegrations.Chat.Private.UserPayload) != 0 {
			t.Errorf("got user_payload %s, want none: the stand-in could not read it", a.SystemIntegrations.Chat.Private.UserPayload)
		}
		if strings.Contains(a.Output.Text, "Anonymous") || !strings.Contains(a.Output.Text, "cannot tell who you are") {
			t.Errorf("got answer %q, want one saying the stand-in cannot tell who is logged in", a.Output.Text)
		}
		if strings.Contains(note, "decrypted it") || !strings.Contains(note, "cannot read it") || !strings.Contains(note, "-ibm-public-key") {
			t.Errorf("got note %q, want one saying the stand-in cannot read user_payload and why", note)
		}
		return
	}
	var p map[string]string
	if err := json.Unmarshal(a.SystemIntegrations.Chat.Private.UserPayload, &p); err != nil {
		t.Fatal(err)
	}
	if p["custom_user_id"] != wantUser {
		t.Errorf("got custom_user_id %q, want %q", p["custom_user_id"], wantUser)
	}
	if !strings.HasPrefix(a.Output.Text, "Hello "+p["name"]+"!") {
		t.Errorf("got answer %q, want a greeting of %s", a.Output.Text, p["name"])
	}
	if decrypted := strings.Contains(note, "decrypted it"); decrypted != (wantState == payloadDecrypted) {
		t.Errorf("got note %q for a %s payload", note, wantState)
	}
}

// With IBM's public key but no IBM settings the stand-in cannot decrypt
// user_payload: after a login it must say so, not greet Cade as Anonymous
// nor claim it decrypted anything.
func TestStandinWithIBMPublicKeySaysItCannotDecrypt(t *testing.T) {
	url, logs := startDemo(t, "-key", "testdata/signing-key.pem", "-ibm-public-key", "testdata/standin-ibm-public.pem")
	if !strings.Contains(logs.String(), "the stand-in cannot decrypt user_payload") {
		t.Errorf("the demo did not warn at start that the stand-in cannot decrypt; logs:\n%s", logs)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	res, err := client.Post(url+"authenticate", "application/x-www-form-urlencoded", strings.NewReader("user=cade"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /authenticate: got status %d, want 204", res.StatusCode)
	}
	res, err = client.Get(url + "createJWT")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := io.ReadAll(res.Body)
	res.Body.Close()
	req, err := http.NewRequest("POST", url+"standin/message", strings.NewReader(`{"text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+string(token))
	req.Header.Set("Content-Type", "application/json")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /standin/message: got status %d, want 200", res.StatusCode)
	}
	var a standinAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	checkStandinPayload(t, a, payloadUnreadable, "")
}

// IBM: a session "cannot change to a JWT with a different sub claim". The
// stand-in refuses such a token, so the browser test catches a helper that
// hands web chat a token with another sub without ending the session.
func TestStandinRefusesSubChangeWithinSession(t *testing.T) {
	signing, ibm := testKeys(t)
	signer, err := claims.NewSigner(signing)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	token := func(sub string) string {
		tok, err := claims.NewBuilder().Subject(sub).IssuedAt(now).TTL(time.Minute).Sign(signer)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	s := &standin{verifyKey: func() crypto.PublicKey { return signing.Public() }, payloadKey: ibm, log: discardLogger(), now: func() time.Time { return now }}
	send := func(session, sub string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/standin/message", strings.NewReader(`{"text":"hi"}`))
		r.Header.Set("Authorization", "Bearer "+token(sub))
		if session != "" {
			r.Header.Set(sessionHeader, session)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		var m map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m["error_description"]
	}
	steps := []struct {
		session, sub string
		want         int
	}{
		{"s1", "anon-1", 200},
		{"s1", "anon-1", 200},
		{"s1", "user-cade-id", 401}, // same session, another sub
		{"s2", "user-cade-id", 200}, // a new session may start with it
		{"s1", "anon-1", 200},       // s1 keeps its first sub
		{"", "anything", 200},       // no session: not checked
	}
	for i, st := range steps {
		code, desc := send(st.session, st.sub)
		if code != st.want {
			t.Fatalf("step %d (session %q, sub %q): got %d %q, want %d", i, st.session, st.sub, code, desc, st.want)
		}
		if code == 401 && desc != "sub changed within the session" {
			t.Errorf("step %d: got error_description %q", i, desc)
		}
	}
	if n := s.subChanges.Load(); n != 1 {
		t.Errorf("got %d sub changes counted, want 1", n)
	}
}

func TestHeaderSafe(t *testing.T) {
	tests := []struct {
		sub  string
		want bool
	}{
		{"anon-0b9f3c52-1f0e-4a57-9c1e-6d1f3e0f2a11", true},
		{"", false},
		{"a;b", false},
		{"a=b", false},
		{"a b", false},
		{"a\r\nX-Evil: 1", false},
		{"é", false},
		{strings.Repeat("a", 257), false},
	}
	for _, tc := range tests {
		if got := headerSafe(tc.sub) == nil; got != tc.want {
			t.Errorf("headerSafe(%q): got ok=%v, want %v", tc.sub, got, tc.want)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"IBM settings are all or nothing", []string{"-integration-id", "x"}, "go together"},
		{"TTL must be positive", []string{"-ttl", "-1s"}, "must be positive"},
		{"stray argument", []string{"extra"}, "unexpected argument"},
		{"unreadable key", []string{"-key", "testdata/missing.pem", "-ledger", "memory"}, "-key"},
		{"unreadable IBM key", []string{"-key", "testdata/signing-key.pem", "-ibm-public-key", "testdata/missing.pem", "-ledger", "memory"}, "-ibm-public-key"},
		{"stand-in key with IBM's key", []string{"-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ibm-public-key", "testdata/standin-ibm-public.pem", "-ledger", "memory"}, "-standin-key"},
		{"unknown ledger", []string{"-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", "mysql://x"}, "-ledger"},
		{"unknown logout policy", []string{"-logout-policy", "forget"}, "-logout-policy"},
		{"unknown subject", []string{"-subject", "email"}, "-subject"},
		{"unknown session end", []string{"-session-end", "close"}, "-session-end"},
		{"negative watch interval", []string{"-watch-interval", "-1s"}, "-watch-interval"},
		{"a text file as session key", []string{"-key", "testdata/signing-key.pem", "-session-key", "testdata/README.md", "-ledger", "memory"}, "-session-key"},
		{"a public key as signing key", []string{"-key", "testdata/signing-key.pem", "-key", "testdata/standin-ibm-public.pem", "-ledger", "memory"}, "holds PUBLIC KEY blocks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"-addr", ln.Addr().String(), "-key", "testdata/signing-key.pem",
		"-standin-key", "testdata/standin-ibm-key.pem", "-ledger", "memory"}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+ln.Addr().String()) {
		t.Fatalf("got error %v, want one saying the port is taken", err)
	}
}

// The real binary exits 1 with the reason on stderr, and 0 after SIGTERM.
func TestMainExitStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	base := "-key testdata/signing-key.pem -standin-key testdata/standin-ibm-key.pem -ledger memory "

	t.Run("port in use exits 1", func(t *testing.T) {
		cmd := mainCommand(base + "-addr " + ln.Addr().String())
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("got %v, want exit status 1\n%s", err, out)
		}
		if !strings.Contains(string(out), "webchat: cannot listen on") {
			t.Errorf("got output %q, want the reason", out)
		}
	})

	t.Run("SIGTERM shuts down cleanly", func(t *testing.T) {
		cmd := mainCommand(base + "-addr 127.0.0.1:0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		buf := make([]byte, 4096)
		var seen string
		for !strings.Contains(seen, "open http://") {
			n, err := stdout.Read(buf)
			if err != nil {
				t.Fatalf("demo printed no URL: %v (%q)", err, seen)
			}
			seen += string(buf[:n])
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("got %v after SIGTERM, want exit status 0", err)
		}
	})
}

func mainCommand(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEBCHAT_TEST_MAIN_ARGS="+args)
	return cmd
}

func TestIBMModePage(t *testing.T) {
	url, _ := startDemo(t, "-key", "testdata/signing-key.pem",
		"-integration-id", "int-1", "-region", "us-south", "-service-instance-id", "svc-1")
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`data-integration-id="int-1"`, `data-region="us-south"`, `data-service-instance-id="svc-1"`, `src="/static/ibm.js"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, ibmCDN) {
		t.Errorf("got CSP %q, want IBM's CDN allowed", csp)
	}
	res, err = http.Post(url+"standin/message", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("stand-in in IBM mode: got status %d, want 404", res.StatusCode)
	}
}

func TestRoutes(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "ledger.sqlite")
	url, _ := startDemo(t, "-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem",
		"-ledger", "sqlite:"+ledger)
	if _, err := os.Stat(ledger); err != nil {
		t.Errorf("SQLite ledger: %v", err)
	}
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
	}{
		{"GET", "", 200, "text/html; charset=utf-8"},
		{"GET", "static/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "static/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "static/", 404, ""},
		{"GET", "webchatid.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "createJWT", 200, "text/plain; charset=utf-8"},
		{"GET", "session", 200, "application/json"},
		{"GET", ".well-known/jwks.json", 200, ""},
		{"GET", "readyz", 200, "text/plain; charset=utf-8"},
		{"POST", "authenticate", 204, ""},
		{"POST", "logout", 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" /"+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Errorf("got status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.wantType != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tc.wantType) {
				t.Errorf("got Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.wantType)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestKeysFromEnvironment(t *testing.T) {
	pemText, err := os.ReadFile("testdata/signing-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	// Environment variables usually carry PEM on one line with \n escapes.
	t.Setenv("WEBCHATID_PRIVATE_KEY", strings.ReplaceAll(string(pemText), "\n", `\n`))
	url, _ := startDemo(t, "-standin-key", "testdata/standin-ibm-key.pem")
	res, err := http.Get(url + ".well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	signing, _ := testKeys(t)
	want, err := claims.KeyID(signing.Public())
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Kid != want {
		t.Fatalf("got JWKS %+v, want the one key %s from WEBCHATID_PRIVATE_KEY", set, want)
	}
}

// TestStandinChatScript runs testdata/standin.test.js (the stand-in web chat's
// token handling and retry-once rule) and testdata/ibm.test.js (IBM's embed
// snippet as a file, IBM mode's logout) with node's built-in test runner.
func TestStandinChatScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testpeer.Missing(t, "install Node.js 20 or later (Debian: apt-get install nodejs) to run the stand-in's unit tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--test",
		filepath.Join("testdata", "standin.test.js"), filepath.Join("testdata", "ibm.test.js")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}

// The demo records the anonymous ID and links it to cade-id on login, in the
// ledger named by -ledger.
func TestLoginIsLinkedInLedger(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	url, _ := startDemo(t, "-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", dsn)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	for _, step := range []struct{ method, path string }{{"GET", "createJWT"}, {"POST", "authenticate"}, {"GET", "createJWT"}} {
		req, err := http.NewRequest(step.method, url+step.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s /%s: got status %d", step.method, step.path, res.StatusCode)
		}
	}
	var anonID string
	for _, c := range jar.Cookies(mustParseURL(t, url)) {
		if c.Name == "ANONYMOUS-USER-ID" {
			anonID, _, _ = strings.Cut(c.Value, ".") // the ID, without its binding MAC
		}
	}
	ledger, closeLedger, err := ledgerdsn.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLedger()
	entries, err := ledger.Lookup(context.Background(), "cade-id")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].AnonymousID != anonID || anonID == "" {
		t.Fatalf("got ledger entries %+v for cade-id, want the one anonymous ID %q", entries, anonID)
	}
}

func mustParseURL(t *testing.T, s string) *neturl.URL {
	t.Helper()
	u, err := neturl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
