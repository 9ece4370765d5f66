package cookie

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSecureModeString(t *testing.T) {
	tests := []struct {
		m    SecureMode
		want string
	}{
		{SecureAuto, "SecureAuto"},
		{SecureAlways, "SecureAlways"},
		{SecureNever, "SecureNever"},
		{SecureMode(9), "SecureMode(9)"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestSecureAutoFollowsTLS(t *testing.T) {
	tests := []struct {
		name string
		mode SecureMode
		tls  bool
		want bool
	}{
		{"auto over TLS", SecureAuto, true, true},
		{"auto over plain HTTP", SecureAuto, false, false},
		{"always over plain HTTP", SecureAlways, false, true},
		{"never over TLS", SecureNever, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAttributes(attributeSpec{cfg: "Config", name: "n", secure: tt.mode, defaultMaxAge: DefaultMaxAge})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.isSecure(request(tt.tls)); got != tt.want {
				t.Errorf("got Secure %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCookiePrefixesMatchIgnoringCase(t *testing.T) {
	for _, name := range []string{"__Host-x", "__host-x", "__HOST-x", "__Secure-x", "__secure-x"} {
		t.Run(name, func(t *testing.T) {
			a, err := newAttributes(attributeSpec{cfg: "Config", name: name, secure: SecureAuto, sameSite: http.SameSiteLaxMode, defaultMaxAge: DefaultMaxAge})
			if err != nil {
				t.Fatal(err)
			}
			if a.secure != SecureAlways {
				t.Errorf("got %v, want SecureAlways", a.secure)
			}
		})
	}
}

// line must write what http.Cookie.String writes, for every set of
// attributes, both values of Secure, any time within a second and across
// seconds (its cache changes with the second), and values that String
// quotes or trims (which take the slow way).
func TestLineIsCookieString(t *testing.T) {
	specs := []attributeSpec{
		{name: "ANONYMOUS-USER-ID"},
		{name: "__Host-anon", path: "/", secure: SecureAlways},
		{name: "a", domain: ".example.com", path: "/chat", sameSite: http.SameSiteStrictMode, maxAge: 90 * time.Second},
		{name: "a", sameSite: http.SameSiteNoneMode, partitioned: true},
		{name: "a", sameSite: http.SameSiteDefaultMode, secure: SecureNever},
	}
	plain := httptest.NewRequest("GET", "http://example.com/", nil)
	overTLS := httptest.NewRequest("GET", "https://example.com/", nil)
	overTLS.TLS = &tls.ConnectionState{}
	values := []string{"anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8.AAAAAAAAAAAAAAAAAAAAAA", "id.~tag_-", "has space", "a,b", ""}
	start := time.Date(2026, 12, 2, 17, 59, 58, 0, time.UTC)
	for _, spec := range specs {
		spec.cfg, spec.defaultMaxAge = "Config", DefaultMaxAge
		a, err := newAttributes(spec)
		if err != nil {
			t.Fatalf("%+v: %v", spec, err)
		}
		for _, step := range []time.Duration{0, 999 * time.Millisecond, time.Millisecond, time.Second, 3 * time.Hour, -2 * time.Hour} {
			now := start.Add(step)
			for _, r := range []*http.Request{plain, overTLS, nil} {
				for _, v := range values {
					got, want := a.line(r, v, now), a.cookie(r, v, now).String()
					if got != want {
						t.Errorf("%+v, %v, value %q:\ngot  %s\nwant %s", spec, now, v, got, want)
					}
				}
			}
			start = now
		}
	}
}
