package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

// doctorNow is the fixed time doctor runs at in the tests.
var doctorNow = time.Date(2026, time.March, 4, 5, 6, 7, 0, time.UTC)

const (
	testSub      = "anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d"
	signingKey   = "testdata/rsa2048-a.pem"
	signingPub   = "testdata/rsa2048-a.pub.pem"
	foreignKey   = "testdata/rsa2048-b.pkcs8.pem"
	ibmKey       = "testdata/ibm-rsa2048.pem"
	ibmPublicKey = "testdata/ibm-rsa2048.pub.pem"
	// secretName is in every test payload and must never be printed.
	secretName = "Cade Secretname"
)

func loadSigner(t testing.TB, path string) crypto.Signer {
	t.Helper()
	k, err := keys.LoadPrivateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadRSAPublic(t testing.TB, path string) *rsa.PublicKey {
	t.Helper()
	k, err := keys.LoadPublicFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

// encrypt encrypts v for the stand-in IBM key, as IBM expects user_payload.
func encrypt(t testing.TB, v any) string {
	t.Helper()
	s, err := claims.EncryptUserPayload(loadRSAPublic(t, ibmPublicKey), v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims is a claim set IBM's web chat accepts at doctorNow, as
// identity.Server makes them: iat backdated 30 s, 1 h lifetime, an
// encrypted anonymous payload.
func goodClaims(t testing.TB) map[string]any {
	iat := doctorNow.Add(-40 * time.Second)
	return map[string]any{
		"sub": testSub,
		"iat": iat.Unix(),
		"exp": iat.Add(time.Hour + 30*time.Second).Unix(),
		"user_payload": encrypt(t, map[string]string{
			"name": secretName, "custom_user_id": "cade-id",
		}),
	}
}

// mint signs a claim set as it is, with jwx directly, so that the tests can
// make tokens claims.Builder refuses to build. kid is the header's kid, ""
// for none.
func mint(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, set map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set("typ", "JWT"); err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// unsigned makes a token with the given header and claims and signature
// segment, signed by nobody.
func unsigned(t testing.TB, header, set map[string]any, sig string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(set) + "." + sig
}

// jwksFile writes the JWK set the app serves for the signing key, kid =
// its thumbprint as identity.New sets it, and returns its path.
func jwksFile(t *testing.T) string {
	t.Helper()
	k, err := jwk.FromRaw(loadSigner(t, signingKey).Public())
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := claims.KeyID(k)
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.RS256, jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func signingKid(t testing.TB) string {
	kid, err := claims.KeyID(loadSigner(t, signingKey).Public())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// runDoctorAt runs doctor at doctorNow.
func runDoctorAt(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := doctor(context.Background(), args, stdio{strings.NewReader(stdin), &out, &errOut},
		func() time.Time { return doctorNow }, http.DefaultClient)
	return result{code, out.String(), errOut.String()}
}

// failedChecks returns the names of the checks doctor's output marks FAIL,
// the verdict left out.
func failedChecks(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "FAIL" && f[1] != "verdict" {
			names = append(names, f[1])
		}
	}
	return names
}

// checkNoLeak fails when doctor's output holds the token or anything from
// its payload.
func checkNoLeak(t *testing.T, token, out string) {
	t.Helper()
	parts := strings.Split(token, ".")
	for _, secret := range append(parts, secretName, "cade-id", testSub) {
		if len(secret) > 4 && strings.Contains(out, secret) {
			t.Errorf("the output holds a part of the token or its payload: %q\n%s", secret, out)
		}
	}
}

func TestDoctorGoodToken(t *testing.T) {
	signer := loadSigner(t, signingKey)
	token := mint(t, jwa.RS256, signer, signingKid(t), goodClaims(t))
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"with the key pasted at IBM and IBM's payload key", []string{"-ibm-key", signingPub, "-payload-key", ibmKey}, "doctor_ok"},
		{"with the app's JWK set", []string{"-jwks", jwksFile(t)}, "doctor_ok_jwks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDoctorAt(t, token, append(tt.args, "-")...)
			if r.code != exitOK || r.errOut != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.errOut)
			}
			golden(t, tt.golden, r.out)
			checkNoLeak(t, token, r.out)
		})
	}

	// The token made by the library's own builder passes too.
	s, err := claims.NewSigner(signer)
	if err != nil {
		t.Fatal(err)
	}
	built, err := claims.NewBuilder().Subject(testSub).IssuedAt(doctorNow.Add(-time.Minute)).
		UserPayload(map[string]string{"name": secretName, "custom_user_id": "cade-id"}).
		EncryptFor(loadRSAPublic(t, ibmPublicKey), claims.NodeRSA).Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	r := runDoctorAt(t, "", "-ibm-key", signingPub, "-payload-key", ibmKey, built)
	if r.code != exitOK || len(failedChecks(r.out)) != 0 || strings.Contains(r.out, "warn") {
		t.Errorf("a builder-made token: exit %d\n%s", r.code, r.out)
	}
}

// A token with several faults: every one is reported, the verdict counts
// them, and nothing of the token is printed.
func TestDoctorBrokenToken(t *testing.T) {
	c := goodClaims(t)
	c["iat"] = doctorNow.Add(-3 * time.Hour).Unix()
	c["exp"] = doctorNow.Add(-2 * time.Hour).Unix()
	c["sub"] = "Cade Secretname;x=1"
	c["user_payload"] = map[string]string{"name": secretName, "custom_user_id": "cade-id"}
	token := mint(t, jwa.RS256, loadSigner(t, foreignKey), "", c)
	r := runDoctorAt(t, token, "-ibm-key", signingPub, "-payload-key", ibmKey)
	if r.code != exitFail {
		t.Errorf("exit %d, want 1", r.code)
	}
	golden(t, "doctor_broken", r.out)
	checkNoLeak(t, token, r.out)
}

// Each broken token fails exactly the check that looks for its fault.
func TestDoctorFindsEachFault(t *testing.T) {
	signer := loadSigner(t, signingKey)
	kid := signingKid(t)
	withKey := []string{"-ibm-key", signingPub, "-payload-key", ibmKey}
	withJWKS := []string{"-jwks", jwksFile(t), "-payload-key", ibmKey}
	claimsWith := func(change func(map[string]any)) map[string]any {
		c := goodClaims(t)
		change(c)
		return c
	}
	good := func(change func(map[string]any)) string {
		return mint(t, jwa.RS256, signer, kid, claimsWith(change))
	}
	iat := doctorNow.Add(-40 * time.Second)
	exp := func(d time.Duration) func(map[string]any) {
		return func(c map[string]any) { c["exp"] = iat.Add(d).Unix() }
	}
	payload := func(v any) func(map[string]any) {
		return func(c map[string]any) { c["user_payload"] = v }
	}
	del := func(name string) func(map[string]any) {
		return func(c map[string]any) { delete(c, name) }
	}
	goodToken := good(func(map[string]any) {})
	sig := goodToken[strings.LastIndex(goodToken, ".")+1:]
	flipped := []byte(sig)
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}
	orchestrate := append([]string{"-target", "orchestrate"}, withKey...)
	sso := encrypt(t, map[string]string{"sso_token": "sso-secret"})

	tests := []struct {
		name  string
		token string
		args  []string
		want  string // the one check that must fail
	}{
		{"HS256 is refused by alg", mint(t, jwa.HS256, []byte("a shared secret that is long enough"), kid, goodClaims(t)), withKey, "alg"},
		{"alg none is refused by alg", unsigned(t, map[string]any{"alg": "none", "typ": "JWT"}, goodClaims(t), "c2ln"), withKey, "alg"},
		{"PS256 is refused by alg", mint(t, jwa.PS256, signer, kid, goodClaims(t)), withKey, "alg"},
		{"an unsigned token with an empty signature is not a JWS", unsigned(t, map[string]any{"alg": "none"}, goodClaims(t), ""), withKey, "format"},
		{"an altered signature fails signature", goodToken[:len(goodToken)-len(sig)] + string(flipped), withKey, "signature"},
		{"an altered payload fails signature", unsigned(t, map[string]any{"alg": "RS256", "kid": kid}, goodClaims(t), sig), withKey, "signature"},
		{"a foreign key's signature fails signature", mint(t, jwa.RS256, loadSigner(t, foreignKey), kid, goodClaims(t)), withKey, "signature"},
		{"a foreign key's signature fails signature against the JWK set", mint(t, jwa.RS256, loadSigner(t, foreignKey), kid, goodClaims(t)), withJWKS, "signature"},
		{"a kid not in the JWK set fails kid", mint(t, jwa.RS256, signer, "another-kid", goodClaims(t)), withJWKS, "kid"},
		{"no kid with a JWK set fails kid", mint(t, jwa.RS256, signer, "", goodClaims(t)), withJWKS, "kid"},
		{"no exp fails exp", good(del("exp")), withKey, "exp"},
		{"exp as a string fails exp", good(func(c map[string]any) { c["exp"] = "1772600767" }), withKey, "exp"},
		{"an expired token fails exp", good(func(c map[string]any) {
			c["iat"] = doctorNow.Add(-2 * time.Hour).Unix()
			c["exp"] = doctorNow.Add(-time.Hour).Unix()
		}), withKey, "exp"},
		{"a lifetime over 24 h fails lifetime", good(exp(25 * time.Hour)), withKey, "lifetime"},
		{"exp before iat fails lifetime", good(func(c map[string]any) { c["iat"] = doctorNow.Add(time.Hour + 30*time.Second).Unix() }), append([]string{"-skew", "2h"}, withKey...), "lifetime"},
		{"a lifetime over 7100 s fails lifetime for Orchestrate", good(func(c map[string]any) {
			c["exp"] = iat.Add(7101 * time.Second).Unix()
			c["user_payload"] = sso
		}), orchestrate, "lifetime"},
		{"no iat fails iat", good(del("iat")), withKey, "iat"},
		{"iat in the future fails iat", good(func(c map[string]any) {
			c["iat"] = doctorNow.Add(5 * time.Minute).Unix()
			c["exp"] = doctorNow.Add(time.Hour).Unix()
		}), withKey, "iat"},
		{"nbf in the future fails nbf", good(func(c map[string]any) { c["nbf"] = doctorNow.Add(time.Minute).Unix() }), withKey, "nbf"},
		{"no sub fails sub", good(del("sub")), withKey, "sub"},
		{"an empty sub fails sub", good(func(c map[string]any) { c["sub"] = "" }), withKey, "sub"},
		{"a sub that is no string fails sub", good(func(c map[string]any) { c["sub"] = 42 }), withKey, "sub"},
		{"a sub with a space fails sub", good(func(c map[string]any) { c["sub"] = "anon 1" }), withKey, "sub"},
		{"a sub with a semicolon fails sub", good(func(c map[string]any) { c["sub"] = "anon-1;customer_id=x" }), withKey, "sub"},
		{"a sub with CRLF fails sub", good(func(c map[string]any) { c["sub"] = "anon-1\r\nX-Evil: 1" }), withKey, "sub"},
		{"a sub over 256 bytes fails sub", good(func(c map[string]any) { c["sub"] = "anon-" + strings.Repeat("x", 252) }), withKey, "sub"},
		{"iss that is no string fails claims", good(func(c map[string]any) { c["iss"] = 7 }), withKey, "claims"},
		{"a wxo_ context variable fails claims for Orchestrate", good(func(c map[string]any) {
			c["user_payload"] = sso
			c["context"] = map[string]any{"wxo_user_name": "x"}
		}), orchestrate, "claims"},
		{"a context that is no object fails claims for Orchestrate", good(func(c map[string]any) {
			c["user_payload"] = sso
			c["context"] = []string{"x"}
		}), orchestrate, "claims"},
		{"a plaintext payload when IBM decrypts fails user_payload", good(payload(map[string]string{"name": secretName, "custom_user_id": "cade-id"})), withKey, "user_payload"},
		{"no payload when IBM decrypts fails user_payload", good(del("user_payload")), withKey, "user_payload"},
		{"a payload encrypted for another key fails user_payload", good(payload(func() string {
			s, err := claims.EncryptUserPayload(loadRSAPublic(t, signingPub), map[string]string{"name": secretName, "custom_user_id": "cade-id"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}())), withKey, "user_payload"},
		{"a payload that is not base64 fails user_payload", good(payload("not*base64")), withKey, "user_payload"},
		{"a payload in the other scheme fails user_payload", good(payload(func() string {
			s, err := claims.OAEPSHA256.Encrypt(loadRSAPublic(t, ibmPublicKey), map[string]string{"name": secretName, "custom_user_id": "cade-id"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}())), withKey, "user_payload"},
		{"an encrypted payload that is no object fails user_payload", good(payload(encrypt(t, []string{secretName}))), withKey, "user_payload"},
		{"an encrypted payload without custom_user_id fails user_payload", good(payload(encrypt(t, map[string]string{"name": secretName}))), withKey, "user_payload"},
		{"an encrypted payload whose name is no string fails user_payload", good(payload(encrypt(t, map[string]any{"name": 5, "custom_user_id": "cade-id"}))), withKey, "user_payload"},
		{"a plaintext payload whose name is no string fails user_payload", good(payload(map[string]any{"name": []string{secretName}, "custom_user_id": "cade-id"})), []string{"-ibm-key", signingPub}, "user_payload"},
		{"a plaintext payload for Orchestrate fails user_payload", good(payload(map[string]string{"sso_token": "sso-secret"})), []string{"-target", "orchestrate", "-ibm-key", signingPub}, "user_payload"},
		{"an Orchestrate payload with more than sso_token fails user_payload", good(payload(encrypt(t, map[string]string{"sso_token": "sso-secret", "name": secretName}))), orchestrate, "user_payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDoctorAt(t, tt.token, append(slices.Clone(tt.args), "-")...)
			got := failedChecks(r.out)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("failed checks %v, want [%s]\n%s", got, tt.want, r.out)
			}
			if r.code != exitFail || !strings.Contains(r.out, "FAIL  verdict") {
				t.Errorf("exit %d, want 1 and a FAIL verdict\n%s", r.code, r.out)
			}

			checkNoLeak(t, tt.token, r.out)
		})
	}
}

func TestDoctorWarnings(t *testing.T) {
	signer := loadSigner(t, signingKey)
	kid := signingKid(t)
	tests := []struct {
		name  string
		set   func(map[string]any)
		args  []string
		check string
	}{
		{"an encrypted payload without -payload-key is not checked", func(map[string]any) {}, nil, "user_payload"},
		{"a plaintext payload is readable by the browser", func(c map[string]any) {
			c["user_payload"] = map[string]string{"name": secretName, "custom_user_id": "cade-id"}
		}, nil, "user_payload"},
		{"no payload for web chat", func(c map[string]any) { delete(c, "user_payload") }, nil, "user_payload"},
		{"a 2 h lifetime is longer than IBM suggests", func(c map[string]any) { c["exp"] = doctorNow.Add(2 * time.Hour).Unix() }, []string{"-payload-key", ibmKey}, "lifetime"},
		{"an e-mail address as sub", func(c map[string]any) { c["sub"] = "cade@example.com" }, []string{"-payload-key", ibmKey}, "sub"},
		{"context sent to web chat", func(c map[string]any) { c["context"] = map[string]any{"x": 1} }, []string{"-payload-key", ibmKey}, "claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodClaims(t)
			tt.set(c)
			token := mint(t, jwa.RS256, signer, kid, c)
			r := runDoctorAt(t, "", append([]string{"-ibm-key", signingPub}, append(tt.args, token)...)...)
			var warned []string
			for _, line := range strings.Split(r.out, "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "warn" {
					warned = append(warned, f[1])
				}
			}
			if r.code != exitOK || len(failedChecks(r.out)) != 0 || !slices.Equal(warned, []string{tt.check}) {
				t.Errorf("exit %d, warnings %v; want exit 0 and only a %s warning\n%s", r.code, warned, tt.check, r.out)
			}
		})
	}
}

