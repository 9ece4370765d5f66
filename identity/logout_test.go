package identity_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// post sends a POST with a body, carrying and keeping cookies as do does.
func (c *client) post(path, contentType, body string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://example.com"+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.send(req)
}

const formType = "application/x-www-form-urlencoded"

func TestLogoutPolicy(t *testing.T) {
	tests := []struct {
		name        string
		policy      identity.LogoutPolicy
		path        string
		contentType string
		body        string
		wantRotated bool
	}{
		{"keep is the default", identity.KeepAnonymousID, "/logout", "", "", false},
		{"keep ignores a request for rotation", identity.KeepAnonymousID, "/logout", formType, "rotate_anonymous_id=1", false},
		{"rotate rotates without being asked", identity.RotateAnonymousID, "/logout", "", "", true},
		{"rotate rotates when asked", identity.RotateAnonymousID, "/logout", formType, "rotate_anonymous_id=1", true},
		{"on request keeps by default", identity.RotateAnonymousIDOnRequest, "/logout", "", "", false},
		{"on request rotates when asked with 1", identity.RotateAnonymousIDOnRequest, "/logout", formType, "rotate_anonymous_id=1", true},
		{"on request rotates when asked with true", identity.RotateAnonymousIDOnRequest, "/logout", formType, "rotate_anonymous_id=true", true},
		{"on request keeps when the field says 0", identity.RotateAnonymousIDOnRequest, "/logout", formType, "rotate_anonymous_id=0", false},
		{"on request reads the body, not the query", identity.RotateAnonymousIDOnRequest, "/logout?rotate_anonymous_id=1", "", "", false},
		{"on request ignores a JSON body", identity.RotateAnonymousIDOnRequest, "/logout", "application/json", `{"rotate_anonymous_id":1}`, false},
		{"on request ignores an oversized body", identity.RotateAnonymousIDOnRequest, "/logout", formType, "rotate_anonymous_id=1&pad=" + strings.Repeat("x", 2000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ledger := &fakeLedger{}
			srv := newServer(t, identity.Config{LogoutPolicy: tc.policy, Ledger: ledger})
			c := newClient(t, srv)
			before := c.token().Subject()
			if rec := c.do("POST", "/authenticate"); rec.Code != http.StatusNoContent {
				t.Fatalf("POST /authenticate: got status %d, want 204", rec.Code)
			}
			if rec := c.post(tc.path, tc.contentType, tc.body); rec.Code != http.StatusNoContent {
				t.Fatalf("POST %s: got status %d (%q), want 204", tc.path, rec.Code, rec.Body.String())
			}
			if _, ok := c.cookies[identity.DefaultSessionCookie]; ok {
				t.Error("session cookie survived logout")
			}
			after := c.token()
			rotated := after.Subject() != before
			if rotated != tc.wantRotated {
				t.Fatalf("sub before logout %q, after %q: got rotated=%v, want %v", before, after.Subject(), rotated, tc.wantRotated)
			}
			jsonEqual(t, payload(t, after), `{"name":"Anonymous","custom_user_id":"`+after.Subject()+`"}`)
			if again := c.token().Subject(); again != after.Subject() {
				t.Errorf("the next token has sub %q, want the ID set at logout %q", again, after.Subject())
			}
			records, _ := ledger.counts()
			if got := slices.Contains(records, after.Subject()); got != true {
				t.Errorf("ledger records %q: want the sub after logout %q among them", records, after.Subject())
			}
		})
	}
}

func TestLogoutKeepLogsIgnoredRotationRequest(t *testing.T) {
	var logs logbuf.Buffer
	srv := newServer(t, identity.Config{Logger: logs.Logger()})
	c := newClient(t, srv)
	c.token()
	c.post("/logout", formType, "rotate_anonymous_id=1")
	if !strings.Contains(logs.String(), "RotateAnonymousIDOnRequest") {
		t.Errorf("log does not say how to honour the request:\n%s", logs.String())
	}
}

// The rotated ID is bound when binding keys are set, and is a new ID in the
// ledger, not a copy of the old one.
func TestLogoutRotationIsBoundAndRecordedAsNew(t *testing.T) {
	ledger := &fakeLedger{}
	srv := newServer(t, identity.Config{
		LogoutPolicy: identity.RotateAnonymousID,
		Ledger:       ledger,
		Anonymous:    cookie.Config{BindingKeys: [][]byte{secretKey(9)}},
	})
	c := newClient(t, srv)
	before := c.token().Subject()
	c.post("/logout", "", "")
	ck := c.cookies[cookie.DefaultName]
	if ck == nil || !strings.Contains(ck.Value, ".") {
		t.Fatalf("got anonymous cookie %v after logout, want a bound value", ck)
	}
	after := c.token().Subject()
	if after == before || !strings.HasPrefix(ck.Value, after+".") {
		t.Fatalf("sub before %q, after %q, cookie %q: want a new ID, bound in the cookie", before, after, ck.Value)
	}
	records, _ := ledger.counts()
	if !slices.Contains(records, after) {
		t.Errorf("ledger records %q, want the rotated ID %q", records, after)
	}
}

func TestLogoutRotationWithStrictLedgerDown(t *testing.T) {
	ledger := &fakeLedger{}
	srv := newServer(t, identity.Config{LogoutPolicy: identity.RotateAnonymousID, Ledger: ledger, StrictLedger: true})
	c := newClient(t, srv)
	c.token()
	ledger.mu.Lock()
	ledger.fail = true
	ledger.mu.Unlock()
	rec := c.post("/logout", "", "")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got status %d, want 503 when the strict ledger cannot record the new ID", rec.Code)
	}
}

func TestRotateAnonymousIDForOwnLogout(t *testing.T) {
	srv := newServer(t, identity.Config{})
	c := newClient(t, srv)
	before := c.token().Subject()
	// An app's own logout handler.
	own := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := srv.RotateAnonymousID(w, r); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c2 := &client{t: t, h: own, cookies: c.cookies}
	if rec := c2.do("POST", "/my/logout"); rec.Code != http.StatusNoContent {
		t.Fatalf("got status %d, want 204", rec.Code)
	}
	if after := c.token().Subject(); after == before {
		t.Errorf("sub %q survived RotateAnonymousID", after)
	}
}

func TestNewRefusesUnknownLogoutPolicy(t *testing.T) {
	_, err := identity.New(identity.Config{
		SigningKeys:  []identity.SigningKey{{Key: rsaKey(t, keyA)}},
		LogoutPolicy: identity.LogoutPolicy(7),
		Logger:       discardLogger(),
	})
	if err == nil || !strings.Contains(err.Error(), "Config.LogoutPolicy") {
		t.Fatalf("got %v, want an error naming Config.LogoutPolicy", err)
	}
	if errors.Is(err, identity.ErrClaims) {
		t.Errorf("got %v, want a configuration error", err)
	}
}

func TestLogoutPolicyString(t *testing.T) {
	for p, want := range map[identity.LogoutPolicy]string{
		identity.KeepAnonymousID:            "KeepAnonymousID",
		identity.RotateAnonymousID:          "RotateAnonymousID",
		identity.RotateAnonymousIDOnRequest: "RotateAnonymousIDOnRequest",
		identity.LogoutPolicy(9):            "LogoutPolicy(9)",
	} {
		if got := p.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
