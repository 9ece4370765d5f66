package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoLogoutKillsACopiedSessionCookie: a session cookie copied before
// /logout is dead after it. With -sessions cookie (the default) the demo
// revokes the sealed cookie in its ledger database; with -sessions server
// the cookie holds only an ID and the login itself lives in that database.
func TestDemoLogoutKillsACopiedSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		idCookie bool // the cookie's value is a 22-character session ID
	}{
		{"cookie sessions, revoked", nil, false},
		{"server sessions", []string{"-sessions", "server"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
			args := append([]string{"-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", dsn}, tc.args...)
			url, _ := startDemo(t, args...)
			send := func(method, path, cookie string) *http.Response {
				t.Helper()
				req, err := http.NewRequest(method, url+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			res := send("POST", "authenticate", "")
			res.Body.Close()
			var copied string
			for _, c := range res.Cookies() {
				if c.Name == "WEBCHATID-SESSION" {
					if tc.idCookie && len(c.Value) != 22 {
						t.Fatalf("session cookie value of %d characters; want a 22-character ID (a sealed cookie is longer)", len(c.Value))
					}
					copied = c.Name + "=" + c.Value
				}
			}
			if copied == "" {
				t.Fatalf("login: status %d, no session cookie", res.StatusCode)
			}
			state := func() string {
				res := send("GET", "session", copied)
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return strings.TrimSpace(string(b))
			}
			if got := state(); !strings.Contains(got, `"logged_in":true`) {
				t.Fatalf("before logout: %s", got)
			}
			res = send("POST", "logout", copied)
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("logout: %d", res.StatusCode)
			}
			if got := state(); !strings.Contains(got, `"logged_in":false`) {
				t.Errorf("the copied cookie after logout: %s, want logged out", got)
			}
		})
	}
}

// TestSessionsFlag: -sessions takes cookie or server, and server refuses
// -session-key, which it would not use.
func TestSessionsFlag(t *testing.T) {
	for _, args := range [][]string{{"-sessions", "db"}, {"-sessions", "server", "-session-key", "k"}} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), "-sessions") && !strings.Contains(err.Error(), "-session-key") {
			t.Errorf("parseFlags(%q): %v; want an error naming the flag", args, err)
		}
	}
	if c, err := parseFlags([]string{"-sessions", "server"}, io.Discard); err != nil || c.sessions != "server" {
		t.Errorf("parseFlags(-sessions server): %+v, %v", c.sessions, err)
	}
}
