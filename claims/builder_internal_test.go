package claims

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/internal/headersafe"
)

func TestBuildDefaults(t *testing.T) {
	tok, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got := tok.Subject(); got != testAnonID {
		t.Errorf("sub: got %q, want %q", got, testAnonID)
	}
	if got, want := tok.IssuedAt(), testNow.Add(-DefaultSkew); !got.Equal(want) {
		t.Errorf("iat: got %v, want %v (time of issue minus DefaultSkew)", got, want)
	}
	if got, want := tok.Expiration(), testNow.Add(DefaultTTL); !got.Equal(want) {
		t.Errorf("exp: got %v, want %v (time of issue plus DefaultTTL)", got, want)
	}
	for _, name := range []string{"nbf", "iss", "aud", "jti", UserPayloadClaim, ContextClaim} {
		if _, ok := tok.Get(name); ok {
			t.Errorf("%s: present, want absent", name)
		}
	}
	if got := len(tok.PrivateClaims()); got != 0 {
		t.Errorf("private claims: got %d, want 0", got)
	}
}

func TestBuildWithoutIssuedAtUsesTheClock(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	tok, err := NewBuilder().Subject(testAnonID).Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	after := time.Now().Add(time.Second)
	if exp := tok.Expiration(); exp.Before(before.Add(DefaultTTL)) || exp.After(after.Add(DefaultTTL)) {
		t.Errorf("exp: got %v, want within [%v, %v]", exp, before.Add(DefaultTTL), after.Add(DefaultTTL))
	}
}

func TestBuildTimes(t *testing.T) {
	tests := []struct {
		name            string
		b               *Builder
		wantIat, wantEx time.Time
	}{
		{"TTL sets exp from the time of issue, not from the backdated iat",
			NewBuilder().TTL(10 * time.Minute), testNow.Add(-DefaultSkew), testNow.Add(10 * time.Minute)},
		{"Skew backdates iat only", NewBuilder().Skew(2 * time.Minute), testNow.Add(-2 * time.Minute), testNow.Add(DefaultTTL)},
		{"zero Skew puts iat at the time of issue", NewBuilder().Skew(0), testNow, testNow.Add(DefaultTTL)},
		{"TTL equal to the maximum is accepted", NewBuilder().TTL(DefaultMaxTTL), testNow.Add(-DefaultSkew), testNow.Add(DefaultMaxTTL)},
		{"MaxTTL raises the limit", NewBuilder().MaxTTL(72 * time.Hour).TTL(48 * time.Hour), testNow.Add(-DefaultSkew), testNow.Add(48 * time.Hour)},
		{"a later TTL call replaces an earlier one", NewBuilder().TTL(time.Minute).TTL(2 * time.Minute), testNow.Add(-DefaultSkew), testNow.Add(2 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.b.Subject(testAnonID).IssuedAt(testNow).Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := tok.IssuedAt(); !got.Equal(tc.wantIat) {
				t.Errorf("iat: got %v, want %v", got, tc.wantIat)
			}
			if got := tok.Expiration(); !got.Equal(tc.wantEx) {
				t.Errorf("exp: got %v, want %v", got, tc.wantEx)
			}
		})
	}
}

func TestBuildAcceptsHeaderSafeSubjects(t *testing.T) {
	for _, sub := range []string{
		testAnonID,
		"u",
		strings.Repeat("a", headersafe.MaxLen),
		"user-42_ABC.xyz~!#$%&'()*+-./:<>?@[]^_`{|}~",
	} {
		if _, err := NewBuilder().Subject(sub).Build(); err != nil {
			t.Errorf("Subject(%q): got %v, want no error", sub, err)
		}
	}
}

// notJSON cannot be encoded by encoding/json.
type notJSON struct{ C chan int }