// doctor -url fetches the token as the browser does, with the cookie it is
// given, and -jwks may be a URL too.
func TestDoctorFetches(t *testing.T) {
	signer := loadSigner(t, signingKey)
	token := mint(t, jwa.RS256, signer, signingKid(t), goodClaims(t))
	jwks, err := os.ReadFile(jwksFile(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /createJWT", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("ANONYMOUS-USER-ID"); err != nil || c.Value != "anon-cookie" {
			http.Error(w, "no cookie", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(token))
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) { w.Write(jwks) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jwksURL := srv.URL + "/.well-known/jwks.json"

	r := runDoctorAt(t, "", "-url", srv.URL+"/createJWT", "-cookie", "ANONYMOUS-USER-ID=anon-cookie", "-jwks", jwksURL, "-payload-key", ibmKey)
	if r.code != exitOK {
		t.Errorf("-url with the cookie: exit %d, stderr %q\n%s", r.code, r.errOut, r.out)
	}
	golden(t, "doctor_url", r.out)
	if r := runDoctorAt(t, "", "-url", srv.URL+"/json", "-jwks", jwksURL); r.code != exitOK {
		t.Errorf("-url answering JSON: exit %d, stderr %q\n%s", r.code, r.errOut, r.out)
	}
	r = runDoctorAt(t, "", "-url", srv.URL+"/createJWT", "-jwks", jwksURL)
	if r.code != exitFail || r.out != "" || !strings.Contains(r.errOut, "401") {
		t.Errorf("-url without the cookie: exit %d, stdout %q, stderr %q; want 1 and the status", r.code, r.out, r.errOut)
	}
	if r := runDoctorAt(t, "", "-url", srv.URL+"/createJWT", "-jwks", srv.URL+"/nothing"); r.code != exitFail || !strings.Contains(r.errOut, "-jwks") {
		t.Errorf("a -jwks URL that fails: exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestDoctorUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no key", []string{"tok"}, exitUsage},
		{"both keys", []string{"-ibm-key", signingPub, "-jwks", "x.json", "tok"}, exitUsage},
		{"a token and -url", []string{"-ibm-key", signingPub, "-url", "http://127.0.0.1:1/", "tok"}, exitUsage},
		{"two tokens", []string{"-ibm-key", signingPub, "a", "b"}, exitUsage},
		{"an unknown target", []string{"-ibm-key", signingPub, "-target", "watson", "tok"}, exitUsage},
		{"an unknown scheme", []string{"-ibm-key", signingPub, "-payload-scheme", "pkcs1", "tok"}, exitUsage},
		{"-cookie without -url", []string{"-ibm-key", signingPub, "-cookie", "a=b", "tok"}, exitUsage},
		{"a bad -cookie", []string{"-ibm-key", signingPub, "-url", "http://127.0.0.1:1/", "-cookie", "novalue"}, exitUsage},
		{"a negative -skew", []string{"-ibm-key", signingPub, "-skew", "-1s", "tok"}, exitUsage},
		{"an unknown flag", []string{"-key", signingPub, "tok"}, exitUsage},
		{"an -ibm-key that is no key", []string{"-ibm-key", "testdata/not-a-key.pem", "tok"}, exitFail},
		{"a -payload-key that is a public key", []string{"-ibm-key", signingPub, "-payload-key", ibmPublicKey, "tok"}, exitFail},
		{"no token on stdin", []string{"-ibm-key", signingPub}, exitFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runDoctorAt(t, "", tt.args...)
			if r.code != tt.code || r.out != "" || r.errOut == "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing on stdout, an error on stderr", r.code, r.out, r.errOut, tt.code)
			}
		})
	}
}

