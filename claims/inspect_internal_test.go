package claims

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// opaqueDecrypter hides the concrete key type behind crypto.Decrypter, as a
// KMS or HSM key does.
type opaqueDecrypter struct{ inner crypto.Decrypter }

func (o opaqueDecrypter) Public() crypto.PublicKey { return o.inner.Public() }
func (o opaqueDecrypter) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return o.inner.Decrypt(r, msg, opts)
}

func TestDecryptTakesWhatKeyLoadingReturns(t *testing.T) {
	rk := testRSA(t, "rsa2048")
	text := `{"custom_user_id":"cade-id","name":"Cade"}`
	for _, scheme := range []Scheme{NodeRSA, OAEPSHA256} {
		ct, err := scheme.Encrypt(&rk.PublicKey, jsonRaw(text))
		if err != nil {
			t.Fatal(err)
		}
		keys := []struct {
			name string
			key  crypto.PrivateKey
		}{
			{"*rsa.PrivateKey", rk},
			{"crypto.Signer as loaded", testKey(t, "rsa2048")},
			{"opaque crypto.Decrypter", opaqueDecrypter{rk}},
		}
		for _, k := range keys {
			got, err := scheme.Decrypt(k.key, ct)
			if err != nil || string(got) != text {
				t.Errorf("%v with %s: got %q, %v; want %s", scheme, k.name, got, err, text)
			}
		}
	}
	ct, err := EncryptUserPayload(&rk.PublicKey, jsonRaw(text))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecryptUserPayload(testKey(t, "rsa2048"), ct); err != nil || string(got) != text {
		t.Errorf("DecryptUserPayload with the loaded crypto.Signer: got %q, %v", got, err)
	}

	bad := []struct {
		name string
		key  crypto.PrivateKey
	}{
		{"nil", nil},
		{"nil *rsa.PrivateKey", (*rsa.PrivateKey)(nil)},
		{"empty *rsa.PrivateKey", &rsa.PrivateKey{}},
		{"EC key", testKey(t, "ec256")},
		{"Ed25519 key", testKey(t, "ed25519")},
		{"a public key", &rk.PublicKey},
	}
	for _, b := range bad {
		_, err := DecryptUserPayload(b.key, ct)
		if err == nil || errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: got %v, want an error about the key, not ErrDecrypt", b.name, err)
		}
	}
	if _, err := DecryptUserPayload(testKey(t, "rsa4096"), ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("the wrong RSA key: got %v, want ErrDecrypt", err)
	}
}

// jsonRaw is JSON text passed through Encrypt as is.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func TestInspect(t *testing.T) {
	signer := testSigner(t, "rsa2048")
	ibm := testKey(t, "rsa4096")
	ibmPub := ibm.Public().(*rsa.PublicKey)
	payload := map[string]any{"name": "Cade", "custom_user_id": "cade-id", "tier": 3}
	build := func() *Builder {
		return NewBuilder().Subject(testAnonID).IssuedAt(testNow).UserPayload(payload)
	}
	sign := func(b *Builder) string {
		t.Helper()
		tok, err := b.Sign(signer)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	inClear := sign(build())
	nodeRSA := sign(build().EncryptFor(ibmPub, NodeRSA))
	oaep256 := sign(build().EncryptFor(ibmPub, OAEPSHA256))
	noPayload := sign(NewBuilder().Subject(testAnonID).IssuedAt(testNow))
	atIssue := WithClock(fixedClock(testNow))
	const want = `{"custom_user_id":"cade-id","name":"Cade","tier":3}`

	tests := []struct {
		name      string
		token     string
		opts      []InspectOption
		payload   string // "" for nil
		encrypted bool
		verified  bool
		err       error
	}{
		{"clear payload, unverified", inClear, nil, want, false, false, nil},
		{"clear payload, verified", inClear, []InspectOption{WithVerifyKey(signer.Public(), atIssue)}, want, false, true, nil},
		{"verified against the JWK", inClear, []InspectOption{WithVerifyKey(signer.PublicJWK(), atIssue)}, want, false, true, nil},
		{"NodeRSA payload decrypted with the loaded key", nodeRSA, []InspectOption{WithPayloadKey(ibm)}, want, true, false, nil},
		{"OAEPSHA256 payload with its scheme", oaep256, []InspectOption{WithPayloadKey(ibm), WithPayloadScheme(OAEPSHA256)}, want, true, false, nil},
		{"OAEPSHA256 payload read as NodeRSA fails", oaep256, []InspectOption{WithPayloadKey(ibm)}, "", true, false, ErrDecrypt},
		{"encrypted payload without a key stays encrypted", nodeRSA, nil, "", true, false, nil},
		{"encrypted payload with the wrong key", nodeRSA, []InspectOption{WithPayloadKey(testKey(t, "rsa2048"))}, "", true, false, ErrDecrypt},
		{"no payload", noPayload, []InspectOption{WithPayloadKey(ibm)}, "", false, false, nil},
		{"wrong verify key", inClear, []InspectOption{WithVerifyKey(ibmPub, atIssue)}, "", false, false, ErrInvalidToken},
		{"expired when verified by the wall clock", inClear, []InspectOption{WithVerifyKey(signer.Public())}, "", false, false, ErrInvalidToken},
		{"not a compact JWS", "a.b", nil, "", false, false, ErrInvalidToken},
		{"a nil verify key is an error, not unverified", inClear, []InspectOption{WithVerifyKey(nil)}, "", false, false, errAny},
		{"a nil payload key is an error, not left encrypted", nodeRSA, []InspectOption{WithPayloadKey(nil)}, "", true, false, errAny},
		{"header is not JSON", "bm90IGpzb24." + strings.SplitN(inClear, ".", 2)[1], nil, "", false, false, ErrInvalidToken},
		{"payload is a JSON array", b64(`{"alg":"RS256"}`) + "." + b64(`[1]`) + ".c2ln", nil, "", false, false, ErrInvalidToken},
		{"payload is null", b64(`{"alg":"RS256"}`) + "." + b64(`null`) + ".c2ln", nil, "", false, false, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Inspect(tt.token, tt.opts...)
			if tt.err == errAny {
				if err == nil {
					t.Fatalf("got %+v, want an error", in)
				}
				return
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want an error wrapping %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if in.Claims["sub"] != testAnonID || in.Header["alg"] != "RS256" {
				t.Errorf("got sub %v alg %v, want %s RS256", in.Claims["sub"], in.Header["alg"], testAnonID)
			}
			if got := string(in.UserPayload); got != tt.payload {
				t.Errorf("UserPayload: got %q, want %q", got, tt.payload)
			}
			if in.Encrypted != tt.encrypted || in.Verified != tt.verified {
				t.Errorf("got Encrypted %v Verified %v, want %v %v", in.Encrypted, in.Verified, tt.encrypted, tt.verified)
			}
			if _, isString := in.Claims[UserPayloadClaim].(string); isString != tt.encrypted {
				t.Errorf("Claims[user_payload] is %T; Claims must hold the token's own claim", in.Claims[UserPayloadClaim])
			}
		})
	}
}

