package claims

import (
	"bytes"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// fullBuilder sets every claim a Builder can set.
func fullBuilder() *Builder {
	return NewBuilder().Subject(testAnonID).IssuedAt(testNow).TTL(10*time.Minute).Skew(5*time.Second).
		MaxTTL(time.Hour).Issuer("https://example.com").Audience("a", "b").JWTID("j1").
		UserPayload(map[string]string{"name": "Ada", "custom_user_id": "u1"}).
		Context(map[string]any{"page": "home"}).Claim("tier", "gold").Claim("n", 1)
}

func mustKey(t *testing.T, b *Builder) []byte {
	t.Helper()
	s, err := b.Check()
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return s.AppendKey(nil)
}

func TestAppendKeyChangesWithEveryClaim(t *testing.T) {
	base := mustKey(t, fullBuilder())
	if again := mustKey(t, fullBuilder()); !bytes.Equal(again, base) {
		t.Fatal("the same claims gave two keys")
	}
	// The time of issue and the maximum TTL are not claims: same key.
	if k := mustKey(t, fullBuilder().IssuedAt(testNow.Add(time.Minute)).MaxTTL(2*time.Hour)); !bytes.Equal(k, base) {
		t.Error("another time of issue or maximum TTL changed the key; only claims and the lifetime should")
	}
	ciphertext := func(b *Builder) *Builder { return b.UserPayloadCiphertext("AAAA") }
	tests := []struct {
		name   string
		change func(*Builder) *Builder
	}{
		{"sub", func(b *Builder) *Builder { return b.Subject(testAnonID + "x") }},
		{"TTL (lifetime)", func(b *Builder) *Builder { return b.TTL(11 * time.Minute) }},
		{"skew (lifetime)", func(b *Builder) *Builder { return b.Skew(6 * time.Second) }},
		{"iss", func(b *Builder) *Builder { return b.Issuer("https://example.org") }},
		{"aud value", func(b *Builder) *Builder { return b.Audience("a", "c") }},
		{"aud count", func(b *Builder) *Builder { return b.Audience("a") }},
		{"aud split", func(b *Builder) *Builder { return b.Audience("ab") }},
		{"jti", func(b *Builder) *Builder { return b.JWTID("j2") }},
		{"user_payload", func(b *Builder) *Builder {
			return b.UserPayload(map[string]string{"name": "Ada", "custom_user_id": "u2"})
		}},
		{"user_payload ciphertext", ciphertext},
		{"another ciphertext", func(b *Builder) *Builder { return ciphertext(b).UserPayloadCiphertext("AAAB") }},
		{"context", func(b *Builder) *Builder { return b.Context(map[string]any{"page": "pricing"}) }},
		{"empty context", func(b *Builder) *Builder { return b.Context(map[string]any{}) }},
		{"further claim value", func(b *Builder) *Builder { return b.Claim("tier", "silver") }},
		{"further claim added", func(b *Builder) *Builder { return b.Claim("more", true) }},
		{"further claim's type", func(b *Builder) *Builder { return b.Claim("n", "1") }},
	}
	seen := map[string]string{string(base): "the full builder"}
	for _, tt := range tests {
		k := mustKey(t, tt.change(fullBuilder()))
		if other, ok := seen[string(k)]; ok {
			t.Errorf("%s: key equals that of %s", tt.name, other)
		}
		seen[string(k)] = tt.name
	}

	// Each optional claim present versus absent.
	bare := func() *Builder { return NewBuilder().Subject(testAnonID).IssuedAt(testNow) }
	absent := mustKey(t, bare())
	for name, b := range map[string]*Builder{
		"iss":          bare().Issuer("i"),
		"aud":          bare().Audience("i"),
		"jti":          bare().JWTID("i"),
		"user_payload": bare().UserPayload(map[string]string{}),
		"ciphertext":   bare().UserPayloadCiphertext("AAAA"),
		"context":      bare().Context(map[string]any{}),
		"claim":        bare().Claim("i", nil),
	} {
		if bytes.Equal(mustKey(t, b), absent) {
			t.Errorf("%s set: same key as without it", name)
		}
	}
}

// TestKeyedTypesAreKnown fails when a field is added to Builder or Set, so
// that whoever adds a claim also adds it to AppendKey and to the tests
// above.
func TestKeyedTypesAreKnown(t *testing.T) {
	for v, want := range map[reflect.Type][]string{
		reflect.TypeFor[Builder](): {"sub", "ttl", "maxTTL", "skew", "now", "iss", "aud", "jti", "mode", "payload", "encrypted",
			"encryptPub", "scheme", "context", "extra", "set"},
		reflect.TypeFor[Set](): {"sub", "iat", "exp", "iss", "hasIss", "aud", "jti", "hasJTI", "payload", "context", "extra"},
	} {
		typ := v
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s has fields %v, want %v: is the new one a claim? Then AppendKey must encode it, and the key tests set it",
				typ.Name(), got, want)
		}
	}
}