// diagnose reads tokens from anywhere: whatever it gets, it does not
// panic, reports every check once, and prints only ok, warn and FAIL lines.
func FuzzDiagnose(f *testing.F) {
	signer := loadSigner(f, signingKey)
	kid := signingKid(f)
	good := goodClaims(f)
	f.Add(mint(f, jwa.RS256, signer, kid, good))
	f.Add(mint(f, jwa.HS256, []byte("a shared secret that is long enough"), kid, good))
	f.Add(unsigned(f, map[string]any{"alg": "none"}, good, ""))
	f.Add(unsigned(f, map[string]any{"alg": 7, "kid": []int{1}}, map[string]any{"exp": "x", "iat": 1e300, "nbf": -1e300, "sub": nil, "user_payload": 3, "context": "c"}, "c2ln"))
	f.Add(unsigned(f, map[string]any{"alg": "RS256"}, map[string]any{"user_payload": "AAAA", "exp": 1.5}, "c2ln"))
	f.Add("a.b.c")
	f.Add("")
	pub, _, err := loadKeyFile(signingPub)
	if err != nil {
		f.Fatal(err)
	}
	payloadKey := loadSigner(f, ibmKey)
	opts := doctorOptions{ibmKey: pub, ibmKeyFile: signingPub, payloadKey: payloadKey, skew: time.Minute, now: doctorNow}
	f.Fuzz(func(t *testing.T, token string) {
		seen := map[string]bool{}
		for _, fd := range diagnose(token, opts) {
			if seen[fd.check] {
				t.Errorf("check %s reported twice", fd.check)
			}
			seen[fd.check] = true
			if fd.verdict != pass && fd.verdict != warn && fd.verdict != fail {
				t.Errorf("check %s: verdict %d", fd.check, fd.verdict)
			}
			if strings.ContainsAny(fd.reason, "\r\n") {
				t.Errorf("check %s: a line break in the reason %q", fd.check, fd.reason)
			}
		}
	})
}

// doctor agrees with the library: a token from a real identity.Server, with
// user_payload encrypted for IBM, passes every check, fetched from its
// /createJWT and checked against its /.well-known/jwks.json.
func TestDoctorAgainstIdentityServer(t *testing.T) {
	srv, err := identity.New(identity.Config{
		SigningKeys:  []identity.SigningKey{{Key: loadSigner(t, signingKey)}},
		IBMPublicKey: loadRSAPublic(t, ibmPublicKey),
		Now:          func() time.Time { return doctorNow },
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	r := runDoctorAt(t, "", "-url", ts.URL+"/createJWT", "-jwks", ts.URL+"/.well-known/jwks.json", "-payload-key", ibmKey)
	if r.code != exitOK || r.errOut != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.errOut)
	}
	golden(t, "doctor_identity", r.out)
}
