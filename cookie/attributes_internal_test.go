package cookie

import (
	"net/http"
	"testing"
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
