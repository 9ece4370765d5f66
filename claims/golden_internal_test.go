package claims

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Regenerate with: go test ./claims -run TestGoldenClaims -update
var updateGolden = flag.Bool("update", false, "rewrite claims/testdata/golden/*.json from the current output")

// TestGoldenClaims compares the payload segment of signed tokens, byte for
// byte, with testdata/golden/<name>.json: any change in what goes into a
// token (names, order, number format, escaping) shows up here.
func TestGoldenClaims(t *testing.T) {
	signer := testSigner(t, "rsa2048")
	type user struct {
		Name         string `json:"name"`
		CustomUserID string `json:"custom_user_id"`
	}
	tests := []struct {
		name string
		b    *Builder
	}{
		{"anonymous", NewBuilder().Subject(testAnonID)},
		{"logged-in", NewBuilder().Subject(testAnonID).
			UserPayload(user{Name: "Ada Lovelace", CustomUserID: "user-1815"})},
		{"with-context", NewBuilder().Subject(testAnonID).
			UserPayload(map[string]any{"custom_user_id": "user-1815", "name": "Ada Lovelace"}).
			Context(map[string]any{"plan": "gold", "locale": "en-GB", "cart_items": 3})},
		{"with-extra-claims", NewBuilder().Subject(testAnonID).
			TTL(10*time.Minute).
			Skew(0).
			Issuer("https://shop.example").
			Audience("watsonx-assistant").
			JWTID("3f6c1d2e-0a4b-4c8d-9e7f-112233445566").
			UserPayload(user{Name: "Zoë O'Brien", CustomUserID: "user-42"}).
			Claim("tier", "gold").
			Claim("roles", []string{"customer", "beta"}).
			Claim("limits", map[string]int{"daily": 5})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token, err := tc.b.IssuedAt(testNow).Sign(signer)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			_, got := segments(t, token)
			path := filepath.Join("testdata", "golden", tc.name+".json")
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload differs from %s:\ngot  %s\nwant %s", path, got, want)
			}
		})
	}
}