func TestBuildRefuses(t *testing.T) {
	weak := &testRSA(t, "rsa1024").PublicKey
	ibm := &testRSA(t, "rsa2048").PublicKey
	valid, err := EncryptUserPayload(ibm, map[string]any{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	sub := func() *Builder { return NewBuilder().Subject(testAnonID) }

	tests := []struct {
		name     string
		b        *Builder
		want     string // prefix of the error text
		wantAlso error  // a further error in the chain, besides ErrInvalidClaim
	}{
		{"missing sub is refused", NewBuilder(), "claims: sub: required", nil},
		{"empty sub is refused", NewBuilder().Subject(""), "claims: sub: ", headersafe.ErrEmpty},
		{"sub over 256 bytes is refused", NewBuilder().Subject(strings.Repeat("a", 257)), "claims: sub: ", headersafe.ErrTooLong},
		{"sub with CRLF is refused", NewBuilder().Subject("anon-1\r\nX-Evil: 1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with a space is refused", NewBuilder().Subject("anon 1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with ; is refused", NewBuilder().Subject("anon;1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with = is refused", NewBuilder().Subject("anon=1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with , is refused", NewBuilder().Subject("anon,1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with a quote is refused", NewBuilder().Subject(`anon"1`), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with a backslash is refused", NewBuilder().Subject(`anon\1`), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with a tab is refused", NewBuilder().Subject("anon\t1"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with DEL is refused", NewBuilder().Subject("anon\x7f"), "claims: sub: ", headersafe.ErrBadChar},
		{"sub with non-ASCII is refused", NewBuilder().Subject("anonymé"), "claims: sub: ", headersafe.ErrBadChar},

		{"zero IssuedAt is refused", sub().IssuedAt(time.Time{}), "claims: iat: ", nil},
		{"negative skew is refused", sub().Skew(-time.Second), "claims: iat: skew -1s is negative", nil},
		{"zero TTL is refused", sub().TTL(0), "claims: exp: TTL 0s is not positive", nil},
		{"negative TTL is refused", sub().TTL(-time.Minute), "claims: exp: TTL -1m0s is not positive", nil},
		{"TTL above the default maximum is refused", sub().TTL(DefaultMaxTTL + time.Second), "claims: exp: TTL 24h0m1s is longer than the maximum 24h0m0s", nil},
		{"TTL above a lowered maximum is refused", sub().MaxTTL(7100 * time.Second).TTL(2 * time.Hour), "claims: exp: TTL 2h0m0s is longer than the maximum 1h58m20s", nil},
		{"default TTL above a lowered maximum is refused", sub().MaxTTL(30 * time.Minute), "claims: exp: TTL 1h0m0s is longer", nil},
		{"zero MaxTTL is refused", sub().MaxTTL(0), "claims: exp: maximum TTL 0s is not positive", nil},

		{"empty iss is refused", sub().Issuer(""), "claims: iss: empty", nil},
		{"iss that is not UTF-8 is refused", sub().Issuer("\xff"), "claims: iss: not valid UTF-8", nil},
		{"Audience without values is refused", sub().Audience(), "claims: aud: Audience was called without a value", nil},
		{"an empty aud value is refused", sub().Audience("a", ""), "claims: aud: value 1: empty", nil},
		{"empty jti is refused", sub().JWTID(""), "claims: jti: empty", nil},

		{"nil user_payload is refused", sub().UserPayload(nil), "claims: user_payload: must encode to a JSON object, got null", nil},
		{"nil map user_payload is refused", sub().UserPayload(map[string]any(nil)), "claims: user_payload: must encode to a JSON object, got null", nil},
		{"array user_payload is refused", sub().UserPayload([]string{"a"}), "claims: user_payload: must encode to a JSON object, got an array", nil},
		{"string user_payload is refused", sub().UserPayload("secret"), "claims: user_payload: must encode to a JSON object, got a string", nil},
		{"number user_payload is refused", sub().UserPayload(42), "claims: user_payload: must encode to a JSON object, got a number", nil},
		{"boolean user_payload is refused", sub().UserPayload(true), "claims: user_payload: must encode to a JSON object, got a boolean", nil},
		{"RawMessage array user_payload is refused", sub().UserPayload(json.RawMessage(` [1]`)), "claims: user_payload: must encode to a JSON object, got an array", nil},
		{"invalid RawMessage user_payload is refused", sub().UserPayload(json.RawMessage(`{"a":`)), "claims: user_payload: encode as JSON: ", nil},
		{"unencodable user_payload is refused", sub().UserPayload(notJSON{}), "claims: user_payload: encode as JSON: ", nil},

		{"encrypted user_payload that is not base64 is refused", sub().UserPayloadCiphertext("not base64!"), "claims: user_payload: encrypted value is not padded standard base64", nil},
		{"empty encrypted user_payload is refused", sub().UserPayloadCiphertext(""), "claims: user_payload: encrypted value", nil},
		{"URL-safe base64 encrypted user_payload is refused", sub().UserPayloadCiphertext("ab-_"), "claims: user_payload: encrypted value", nil},
		{"unpadded encrypted user_payload is refused", sub().UserPayloadCiphertext(strings.TrimRight(valid, "=")[:len(valid)-3]), "claims: user_payload: encrypted value", nil},
		{"encrypted user_payload with a line break is refused", sub().UserPayloadCiphertext(valid[:64] + "\n" + valid[64:]), "claims: user_payload: encrypted value", nil},
		{"encrypted user_payload with CRLF line breaks is refused", sub().UserPayloadCiphertext(valid[:76] + "\r\n" + valid[76:152] + "\r\n" + valid[152:]), "claims: user_payload: encrypted value", nil},
		{"EncryptFor without UserPayload is refused", sub().EncryptFor(ibm, NodeRSA), "claims: user_payload: EncryptFor needs a value from UserPayload", nil},
		{"EncryptFor with UserPayloadCiphertext is refused", sub().UserPayloadCiphertext(valid).EncryptFor(ibm, NodeRSA), "claims: user_payload: UserPayloadCiphertext cannot be combined", nil},
		{"EncryptFor with a nil key is refused", sub().UserPayload(map[string]any{}).EncryptFor(nil, NodeRSA), "claims: user_payload: user_payload encryption key is nil", nil},
		{"EncryptFor with a 1024-bit key is refused", sub().UserPayload(map[string]any{}).EncryptFor(weak, NodeRSA), "claims: user_payload: RSA key shorter than 2048 bits", ErrWeakKey},
		{"EncryptFor with an unknown scheme is refused", sub().UserPayload(map[string]any{}).EncryptFor(ibm, Scheme(9)), "claims: user_payload: unknown encryption scheme Scheme(9)", nil},
		{"OAEPSHA256 payload over one block is refused", sub().UserPayload(map[string]any{"a": strings.Repeat("x", 200)}).EncryptFor(ibm, OAEPSHA256), "claims: user_payload: user_payload too large", ErrPayloadTooLarge},
		{"EncryptFor still refuses a non-object", sub().UserPayload([]int{1}).EncryptFor(ibm, NodeRSA), "claims: user_payload: must encode to a JSON object", nil},

		{"nil context is refused", sub().Context(nil), "claims: context: nil map", nil},
		{"unencodable context is refused", sub().Context(map[string]any{"c": make(chan int)}), "claims: context: encode as JSON: ", nil},

		{"Claim with an empty name is refused", sub().Claim("", 1), `claims: "": a claim needs a name`, nil},
		{"Claim with a name that is not UTF-8 is refused", sub().Claim("a\xff", 1), `claims: "a\xff": name is not valid UTF-8`, nil},
		{"Claim with an unencodable value is refused", sub().Claim("x", make(chan int)), "claims: x: encode as JSON: ", nil},

		{"the first error is returned: sub before exp", NewBuilder().TTL(-1), "claims: sub: required", nil},
		{"the first error is returned: exp before user_payload", sub().TTL(-1).UserPayload(1), "claims: exp: ", nil},
	}
	for _, name := range []string{"sub", "exp", "iat", "nbf", "iss", "aud", "jti", "user_payload", "context"} {
		tests = append(tests, struct {
			name     string
			b        *Builder
			want     string
			wantAlso error
		}{"Claim(" + name + ") is refused", sub().Claim(name, "x"), "claims: " + name + ": reserved name", nil})
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.b.Build()
			if err == nil {
				t.Fatalf("Build: got token with claims %v, want an error", tok)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Build: got error %q, want it to start with %q", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidClaim) {
				t.Errorf("Build: got %v, want errors.Is ErrInvalidClaim", err)
			}
			if tc.wantAlso != nil && !errors.Is(err, tc.wantAlso) {
				t.Errorf("Build: got %v, want errors.Is %v", err, tc.wantAlso)
			}
			if _, err := tc.b.Sign(testSigner(t, "rsa2048")); err == nil {
				t.Errorf("Sign: got no error, want the Build error")
			}
		})
	}
}

func TestBuildErrorsDoNotQuoteValues(t *testing.T) {
	const secret = "SeCrEt"
	for _, b := range []*Builder{
		NewBuilder().Subject("anon " + secret),
		NewBuilder().Subject(testAnonID).UserPayload(secret),
		NewBuilder().Subject(testAnonID).UserPayload([]string{secret}),
		NewBuilder().Subject(testAnonID).UserPayloadCiphertext(secret + "!"),
	} {
		_, err := b.Build()
		if err == nil {
			t.Fatal("Build: got no error, want one")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Build: error %q quotes the value", err)
		}
	}
}

func TestBuildOptionalClaims(t *testing.T) {
	aud := []string{"watsonx", "orchestrate"}
	tok, err := NewBuilder().Subject(testAnonID).IssuedAt(testNow).
		Issuer("https://shop.example").
		Audience(aud...).
		JWTID("jti-1").
		Context(map[string]any{"plan": "gold"}).
		Claim("tier", "gold").
		Claim("roles", []string{"a", "b"}).
		Claim("tier", "platinum").
		Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	aud[0] = "changed after the call"
	if got := tok.Issuer(); got != "https://shop.example" {
		t.Errorf("iss: got %q", got)
	}
	if got := tok.Audience(); len(got) != 2 || got[0] != "watsonx" || got[1] != "orchestrate" {
		t.Errorf("aud: got %q, want [watsonx orchestrate] (a copy of the argument)", got)
	}
	if got := tok.JwtID(); got != "jti-1" {
		t.Errorf("jti: got %q", got)
	}
	for name, want := range map[string]string{
		ContextClaim: `{"plan":"gold"}`,
		"tier":       `"platinum"`, // the later Claim call replaces the earlier one
		"roles":      `["a","b"]`,
	} {
		v, ok := tok.Get(name)
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if got, ok := v.(json.RawMessage); !ok || string(got) != want {
			t.Errorf("%s: got %v (%T), want RawMessage %s", name, v, v, want)
		}
	}
}

func TestBuildUserPayload(t *testing.T) {
	ibm := testRSA(t, "rsa2048")
	type user struct {
		Name         string `json:"name"`
		CustomUserID string `json:"custom_user_id"`
	}
	pre, err := EncryptUserPayload(&ibm.PublicKey, map[string]any{"x": 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    *Builder
		want string // JSON text of the payload, clear or after decryption
		enc  bool
	}{
		{"a map is written as a JSON object", NewBuilder().UserPayload(map[string]any{"name": "Ada", "custom_user_id": "u-1"}), `{"custom_user_id":"u-1","name":"Ada"}`, false},
		{"a struct keeps its field order", NewBuilder().UserPayload(user{"Ada", "u-1"}), `{"name":"Ada","custom_user_id":"u-1"}`, false},
		{"a RawMessage object is kept, big numbers included", NewBuilder().UserPayload(json.RawMessage(`{"id": 12345678901234567890}`)), `{"id":12345678901234567890}`, false},
		{"HTML characters are not escaped", NewBuilder().UserPayload(map[string]string{"name": "<Ada & Co>"}), `{"name":"<Ada & Co>"}`, false},
		{"an empty map is an empty object", NewBuilder().UserPayload(map[string]any{}), `{}`, false},
		{"EncryptFor encrypts with NodeRSA", NewBuilder().UserPayload(map[string]string{"name": "<Ada & Co>"}).EncryptFor(&ibm.PublicKey, NodeRSA), `{"name":"<Ada & Co>"}`, true},
		{"EncryptFor encrypts with OAEPSHA256", NewBuilder().UserPayload(user{"Ada", "u-1"}).EncryptFor(&ibm.PublicKey, OAEPSHA256), `{"name":"Ada","custom_user_id":"u-1"}`, true},
		{"UserPayloadCiphertext is sent as given", NewBuilder().UserPayloadCiphertext(pre), `{"x":1}`, true},
		{"UserPayloadCiphertext replaces UserPayload", NewBuilder().UserPayload(map[string]any{"y": 2}).UserPayloadCiphertext(pre), `{"x":1}`, true},
		{"UserPayload replaces UserPayloadCiphertext", NewBuilder().UserPayloadCiphertext(pre).UserPayload(map[string]any{"y": 2}), `{"y":2}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.b.Subject(testAnonID).Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			v, ok := tok.Get(UserPayloadClaim)
			if !ok {
				t.Fatal("user_payload: missing")
			}
			var got string
			if tc.enc {
				s, ok := v.(string)
				if !ok {
					t.Fatalf("user_payload: got %T, want the encrypted string", v)
				}
				scheme := NodeRSA
				if strings.Contains(tc.name, "OAEPSHA256") {
					scheme = OAEPSHA256
				}
				text, err := scheme.Decrypt(ibm, s)
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				got = string(text)
			} else {
				raw, ok := v.(json.RawMessage)
				if !ok {
					t.Fatalf("user_payload: got %T, want json.RawMessage", v)
				}
				got = string(raw)
			}
			if got != tc.want {
				t.Errorf("user_payload: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBuildIsRepeatable(t *testing.T) {
	b := NewBuilder().Subject(testAnonID).IssuedAt(testNow).UserPayload(map[string]any{"a": 1})
	t1, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	t2, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if !jwt.Equal(t1, t2) {
		t.Error("two Builds of one Builder differ")
	}
}

func TestClaimErrorFormat(t *testing.T) {
	_, err := NewBuilder().Subject("a b").Build()
	want := "claims: sub: " + headersafe.ErrBadChar.Error() + " (at byte 1)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestSignWithNilSigner(t *testing.T) {
	if _, err := NewBuilder().Subject(testAnonID).Sign(nil); err == nil {
		t.Error("Sign(nil): got no error, want one")
	}
}

func TestClearUserPayloadIsTheSameValueAfterSigning(t *testing.T) {
	want := map[string]any{"name": "<Ada & Co>", "custom_user_id": "user-1815"}
	s := testSigner(t, "rsa2048")
	token, err := NewBuilder().Subject(testAnonID).UserPayload(want).Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Verify(token, s.Public())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tok.Get(UserPayloadClaim)
	m, ok := got.(map[string]any)
	if !ok || m["name"] != want["name"] || m["custom_user_id"] != want["custom_user_id"] || len(m) != 2 {
		t.Errorf("user_payload: got %v, want %v", got, want)
	}
}
