package claims

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// craft makes a compact JWS by hand, as an attacker would: header and claims
// as given, signed by sign over "header.payload" (nil: empty signature).
func craft(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// rs256 signs like RS256, without jwx.
func rs256(t testing.TB, key *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// hs256 signs like HS256 with secret.
func hs256(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func TestVerifyAcceptsAGoodToken(t *testing.T) {
	s := testSigner(t, "rsa2048")
	token, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).
		UserPayload(map[string]string{"name": "Ada"}).Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Verify(token, s.Public(), WithClock(fixedClock(testNow.Add(time.Minute))))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if tok.Subject() != testAnonID {
		t.Errorf("sub: got %q, want %q", tok.Subject(), testAnonID)
	}
	up, _ := tok.Get(UserPayloadClaim)
	if m, ok := up.(map[string]any); !ok || m["name"] != "Ada" {
		t.Errorf("user_payload: got %v, want name Ada", up)
	}
}

// TestVerifyRejects: every token here is refused, and would be accepted by a
// verifier that lacked the rule its name states.
func TestVerifyRejects(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	pub := &priv.PublicKey
	now := testNow
	clock := WithClock(fixedClock(now))
	good := map[string]any{"sub": testAnonID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	rsHeader := map[string]any{"alg": "RS256", "typ": "JWT"}

	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	spkiPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	filePEM, err := os.ReadFile("testdata/rsa2048.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	if string(filePEM) != string(spkiPEM) {
		t.Fatal("testdata/rsa2048.pub.pem is not the public half of rsa2048.pem")
	}

	goodToken := craft(t, rsHeader, good, rs256(t, priv))
	parts := strings.Split(goodToken, ".")
	psToken, err := NewBuilder().Subject(testAnonID).IssuedAt(now).Sign(testSigner(t, "rsa2048", WithAlgorithm(jwa.PS256), AllowNonIBMAlgorithms()))
	if err != nil {
		t.Fatal(err)
	}
	psParts := strings.Split(psToken, ".")
	ecToken, err := NewBuilder().Subject(testAnonID).IssuedAt(now).Sign(testSigner(t, "ec256", WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms()))
	if err != nil {
		t.Fatal(err)
	}
	otherKey := testRSA(t, "rsa4096")

	tests := []struct {
		name  string
		token string
		key   any
		opts  []VerifyOption
		why   string // the rule that must fire, as the error says it
	}{
		{"alg none with an empty signature is rejected", craft(t, map[string]any{"alg": "none", "typ": "JWT"}, good, nil), pub, nil, `part 3 of the compact JWS is empty`},
		{"alg none with a signature is rejected", craft(t, map[string]any{"alg": "none"}, good, hs256(nil)), pub, nil, `alg is not one of the allowed`},
		{"alg None is rejected", craft(t, map[string]any{"alg": "None"}, good, hs256(nil)), pub, nil, `alg is not one of the allowed`},
		{"alg none is rejected even if RS256 signed it", craft(t, map[string]any{"alg": "none"}, good, rs256(t, priv)), pub, nil, `alg is not one of the allowed`},
		{"HS256 with the public key PEM as secret is rejected", craft(t, map[string]any{"alg": "HS256", "typ": "JWT"}, good, hs256(spkiPEM)), pub, nil, `alg is not one of the allowed`},
		{"HS256 with the PKCS#1 public key PEM as secret is rejected", craft(t, map[string]any{"alg": "HS256"}, good, hs256(pkcs1PEM)), pub, nil, `alg is not one of the allowed`},
		{"HS256 with the DER public key as secret is rejected", craft(t, map[string]any{"alg": "HS256"}, good, hs256(pkix)), pub, nil, `alg is not one of the allowed`},
		{"HS256 is rejected even when RS256 and PS256 are allowed", craft(t, map[string]any{"alg": "HS256"}, good, hs256(spkiPEM)), pub, []VerifyOption{WithAlgorithms(jwa.RS256, jwa.PS256)}, `alg is not one of the allowed [RS256 PS256]`},
		{"a token without exp is rejected", craft(t, rsHeader, with("exp", nil), rs256(t, priv)), pub, nil, `"exp" not satisfied: required claim not found`},
		{"exp 0 (never expires in jwx) is rejected", craft(t, rsHeader, with("exp", 0), rs256(t, priv)), pub, nil, `"exp" not satisfied`},
		{"negative exp is rejected", craft(t, rsHeader, with("exp", -1), rs256(t, priv)), pub, nil, `failed to decode value for key exp`},
		{"exp as a string is rejected", craft(t, rsHeader, with("exp", "later"), rs256(t, priv)), pub, nil, `failed to decode value for key exp`},
		{"exp as a numeric string is rejected", craft(t, rsHeader, with("exp", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), rs256(t, priv)), pub, nil, `"exp" is not a JSON number`},
		{"exp as an RFC 3339 time is rejected", craft(t, rsHeader, with("exp", now.Add(time.Hour).Format(time.RFC3339)), rs256(t, priv)), pub, nil, `"exp" is not a JSON number`},
		{"nbf as a string is rejected", craft(t, rsHeader, with("nbf", now.Add(-time.Hour).Format(time.RFC3339)), rs256(t, priv)), pub, nil, `"nbf" is not a JSON number`},
		{"iat as a string is rejected", craft(t, rsHeader, with("iat", strconv.FormatInt(now.Unix(), 10)), rs256(t, priv)), pub, nil, `"iat" is not a JSON number`},
		{"an expired token is rejected", craft(t, rsHeader, with("exp", now.Add(-6*time.Second).Unix()), rs256(t, priv)), pub, nil, `"exp" not satisfied`},
		{"a token expired beyond a custom leeway is rejected", craft(t, rsHeader, with("exp", now.Add(-61*time.Second).Unix()), rs256(t, priv)), pub, []VerifyOption{WithLeeway(time.Minute)}, `"exp" not satisfied`},
		{"a token expiring exactly now is rejected", craft(t, rsHeader, with("exp", now.Unix()), rs256(t, priv)), pub, []VerifyOption{WithLeeway(0)}, `"exp" not satisfied`},
		{"nbf in the future is rejected", craft(t, rsHeader, with("nbf", now.Add(time.Minute).Unix()), rs256(t, priv)), pub, nil, `"nbf" not satisfied`},
		{"iat in the future is rejected", craft(t, rsHeader, with("iat", now.Add(time.Minute).Unix()), rs256(t, priv)), pub, nil, `"iat" not satisfied`},
		{"a token signed by another key is rejected", goodToken, &otherKey.PublicKey, nil, `could not verify`},
		{"a tampered payload is rejected", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"anon-other","exp":9999999999}`)) + "." + parts[2], pub, nil, `could not verify`},
		{"a signature from another token is rejected", craft(t, rsHeader, with("sub", "anon-other"), nil) + parts[2], pub, nil, `could not verify`},
		{"PS256 is rejected by default", psToken, pub, nil, `alg is not one of the allowed [RS256]`},
		{"a PS256 signature relabelled RS256 is rejected", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + psParts[1] + "." + psParts[2], pub, []VerifyOption{WithAlgorithms(jwa.RS256, jwa.PS256)}, `could not verify`},
		{"ES256 is rejected with an RSA key even when allowed", ecToken, pub, []VerifyOption{WithAlgorithms(jwa.RS256, jwa.ES256)}, `a *rsa.PublicKey key cannot verify ES256`},
		{"ES256 is rejected by default with the right key", ecToken, testKey(t, "ec256").Public(), nil, `alg is not one of the allowed [RS256]`},
		{"a crit header is rejected", craft(t, map[string]any{"alg": "RS256", "crit": []string{"exp"}, "exp": 1}, good, rs256(t, priv)), pub, nil, `crit header`},
		{"the JSON serialization is rejected", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, pub, nil, `not a compact JWS`},
		{"a JWE-shaped token is rejected", parts[0] + ".." + parts[1] + ".." + parts[2], pub, nil, `not a compact JWS`},
		{"surrounding whitespace is rejected", " " + goodToken + "\n", pub, nil, `part 1 of the compact JWS is not base64url`},
		{"padding in a segment is rejected", goodToken + "==", pub, nil, `part 3 of the compact JWS is not base64url`},
		{"standard base64 in a segment is rejected", strings.ReplaceAll(goodToken, "-", "+") + "+", pub, nil, `is not base64url`},
		{"an empty token is rejected", "", pub, nil, `not a compact JWS`},
		{"two parts are rejected", parts[0] + "." + parts[1], pub, nil, `not a compact JWS`},
		{"a payload that is not JSON is rejected", craftRaw(t, `{"alg":"RS256"}`, `not json`, priv), pub, nil, `invalid JWT`},
		{"a payload that is a JSON array is rejected", craftRaw(t, `{"alg":"RS256"}`, `[1]`, priv), pub, nil, `invalid JWT`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]VerifyOption{clock}, tc.opts...)
			tok, err := Verify(tc.token, tc.key, opts...)
			if err == nil {
				t.Fatalf("Verify: got claims for sub %q, want an error", tok.Subject())
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify: got %v, want errors.Is ErrInvalidToken", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("Verify: got %q, want it rejected because %q", err, tc.why)
			}
			if len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[len(tc.token)-20:]) {
				t.Errorf("Verify: error %q quotes the token", err)
			}
		})
	}

	t.Run("the control token is accepted", func(t *testing.T) {
		if _, err := Verify(goodToken, pub, clock); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("an expired token says so through ErrExpired", func(t *testing.T) {
		_, err := Verify(craft(t, rsHeader, with("exp", now.Add(-time.Hour).Unix()), rs256(t, priv)), pub, clock)
		if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrNotYetValid) {
			t.Errorf("got %v, want ErrExpired and ErrInvalidToken", err)
		}
	})
	t.Run("an exp of 0 is expired", func(t *testing.T) {
		_, err := Verify(craft(t, rsHeader, with("exp", 0), rs256(t, priv)), pub, clock)
		if !errors.Is(err, ErrExpired) {
			t.Errorf("got %v, want ErrExpired", err)
		}
	})
	for _, claim := range []string{"nbf", "iat"} {
		t.Run(claim+" in the future says so through ErrNotYetValid", func(t *testing.T) {
			_, err := Verify(craft(t, rsHeader, with(claim, now.Add(time.Hour).Unix()), rs256(t, priv)), pub, clock)
			if !errors.Is(err, ErrNotYetValid) || !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrExpired) {
				t.Errorf("got %v, want ErrNotYetValid and ErrInvalidToken", err)
			}
		})
	}
	t.Run("a forged token is neither expired nor not yet valid", func(t *testing.T) {
		_, err := Verify(craft(t, rsHeader, with("exp", now.Add(-time.Hour).Unix()), rs256(t, testRSA(t, "rsa4096"))), pub, clock)
		if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrExpired) || errors.Is(err, ErrNotYetValid) {
			t.Errorf("got %v, want ErrInvalidToken alone", err)
		}
	})
}

// craftRaw signs a raw header and payload text with RS256.
func craftRaw(t testing.TB, header, payload string, key *rsa.PrivateKey) string {
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return input + "." + base64.RawURLEncoding.EncodeToString(rs256(t, key)([]byte(input)))
}

func TestVerifyLeeway(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	now := testNow
	header := map[string]any{"alg": "RS256"}
	tests := []struct {
		name   string
		claims map[string]any
		opts   []VerifyOption
	}{
		{"a token expired 4s ago passes the default 5s leeway", map[string]any{"sub": "a", "exp": now.Add(-4 * time.Second).Unix()}, nil},
		{"a token expired 50s ago passes a 1m leeway", map[string]any{"sub": "a", "exp": now.Add(-50 * time.Second).Unix()}, []VerifyOption{WithLeeway(time.Minute)}},
		{"nbf 4s ahead passes the default leeway", map[string]any{"sub": "a", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(4 * time.Second).Unix()}, nil},
		{"iat 4s ahead passes the default leeway", map[string]any{"sub": "a", "exp": now.Add(time.Hour).Unix(), "iat": now.Add(4 * time.Second).Unix()}, nil},
		{"WithClock(nil) falls back to time.Now", map[string]any{"sub": "a", "exp": time.Now().Add(time.Hour).Unix()}, []VerifyOption{WithClock(nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]VerifyOption{WithClock(fixedClock(now))}, tc.opts...)
			if _, err := Verify(craft(t, header, tc.claims, rs256(t, priv)), &priv.PublicKey, opts...); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyKeyForms(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	token, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).Sign(testSigner(t, "rsa2048", WithKeyID("k1")))
	if err != nil {
		t.Fatal(err)
	}
	clock := WithClock(fixedClock(testNow))
	jwkPub, _ := jwk.FromRaw(&priv.PublicKey)
	jwkPriv, _ := jwk.FromRaw(priv)
	jwkAlg, _ := jwk.FromRaw(&priv.PublicKey)
	_ = jwkAlg.Set(jwk.AlgorithmKey, jwa.RS256)
	_ = jwkAlg.Set(jwk.KeyIDKey, "k1")

	accepted := map[string]any{
		"*rsa.PublicKey":           &priv.PublicKey,
		"*rsa.PrivateKey":          priv,
		"opaque crypto.Signer":     opaqueSigner{priv},
		"public jwk.Key":           jwkPub,
		"private jwk.Key":          jwkPriv,
		"jwk.Key with alg and kid": jwkAlg,
		"Signer.PublicJWK":         testSigner(t, "rsa2048", WithKeyID("k1")).PublicJWK(),
	}
	for name, key := range accepted {
		t.Run(name+" is accepted", func(t *testing.T) {
			if _, err := Verify(token, key, clock); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}

	wrongAlg, _ := jwk.FromRaw(&priv.PublicKey)
	_ = wrongAlg.Set(jwk.AlgorithmKey, jwa.RS512)
	encUse, _ := jwk.FromRaw(&priv.PublicKey)
	_ = encUse.Set(jwk.KeyUsageKey, "enc")
	otherKid, _ := jwk.FromRaw(&priv.PublicKey)
	_ = otherKid.Set(jwk.KeyIDKey, "k2")
	pemBytes, _ := os.ReadFile("testdata/rsa2048.pub.pem")
	oct, _ := jwk.FromRaw(pemBytes)

	refused := []struct {
		name    string
		key     any
		isToken bool // the error is about the token, not the key
		is      error
	}{
		{"a jwk.Key for another alg is refused", wrongAlg, true, nil},
		{"a jwk.Key with use enc is refused", encUse, false, nil},
		{"a jwk.Key with another kid is refused", otherKid, true, nil},
		{"the public key PEM as []byte is refused", pemBytes, false, nil},
		{"the public key PEM as string is refused", string(pemBytes), false, nil},
		{"an oct jwk.Key is refused", oct, false, nil},
		{"a nil key is refused", nil, false, nil},
		{"a nil *rsa.PrivateKey is refused", (*rsa.PrivateKey)(nil), false, nil},
		{"a nil *ecdsa.PrivateKey is refused", (*ecdsa.PrivateKey)(nil), false, nil},
		{"an empty ed25519.PrivateKey is refused", ed25519.PrivateKey(nil), false, nil},
		{"a 1024-bit RSA key is refused", &testRSA(t, "rsa1024").PublicKey, false, ErrWeakKey},
		{"an empty key set is refused", jwk.NewSet(), false, nil},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(token, tc.key, clock)
			if err == nil {
				t.Fatal("Verify: got no error, want one")
			}
			if got := errors.Is(err, ErrInvalidToken); got != tc.isToken {
				t.Errorf("Verify: got %v; errors.Is ErrInvalidToken %v, want %v", err, got, tc.isToken)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Verify: got %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestVerifyKeySet(t *testing.T) {
	a := testSigner(t, "rsa2048", WithKeyID("a"))
	b := testSigner(t, "rsa4096", WithKeyID("b"))
	e := testSigner(t, "ec256", WithAlgorithm(jwa.ES256), AllowNonIBMAlgorithms(), WithKeyID("e"))
	noKid := testSigner(t, "rsa2048")
	clock := WithClock(fixedClock(testNow))
	sign := func(s *Signer) string {
		tok, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).Sign(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	set := func(keys ...jwk.Key) jwk.Set {
		s := jwk.NewSet()
		for _, k := range keys {
			if err := s.AddKey(k); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	// A key with a's kid but b's material, to show that kid alone picks.
	aKidBKey := b.PublicJWK()
	_ = aKidBKey.Set(jwk.KeyIDKey, "a")
	dupA := a.PublicJWK()
	_ = dupA.Set(jwk.AlgorithmKey, jwa.RS256)

	tests := []struct {
		name   string
		token  string
		set    jwk.Set
		opts   []VerifyOption
		accept bool
	}{
		{"the key named by kid is used", sign(a), set(a.PublicJWK(), b.PublicJWK()), nil, true},
		{"the other key named by kid is used", sign(b), set(a.PublicJWK(), b.PublicJWK()), nil, true},
		{"an ES256 key in the set works when ES256 is allowed", sign(e), set(a.PublicJWK(), e.PublicJWK()), []VerifyOption{WithAlgorithms(jwa.RS256, jwa.ES256)}, true},
		{"an ES256 key in the set is refused when only RS256 is allowed", sign(e), set(a.PublicJWK(), e.PublicJWK()), nil, false},
		{"a kid naming a key that did not sign is refused", sign(a), set(aKidBKey), nil, false},
		{"an unknown kid is refused", sign(a), set(b.PublicJWK()), nil, false},
		{"no kid with a set of one key uses that key", sign(noKid), set(noKid.PublicJWK()), nil, true},
		{"no kid with a set of two keys is refused", sign(noKid), set(a.PublicJWK(), b.PublicJWK()), nil, false},
		{"a kid held by two keys is refused", sign(a), set(aKidBKey, a.PublicJWK()), nil, false},
		{"a kid held by two keys is refused in either order", sign(a), set(a.PublicJWK(), aKidBKey), nil, false},
		{"a set key whose alg differs from the token's is refused", sign(a), set(func() jwk.Key { k := a.PublicJWK(); _ = k.Set(jwk.AlgorithmKey, jwa.PS256); return k }()), []VerifyOption{WithAlgorithms(jwa.RS256, jwa.PS256)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]VerifyOption{clock}, tc.opts...)
			_, err := Verify(tc.token, tc.set, opts...)
			if tc.accept && err != nil {
				t.Errorf("Verify: got %v, want success", err)
			}
			if !tc.accept && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify: got %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestVerifyOptionsRefused(t *testing.T) {
	s := testSigner(t, "rsa2048")
	token, err := NewBuilder().Subject(testAnonID).Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []VerifyOption
		want string
	}{
		{"a negative leeway is refused", []VerifyOption{WithLeeway(-time.Second)}, "claims: Verify: negative leeway -1s"},
		{"an empty algorithm list is refused", []VerifyOption{WithAlgorithms()}, "claims: Verify: WithAlgorithms: no algorithm"},
		{"HS256 cannot be allowed", []VerifyOption{WithAlgorithms(jwa.RS256, jwa.HS256)}, `claims: Verify: WithAlgorithms: "HS256" is not an asymmetric signature algorithm`},
		{"none cannot be allowed", []VerifyOption{WithAlgorithms(jwa.NoSignature)}, `claims: Verify: WithAlgorithms: "none" is not an asymmetric signature algorithm`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(token, s.Public(), tc.opts...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Verify: got %v, want %q", err, tc.want)
			}
			if errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify: a bad option is not an invalid token")
			}
		})
	}
}

// FuzzVerify: no input verifies against the key, and no input panics.
func FuzzVerify(f *testing.F) {
	priv := testRSA(f, "rsa2048")
	pub := &priv.PublicKey
	pemBytes, err := os.ReadFile("testdata/rsa2048.pub.pem")
	if err != nil {
		f.Fatal(err)
	}
	// Seeds are real tokens that must not verify: expired, signed by
	// another key, or made by the known attacks.
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	expired, err := NewBuilder().Subject(testAnonID).IssuedAt(past).UserPayload(map[string]any{"a": 1}).Sign(testSigner(f, "rsa2048", WithKeyID("k")))
	if err != nil {
		f.Fatal(err)
	}
	otherKey, err := NewBuilder().Subject(testAnonID).Sign(testSigner(f, "rsa4096"))
	if err != nil {
		f.Fatal(err)
	}
	live := map[string]any{"sub": testAnonID, "exp": time.Now().Add(100 * 365 * 24 * time.Hour).Unix()}
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "a.b.", ".b.c", "e30.e30.", "e30.e30.e30",
		expired, otherKey, expired + ".", expired[:len(expired)-1],
		craft(f, map[string]any{"alg": "none"}, live, nil),
		craft(f, map[string]any{"alg": "HS256"}, live, hs256(pemBytes)),
		craft(f, map[string]any{"alg": "RS256"}, map[string]any{"sub": testAnonID}, rs256(f, priv)),
		craft(f, map[string]any{"alg": "RS256"}, map[string]any{"sub": testAnonID, "exp": 0}, rs256(f, priv)),
		craft(f, map[string]any{"alg": "RS256", "b64": false, "crit": []string{"b64"}}, live, rs256(f, priv)),
		craft(f, map[string]any{"alg": "RS256", "kid": strings.Repeat("k", 1000)}, live, nil),
		`{"payload":"e30","signatures":[]}`,
		strings.Repeat("A", 10000) + "." + strings.Repeat("B", 10) + ".C",
	} {
		f.Add(s)
	}
	set := jwk.NewSet()
	k, _ := jwk.FromRaw(pub)
	_ = k.Set(jwk.KeyIDKey, "k")
	_ = set.AddKey(k)
	f.Fuzz(func(t *testing.T, token string) {
		for _, key := range []any{pub, set} {
			tok, err := Verify(token, key, WithAlgorithms(jwa.RS256, jwa.PS256, jwa.ES256, jwa.EdDSA))
			if err == nil {
				t.Fatalf("Verify: accepted a token for sub %q", tok.Subject())
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify: got %v, want ErrInvalidToken", err)
			}
		}
	})
}