// Inspect without a verify key reads anything, forged or not, and says it
// did not check; with one, a forged token is refused.
func TestInspectUnverifiedReadsForgeriesAndSaysSo(t *testing.T) {
	tok, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).UserPayload(map[string]string{"name": "Cade", "custom_user_id": "cade-id"}).Sign(testSigner(t, "rsa2048"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	_, payload := segments(t, tok)
	forged := parts[0] + "." + b64(strings.Replace(string(payload), `"Cade"`, `"Mallory"`, 1)) + "." + parts[2]

	in, err := Inspect(forged)
	if err != nil {
		t.Fatal(err)
	}
	if in.Verified || !strings.Contains(string(in.UserPayload), "Mallory") {
		t.Errorf("unverified: got Verified %v, payload %s; want false and the forged payload", in.Verified, in.UserPayload)
	}
	_, err = Inspect(forged, WithVerifyKey(testSigner(t, "rsa2048").Public(), WithClock(fixedClock(testNow.Add(time.Minute)))))
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("verified: got %v, want ErrInvalidToken", err)
	}
}

// errAny stands for any error in a table of wanted errors.
var errAny = errors.New("any error")

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// WithSignatureKey checks the alg and the signature and nothing else: a
// token without exp, or long expired, still has a good signature, which is
// what a tool reporting each claim on its own needs to know.
func TestInspectWithSignatureKeyChecksOnlyTheSignature(t *testing.T) {
	key := testKey(t, "rsa2048")
	sign := func(alg jwa.SignatureAlgorithm, k any, claims map[string]any) string {
		t.Helper()
		tok := jwt.New()
		for name, v := range claims {
			if err := tok.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		s, err := jwt.Sign(tok, jwt.WithKey(alg, k))
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	noExp := sign(jwa.RS256, key, map[string]any{"sub": testAnonID})
	expired := sign(jwa.RS256, key, map[string]any{"sub": testAnonID, "exp": testNow.Add(-time.Hour)})
	foreign := sign(jwa.RS256, testKey(t, "rsa4096"), map[string]any{"sub": testAnonID, "exp": testNow.Add(time.Hour)})
	hs256 := sign(jwa.HS256, []byte("a shared secret of thirty-two bytes!"), map[string]any{"sub": testAnonID, "exp": testNow.Add(time.Hour)})
	ps256 := sign(jwa.PS256, key, map[string]any{"sub": testAnonID, "exp": testNow.Add(time.Hour)})

	tests := []struct {
		name  string
		token string
		opts  []VerifyOption
		ok    bool
	}{
		{"no exp still has a good signature", noExp, nil, true},
		{"expired still has a good signature", expired, nil, true},
		{"another key's signature is refused", foreign, nil, false},
		{"HS256 is refused", hs256, nil, false},
		{"PS256 is refused by default", ps256, nil, false},
		{"PS256 is accepted when allowed", ps256, []VerifyOption{WithAlgorithms(jwa.PS256)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Inspect(tt.token, WithSignatureKey(key.Public(), tt.opts...))
			if tt.ok {
				if err != nil || !in.Verified {
					t.Fatalf("got %v, want a verified inspection", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("got %v, want ErrInvalidToken", err)
			}
		})
	}
	if _, err := Inspect(noExp, WithVerifyKey(key.Public())); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("WithVerifyKey on a token without exp: got %v, want ErrInvalidToken", err)
	}
	if _, err := Inspect(noExp, WithVerifyKey(key.Public()), WithSignatureKey(key.Public())); err != nil {
		t.Errorf("the last of WithVerifyKey and WithSignatureKey wins: got %v", err)
	}
	if _, err := Inspect(noExp, WithSignatureKey(nil)); err == nil {
		t.Error("a nil signature key: got nil, want an error")
	}
}