// TestAppendKeyMatchesTokens checks, over random claim sets, that two keys
// are equal exactly when the tokens are equal but for iat and exp (as
// jwx writes them) and have the same lifetime.
func TestAppendKeyMatchesTokens(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	random := func() *Builder {
		b := NewBuilder().Subject(pick(testAnonID, "anon-x", "user-1")).IssuedAt(testNow.Add(time.Duration(r.IntN(3)) * time.Second)).
			TTL(time.Duration(1+r.IntN(2)) * time.Minute).Skew(time.Duration(r.IntN(2)) * time.Minute)
		if r.IntN(2) == 0 {
			b.Issuer(pick("i1", "i2"))
		}
		if r.IntN(2) == 0 {
			b.Audience(pick("a", "b"))
		}
		if r.IntN(3) == 0 {
			b.JWTID(pick("j1", "j2"))
		}
		switch r.IntN(3) {
		case 0:
			b.UserPayload(map[string]string{"name": pick("Ada", "Cade")})
		case 1:
			b.UserPayloadCiphertext(pick("AAAA", "AAAB"))
		}
		if r.IntN(2) == 0 {
			b.Context(map[string]any{"page": pick("home", "pricing")})
		}
		// Further claims in one order, so equal tokens mean equal keys.
		for _, name := range []string{"tier", "z"} {
			if r.IntN(2) == 0 {
				b.Claim(name, pick("gold", "1"))
			}
		}
		return b
	}
	type made struct{ key, rest, desc string }
	var all []made
	for range 300 {
		b := random()
		s, err := b.Check()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Token()
		if err != nil {
			t.Fatal(err)
		}
		life := tok.Expiration().Sub(tok.IssuedAt())
		if err := tok.Remove(jwt.IssuedAtKey); err != nil {
			t.Fatal(err)
		}
		if err := tok.Remove(jwt.ExpirationKey); err != nil {
			t.Fatal(err)
		}
		text, err := json.Marshal(tok)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, made{string(s.AppendKey(nil)), fmt.Sprint(life, string(text)), string(text)})
	}
	for i := range all {
		for j := range i {
			a, b := all[i], all[j]
			if (a.key == b.key) != (a.rest == b.rest) {
				t.Fatalf("keys equal: %v, tokens equal: %v\n%s\n%s", a.key == b.key, a.rest == b.rest, a.desc, b.desc)
			}
		}
	}
}

func TestBuildIsCheckThenToken(t *testing.T) {
	built, err := fullBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	s, err := fullBuilder().Check()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(built)
	b, _ := json.Marshal(tok)
	if !bytes.Equal(a, b) {
		t.Errorf("Build: %s\nCheck + Token: %s", a, b)
	}
	if s.Subject() != testAnonID || !s.IssuedAt().Equal(testNow.Add(-5*time.Second)) || !s.Expiration().Equal(testNow.Add(10*time.Minute)) {
		t.Errorf("Set: got sub %q, iat %v, exp %v", s.Subject(), s.IssuedAt(), s.Expiration())
	}
	if jti, ok := s.JWTID(); !ok || jti != "j1" {
		t.Errorf("JWTID: got %q, %v", jti, ok)
	}
	if string(s.Context()) != `{"page":"home"}` {
		t.Errorf("Context: got %s", s.Context())
	}
}
