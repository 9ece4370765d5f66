package cookie

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Tests of issue 10's findings 2 (only issued IDs count) and 3 (cookie
// tossing) at the cookie level.

const otherID = "anon-11111111-2222-4333-8444-555555555555"

// TestDefaultNameIsHostPrefixedOverTLS: with the default name, a response
// over TLS sets __Host-ANONYMOUS-USER-ID (Secure, Path=/, no Domain), which
// a sibling subdomain cannot set; plain HTTP keeps ANONYMOUS-USER-ID.
func TestDefaultNameIsHostPrefixedOverTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		tls  bool
		want string
	}{
		{"TLS", Config{}, true, DefaultHostName},
		{"plain HTTP", Config{}, false, DefaultName},
		{"SecureAlways behind a proxy", Config{Secure: SecureAlways}, false, DefaultHostName},
		{"SecureNever", Config{Secure: SecureNever}, true, DefaultName},
		{"a Domain rules out __Host-", Config{Domain: "example.com"}, true, DefaultName},
		{"a configured name is kept", Config{Name: "SITE-ID"}, true, "SITE-ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAnonymous(t, tc.cfg)
			rec := httptest.NewRecorder()
			r := request(tc.tls)
			if _, _, err := a.GetOrSet(rec, r); err != nil {
				t.Fatal(err)
			}
			c := onlySetCookie(t, rec)
			if c.Name != tc.want {
				t.Fatalf("got cookie %q, want %q", c.Name, tc.want)
			}
			if got := a.NameFor(r); got != tc.want {
				t.Errorf("NameFor: got %q, want %q", got, tc.want)
			}
			if c.Name == DefaultHostName && (!c.Secure || c.Path != "/" || c.Domain != "") {
				t.Errorf("__Host- cookie without Secure, Path=/ and no Domain: %+v", c)
			}
		})
	}
}

// TestTossedCookieDoesNotOverrideHostCookie: a sibling subdomain can set
// ANONYMOUS-USER-ID for the whole site; over TLS the __Host- cookie wins,
// whatever the order of the Cookie header.
func TestTossedCookieDoesNotOverrideHostCookie(t *testing.T) {
	a := mustAnonymous(t, Config{})
	for _, hdr := range []string{
		DefaultName + "=" + otherID + "; " + DefaultHostName + "=" + validID,
		DefaultHostName + "=" + validID + "; " + DefaultName + "=" + otherID,
		DefaultName + "=" + otherID + "; " + DefaultName + "=" + otherID + "; " + DefaultHostName + "=" + validID,
	} {
		rec := httptest.NewRecorder()
		id, isNew, err := a.GetOrSet(rec, request(true, hdr))
		if err != nil {
			t.Fatal(err)
		}
		if id != validID || isNew {
			t.Errorf("Cookie: %s\ngot %q (new %v), want the __Host- cookie's %q", hdr, id, isNew, validID)
		}
	}
}

// TestLegacyCookieMovesToHostName: over TLS, a visitor who has only the
// unprefixed cookie (earlier versions, IBM's tutorial) keeps the ID; it is
// set under the __Host- name and the unprefixed cookie is expired.
func TestLegacyCookieMovesToHostName(t *testing.T) {
	a := mustAnonymous(t, Config{Now: fixedClock(t0)})
	rec := httptest.NewRecorder()
	id, isNew, err := a.GetOrSet(rec, request(true, DefaultName+"="+validID))
	if err != nil {
		t.Fatal(err)
	}
	if id != validID || isNew {
		t.Fatalf("got %q (new %v), want the legacy ID %q", id, isNew, validID)
	}
	var set, expired bool
	for _, c := range setCookies(t, rec) {
		switch {
		case c.Name == DefaultHostName && c.Value == validID:
			set = true
		case c.Name == DefaultName && c.MaxAge < 0:
			expired = true
		}
	}
	if !set || !expired {
		t.Errorf("got Set-Cookie %q, want the ID under %s and %s expired", rec.Header().Values("Set-Cookie"), DefaultHostName, DefaultName)
	}
}

