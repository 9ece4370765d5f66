package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoLogoutRevokesTheSession: the demo keeps revoked sessions in its
// ledger database, so a session cookie copied before /logout is dead after.
func TestDemoLogoutRevokesTheSession(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	url, _ := startDemo(t, "-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", dsn)
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
	var stolen string
	for _, c := range res.Cookies() {
		if c.Name == "WEBCHATID-SESSION" {
			stolen = c.Name + "=" + c.Value
		}
	}
	if stolen == "" {
		t.Fatalf("login: status %d, no session cookie", res.StatusCode)
	}
	state := func() string {
		res := send("GET", "session", stolen)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.TrimSpace(string(b))
	}
	if got := state(); !strings.Contains(got, `"logged_in":true`) {
		t.Fatalf("before logout: %s", got)
	}
	res = send("POST", "logout", stolen)
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if got := state(); !strings.Contains(got, `"logged_in":false`) {
		t.Errorf("the copied cookie after logout: %s, want logged out", got)
	}
}
