package claims

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"regexp"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The example key of RFC 7638 §3.1 and the thumbprint the RFC gives for it.
const (
	rfc7638Key        = `{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestKeyIDIsTheRFC7638Thumbprint(t *testing.T) {
	k, err := jwk.ParseKey([]byte(rfc7638Key))
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := k.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.PublicKey{"raw *rsa.PublicKey": raw, "jwk.Key": k} {
		got, err := KeyID(key)
		if err != nil {
			t.Fatalf("%s: KeyID: %v", name, err)
		}
		if got != rfc7638Thumbprint {
			t.Errorf("%s: got %q, want %q (RFC 7638 §3.1)", name, got, rfc7638Thumbprint)
		}
	}
}

func TestKeyIDOfEveryKeyForm(t *testing.T) {
	b64url := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	for _, name := range []string{"rsa2048", "ec256", "ed25519"} {
		priv := testKey(t, name)
		want, err := KeyID(priv.Public())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !b64url.MatchString(want) {
			t.Errorf("%s: got %q, want 43 base64url characters (SHA-256, no padding)", name, want)
		}
		jwkPriv, err := jwk.FromRaw(priv)
		if err != nil {
			t.Fatal(err)
		}
		for form, key := range map[string]crypto.PublicKey{
			"private key":          priv,
			"opaque crypto.Signer": opaqueSigner{priv},
			"private jwk.Key":      jwkPriv,
		} {
			got, err := KeyID(key)
			if err != nil || got != want {
				t.Errorf("%s as %s: got %q, %v; want %q", name, form, got, err, want)
			}
		}
	}
}

func TestKeyIDRefusesSecrets(t *testing.T) {
	oct, err := jwk.FromRaw([]byte("a shared secret, not a public key"))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.PublicKey{
		"nil":                    nil,
		"[]byte":                 []byte("secret"),
		"string":                 "secret",
		"oct jwk.Key":            oct,
		"nil *rsa.PrivateKey":    (*rsa.PrivateKey)(nil),
		"nil *ecdsa.PrivateKey":  (*ecdsa.PrivateKey)(nil),
		"nil ed25519.PrivateKey": ed25519.PrivateKey(nil),
	} {
		if got, err := KeyID(key); err == nil {
			t.Errorf("%s: got %q, want an error", name, got)
		}
	}
	if _, err := KeyID(oct); err == nil || !strings.Contains(err.Error(), "symmetric") {
		t.Errorf("oct jwk.Key: got %v, want it refused as symmetric", err)
	}
}
