package claims

import (
	"errors"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// TestNewSignerRefusesNonIBMAlgorithmsUnlessAllowed: IBM's web chat verifies
// RS256 only, so NewSigner refuses PS256, ES256 and EdDSA unless the caller
// says with AllowNonIBMAlgorithms that the tokens are for another verifier.
func TestNewSignerRefusesNonIBMAlgorithmsUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		key string
		alg jwa.SignatureAlgorithm
	}{
		{"rsa2048", jwa.PS256},
		{"ec256", jwa.ES256},
		{"ed25519", jwa.EdDSA},
	} {
		t.Run(tc.alg.String(), func(t *testing.T) {
			_, err := NewSigner(testKey(t, tc.key), WithAlgorithm(tc.alg))
			if !errors.Is(err, ErrNotIBMAlgorithm) {
				t.Fatalf("NewSigner(WithAlgorithm(%s)): got %v, want ErrNotIBMAlgorithm", tc.alg, err)
			}
			s, err := NewSigner(testKey(t, tc.key), WithAlgorithm(tc.alg), AllowNonIBMAlgorithms())
			if err != nil {
				t.Fatalf("NewSigner with AllowNonIBMAlgorithms: %v", err)
			}
			if s.Algorithm() != tc.alg {
				t.Errorf("Algorithm: got %s, want %s", s.Algorithm(), tc.alg)
			}
		})
	}
	if _, err := NewSigner(testKey(t, "rsa2048"), WithAlgorithm(jwa.RS256)); err != nil {
		t.Errorf("RS256 needs no opt-in: %v", err)
	}
}