// TestExpireTossedCoversParentDomains: logout-style clearing writes
// deletions host-only and for every parent domain a sibling could have used.
func TestExpireTossedCoversParentDomains(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://chat.shop.example.com:8443/logout", nil)
	ExpireTossed(rec, r, "WEBCHATID-SESSION")
	got := map[string]bool{}
	for _, c := range setCookies(t, rec) {
		if c.Name != "WEBCHATID-SESSION" || c.MaxAge >= 0 || c.Path != "/" {
			t.Errorf("not a deletion at Path=/: %+v", c)
		}
		got[c.Domain] = true
	}
	for _, d := range []string{"chat.shop.example.com", "shop.example.com", "example.com"} {
		if !got[d] {
			t.Errorf("no deletion for Domain=%q; got %q", d, rec.Header().Values("Set-Cookie"))
		}
	}
	if got["com"] || got[""] {
		t.Error("a deletion for a top-level domain, or host-only")
	}
}

// TestIDProvenOnlyWhenIssued: only an ID this server generated, or one in a
// cookie whose binding verified, is Proven; an ID accepted without a MAC in
// the AcceptUnboundUntil window stays unbound after it is re-set, even after
// the window closes.
func TestIDProvenOnlyWhenIssued(t *testing.T) {
	now := t0
	nowFn := func() time.Time { return now }
	keys := [][]byte{secretKey(1)}
	a := mustAnonymous(t, Config{BindingKeys: keys, AcceptUnboundUntil: t0.Add(time.Hour), Now: nowFn})

	rec := httptest.NewRecorder()
	minted, err := a.GetOrSetID(rec, request(true))
	if err != nil || !minted.New || !minted.Proven {
		t.Fatalf("fresh ID: got %+v, %v; want New and Proven", minted, err)
	}
	boundValue := onlySetCookie(t, rec).Value
	if got, ok := a.PeekID(request(true, DefaultHostName+"="+boundValue)); !ok || got.Value != minted.Value || !got.Proven || got.New {
		t.Errorf("own bound cookie: got %+v %v, want Proven", got, ok)
	}

	// In the window, someone's bare ID is accepted, but is not Proven.
	rec = httptest.NewRecorder()
	adopted, err := a.GetOrSetID(rec, request(true, DefaultHostName+"="+otherID))
	if err != nil || adopted.Value != otherID || adopted.Proven || adopted.New {
		t.Fatalf("unbound ID in the window: got %+v, %v; want it accepted, not Proven", adopted, err)
	}
	reset := onlySetCookie(t, rec).Value
	if !strings.HasPrefix(reset, otherID+".") {
		t.Fatalf("re-set value %q is not bound", reset)
	}
	// The value it was re-set as stays unbound, after the window too.
	now = t0.Add(48 * time.Hour)
	got, ok := a.PeekID(request(true, DefaultHostName+"="+reset))
	if !ok || got.Value != otherID || got.Proven {
		t.Errorf("re-set cookie after the window: got %+v %v, want accepted and not Proven", got, ok)
	}
	// Forging the marker away does not verify.
	forged := otherID + "." + strings.TrimPrefix(strings.TrimPrefix(reset, otherID+"."), "~")
	if got, ok := a.PeekID(request(true, DefaultHostName+"="+forged)); ok {
		t.Errorf("marker stripped: got %+v, want refused", got)
	}

	// Binding off: nothing is Proven except what was minted.
	plain := mustAnonymous(t, Config{})
	if got, ok := plain.PeekID(request(true, DefaultHostName+"="+otherID)); !ok || got.Proven {
		t.Errorf("binding off: got %+v %v, want accepted and not Proven", got, ok)
	}
	rec = httptest.NewRecorder()
	if got, err := plain.GetOrSetID(rec, request(true)); err != nil || !got.Proven || !got.New {
		t.Errorf("binding off, fresh ID: got %+v %v, want New and Proven (minted here)", got, err)
	}
	_ = http.StatusOK
}
