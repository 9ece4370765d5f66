package claims

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/internal/headersafe"
)

// TestSignMatchesJWX checks that Sign, which encodes the protected header
// once in NewSigner, writes the same bytes as jwt.Sign with a fresh header.
// RS256 and EdDSA signatures are deterministic, so whole tokens compare.
func TestSignMatchesJWX(t *testing.T) {
	tests := []struct {
		name string
		key  string
		alg  jwa.SignatureAlgorithm
		kid  string
	}{
		{"RS256 without kid", "rsa2048", jwa.RS256, ""},
		{"RS256 with kid", "rsa2048", jwa.RS256, "2026-01"},
		{"EdDSA with kid", "ed25519", jwa.EdDSA, "ed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := testKey(t, tc.key)
			opts := []SignerOption{WithAlgorithm(tc.alg), AllowNonIBMAlgorithms()}
			hdr := jws.NewHeaders()
			if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
				t.Fatal(err)
			}
			if tc.kid != "" {
				opts = append(opts, WithKeyID(tc.kid))
				if err := hdr.Set(jws.KeyIDKey, tc.kid); err != nil {
					t.Fatal(err)
				}
			}
			s, err := NewSigner(key, opts...)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			tok, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).
				UserPayload(map[string]string{"name": "Zoë <O'Brien> & co", "custom_user_id": "u-1"}).Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got, err := s.Sign(tok)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			want, err := jwt.Sign(tok, jwt.WithKey(tc.alg, key, jws.WithProtectedHeaders(hdr)))
			if err != nil {
				t.Fatalf("jwt.Sign: %v", err)
			}
			if got != string(want) {
				t.Errorf("Sign:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

func TestSignerAlgorithms(t *testing.T) {
	tests := []struct {
		name string
		key  string
		alg  jwa.SignatureAlgorithm // "" = default
		want jwa.SignatureAlgorithm
	}{
		{"RS256 is the default", "rsa2048", "", jwa.RS256},
		{"RS256 with a 4096-bit key", "rsa4096", jwa.RS256, jwa.RS256},
		{"PS256 with an RSA key", "rsa2048", jwa.PS256, jwa.PS256},
		{"ES256 with a P-256 key", "ec256", jwa.ES256, jwa.ES256},
		{"EdDSA with an Ed25519 key", "ed25519", jwa.EdDSA, jwa.EdDSA},
	}
	for _, tc := range tests {
		for _, opaque := range []bool{false, true} {
			name := tc.name
			key := testKey(t, tc.key)
			if opaque {
				// A KMS key: jwx sees only crypto.Signer.
				name += " behind an opaque crypto.Signer"
				key = opaqueSigner{key}
			}
			t.Run(name, func(t *testing.T) {
				var opts []SignerOption
				if tc.alg != "" {
					opts = append(opts, WithAlgorithm(tc.alg), AllowNonIBMAlgorithms())
				}
				s, err := NewSigner(key, opts...)
				if err != nil {
					t.Fatalf("NewSigner: %v", err)
				}
				if s.Algorithm() != tc.want {
					t.Errorf("Algorithm: got %s, want %s", s.Algorithm(), tc.want)
				}
				token, err := NewBuilder().Subject(testAnonID).Sign(s)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				header, _ := segments(t, token)
				h := decodeObject(t, header)
				if h["alg"] != tc.want.String() || h["typ"] != "JWT" {
					t.Errorf("header: got %s, want alg %s and typ JWT", header, tc.want)
				}
				if _, ok := h["kid"]; ok {
					t.Errorf("header: got %s, want no kid without WithKeyID", header)
				}
				got, err := Verify(token, s.Public(), WithAlgorithms(tc.want))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Subject() != testAnonID {
					t.Errorf("sub: got %q, want %q", got.Subject(), testAnonID)
				}
			})
		}
	}
}

func TestNewSignerRefuses(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		opts []SignerOption
		want string
		is   error
	}{
		{"a 1024-bit RSA key is refused for RS256", testKey(t, "rsa1024"), nil, "claims: NewSigner: RSA key shorter than 2048 bits: the key has 1024 bits", ErrWeakKey},
		{"a 1024-bit RSA key is refused for PS256", testKey(t, "rsa1024"), []SignerOption{WithAlgorithm(jwa.PS256), AllowNonIBMAlgorithms()}, "", ErrWeakKey},
		{"a weak key behind crypto.Signer is refused", opaqueSigner{testKey(t, "rsa1024")}, nil, "", ErrWeakKey},
		{"RS256 with an ECDSA key is refused", testKey(t, "ec256"), nil, "claims: NewSigner: algorithm RS256 needs an RSA key, got *ecdsa.PublicKey", nil},
		{"PS256 with an Ed25519 key is refused", testKey(t, "ed25519"), []SignerOption{WithAlgorithm(jwa.PS256), AllowNonIBMAlgorithms()}, "claims: NewSigner: algorithm PS256 needs an RSA key", nil},
		{"ES256 with an RSA key is refused", testKey(t, "rsa2048"), []SignerOption{WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms()}, "claims: NewSigner: algorithm ES256 needs an ECDSA P-256 key, got *rsa.PublicKey", nil},
		{"ES256 with a P-384 key is refused", p384, []SignerOption{WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms()}, "claims: NewSigner: algorithm ES256 needs an ECDSA P-256 key, got ECDSA P-384", nil},
		{"EdDSA with an RSA key is refused", testKey(t, "rsa2048"), []SignerOption{WithAlgorithm(jwa.EdDSA), AllowNonIBMAlgorithms()}, "claims: NewSigner: algorithm EdDSA needs an Ed25519 key", nil},
		{"HS256 is refused", testKey(t, "rsa2048"), []SignerOption{WithAlgorithm(jwa.HS256)}, `claims: NewSigner: algorithm "HS256" is not supported`, nil},
		{"none is refused", testKey(t, "rsa2048"), []SignerOption{WithAlgorithm(jwa.NoSignature)}, `claims: NewSigner: algorithm "none" is not supported`, nil},
		{"RS384 is refused", testKey(t, "rsa2048"), []SignerOption{WithAlgorithm(jwa.RS384)}, `claims: NewSigner: algorithm "RS384" is not supported`, nil},
		{"a nil key is refused", nil, nil, "claims: NewSigner: nil key", nil},
		{"a nil *rsa.PrivateKey is refused", (*rsa.PrivateKey)(nil), nil, "claims: NewSigner: nil key", nil},
		{"a nil *ecdsa.PrivateKey is refused", (*ecdsa.PrivateKey)(nil), []SignerOption{WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms()}, "claims: NewSigner: nil key", nil},
		{"an empty ed25519.PrivateKey is refused", ed25519.PrivateKey(nil), []SignerOption{WithAlgorithm(jwa.EdDSA), AllowNonIBMAlgorithms()}, "claims: NewSigner: nil key", nil},
		{"an empty key ID is refused", testKey(t, "rsa2048"), []SignerOption{WithKeyID("")}, "claims: NewSigner: WithKeyID: empty key ID", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(tc.key, tc.opts...)
			if err == nil {
				t.Fatalf("NewSigner: got %v, want an error", s)
			}
			if tc.want != "" && !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("NewSigner: got %q, want it to start with %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("NewSigner: got %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestSignerKeyID(t *testing.T) {
	key := testKey(t, "rsa2048")
	thumb, err := KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("without WithKeyID: no kid header, KeyID is the thumbprint", func(t *testing.T) {
		s := testSigner(t, "rsa2048")
		if s.KeyID() != thumb {
			t.Errorf("KeyID: got %q, want thumbprint %q", s.KeyID(), thumb)
		}
		token, err := NewBuilder().Subject(testAnonID).Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		header, _ := segments(t, token)
		if got, want := string(header), `{"alg":"RS256","typ":"JWT"}`; got != want {
			t.Errorf("header: got %s, want %s", got, want)
		}
	})
	t.Run("WithKeyID: kid header and KeyID", func(t *testing.T) {
		s := testSigner(t, "rsa2048", WithKeyID("2026-01"))
		if s.KeyID() != "2026-01" {
			t.Errorf("KeyID: got %q, want 2026-01", s.KeyID())
		}
		token, err := NewBuilder().Subject(testAnonID).Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		header, _ := segments(t, token)
		if got, want := string(header), `{"alg":"RS256","kid":"2026-01","typ":"JWT"}`; got != want {
			t.Errorf("header: got %s, want %s", got, want)
		}
	})
}

func TestSignerPublicJWK(t *testing.T) {
	s := testSigner(t, "ec256", WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms(), WithKeyID("k1"))
	k := s.PublicJWK()
	if k.KeyID() != "k1" || k.Algorithm().String() != "ES256" || k.KeyUsage() != "sig" {
		t.Errorf("PublicJWK: got kid %q alg %q use %q, want k1 ES256 sig", k.KeyID(), k.Algorithm(), k.KeyUsage())
	}
	if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
		t.Errorf("PublicJWK: private %v (%v), want a public key", priv, err)
	}
	var raw ecdsa.PublicKey
	if err := k.Raw(&raw); err != nil || !raw.Equal(s.Public()) {
		t.Errorf("PublicJWK: raw key %v (%v), want Public()", raw, err)
	}
	if err := k.Set(jwk.KeyIDKey, "changed"); err != nil {
		t.Fatal(err)
	}
	if got := s.PublicJWK().KeyID(); got != "k1" {
		t.Errorf("PublicJWK after changing a copy: got kid %q, want k1", got)
	}
	if !testKey(t, "ec256").Public().(*ecdsa.PublicKey).Equal(s.Public()) {
		t.Error("Public: not the key's public half")
	}
	if _, ok := s.Public().(ed25519.PublicKey); ok {
		t.Error("Public: wrong type")
	}
}

func TestSignRefusesTokensIBMWouldRefuse(t *testing.T) {
	s := testSigner(t, "rsa2048")
	noExp := jwt.New()
	_ = noExp.Set(jwt.SubjectKey, testAnonID)
	badSub := jwt.New()
	_ = badSub.Set(jwt.SubjectKey, "a b")
	_ = badSub.Set(jwt.ExpirationKey, testNow)
	noSub := jwt.New()
	_ = noSub.Set(jwt.ExpirationKey, testNow)

	tests := []struct {
		name string
		tok  jwt.Token
		want string
		is   error
	}{
		{"a token without exp is refused", noExp, "claims: exp: required", ErrInvalidClaim},
		{"a token with an unsafe sub is refused", badSub, "claims: sub: ", headersafe.ErrBadChar},
		{"a token without sub is refused", noSub, "claims: sub: ", headersafe.ErrEmpty},
		{"a nil token is refused", nil, "claims: Sign: nil token", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Sign(tc.tok)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Sign: got %v, want an error starting %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Sign: got %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestSignerConcurrentUse(t *testing.T) {
	s := testSigner(t, "ec256", WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms(), WithKeyID("k1"))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := "anon-" + strings.Repeat("x", i+1)
			token, err := NewBuilder().Subject(sub).UserPayload(map[string]int{"i": i}).Sign(s)
			if err != nil {
				errs <- err
				return
			}
			tok, err := Verify(token, s.PublicJWK(), WithAlgorithms(jwa.ES256))
			if err != nil {
				errs <- err
				return
			}
			if tok.Subject() != sub {
				errs <- errors.New("sub mixed up between goroutines")
			}
			_ = s.PublicJWK().Set(jwk.KeyIDKey, "mine")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSignedPayloadKeepsRawJSON(t *testing.T) {
	token, err := NewBuilder().Subject(testAnonID).
		UserPayload(json.RawMessage(`{"id":12345678901234567890}`)).
		Sign(testSigner(t, "rsa2048"))
	if err != nil {
		t.Fatal(err)
	}
	_, payload := segments(t, token)
	if !strings.Contains(string(payload), `"user_payload":{"id":12345678901234567890}`) {
		t.Errorf("payload: got %s, want the number as given", payload)
	}
}
