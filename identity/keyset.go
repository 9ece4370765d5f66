package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/internal/headersafe"
)

// keyState is everything derived from the signing keys, built once by New
// or RotateKeys and swapped atomically: the request path only loads it.
type keyState struct {
	active *claims.Signer
	set    jwk.Set            // public keys, active first
	pubs   []crypto.PublicKey // the same, as standard-library keys
	jwks   []byte             // set as JSON, served as is
	epoch  uint64             // set by the Server: which key state this is
	// reuseID is the kid, epoch and target as text, the first parts of
	// every reuse key made with this state; set with epoch.
	reuseID [3][]byte
}

// newKeyState validates keys (field names the list in errors, e.g.
// "Config.SigningKeys"), builds their signers and JWK set, runs a
// sign-then-verify self-test of each key and logs each key's kid and
// fingerprint.
func newKeyState(signingKeys []SigningKey, field string, target Target, now func() time.Time, log *slog.Logger) (*keyState, error) {
	if len(signingKeys) == 0 {
		return nil, fmt.Errorf("identity: %s: at least one signing key is required", field)
	}
	st := &keyState{set: jwk.NewSet()}
	signers := make([]*claims.Signer, len(signingKeys))
	for i, k := range signingKeys {
		name := fmt.Sprintf("%s[%d]", field, i)
		if nilSigner(k.Key) {
			return nil, fmt.Errorf("identity: %s: Key is nil", name)
		}
		pub, ok := k.Key.Public().(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("identity: %s: is a %T key, need RSA (IBM's web chat verifies RS256 only)", name, k.Key.Public())
		}
		if bits := pub.N.BitLen(); bits < minRSABits {
			return nil, wrapError{fmt.Sprintf("identity: %s: RSA key is %d bits, need at least %d", name, bits, minRSABits), claims.ErrWeakKey}
		}
		kid := k.KeyID
		if kid == "" {
			var err error
			if kid, err = claims.KeyID(pub); err != nil {
				return nil, fmt.Errorf("identity: %s: %w", name, err)
			}
		} else if err := headersafe.Check(kid); err != nil {
			return nil, fmt.Errorf("identity: %s: KeyID: %w", name, err)
		}
		if _, dup := st.set.LookupKeyID(kid); dup {
			return nil, fmt.Errorf("identity: %s: key ID %q is already used by another key", name, kid)
		}
		s, err := claims.NewSigner(k.Key, claims.WithKeyID(kid))
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", name, err)
		}
		if err := st.set.AddKey(s.PublicJWK()); err != nil {
			return nil, fmt.Errorf("identity: %s: building its JWK: %w", name, err)
		}
		signers[i] = s
		st.pubs = append(st.pubs, s.Public())
	}
	st.active = signers[0]
	jwks, err := json.Marshal(st.set)
	if err != nil {
		return nil, fmt.Errorf("identity: %s: encoding the JWK set: %w", field, err)
	}
	st.jwks = jwks

	for i, s := range signers {
		name := fmt.Sprintf("%s[%d]", field, i)
		if err := selfTest(s, st.set, now); err != nil {
			return nil, fmt.Errorf("identity: %s: sign-then-verify self-test failed: %w", name, err)
		}
		pub := s.Public().(*rsa.PublicKey)
		fp, err := keys.Fingerprint(pub)
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", name, err)
		}
		role := "active"
		if i > 0 {
			role = "verify-only"
		}
		log.LogAttrs(context.Background(), slog.LevelInfo, "identity: signing key",
			slog.String("role", role), slog.String("kid", s.KeyID()),
			slog.String("alg", s.Algorithm().String()), slog.Int("bits", pub.N.BitLen()),
			slog.String("sha256", fp))
		if target == Orchestrate && pub.N.BitLen() < orchestrateKeyBits {
			log.LogAttrs(context.Background(), slog.LevelWarn, "identity: IBM recommends 4096-bit keys for watsonx Orchestrate",
				slog.String("kid", s.KeyID()), slog.Int("bits", pub.N.BitLen()))
		}
	}
	return st, nil
}

// nilSigner reports a nil key, including a nil or empty private key held in
// the interface, such as (*rsa.PrivateKey)(nil), whose Public method would
// panic.
func nilSigner(k crypto.Signer) bool {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k == nil
	case *ecdsa.PrivateKey:
		return k == nil
	case ed25519.PrivateKey:
		return len(k) == 0
	}
	return k == nil
}

// selfTest signs a throwaway token with s and verifies it against the JWK
// set, by kid, as a client of the JWKS endpoint would: a key whose signer
// (a KMS, say) does not match its public half fails here, not at IBM.
func selfTest(s *claims.Signer, set jwk.Set, now func() time.Time) error {
	tok, err := claims.NewBuilder().Subject("webchatid-self-test").IssuedAt(now()).TTL(time.Minute).Build()
	if err != nil {
		return err
	}
	signed, err := s.Sign(tok)
	if err != nil {
		return err
	}
	_, err = claims.Verify(signed, set, claims.WithClock(now))
	return err
}

// wrapError is an error with its own message that still matches err with
// errors.Is, for messages that say more than the wrapped sentinel.
type wrapError struct {
	msg string
	err error
}

func (e wrapError) Error() string { return e.msg }
func (e wrapError) Unwrap() error { return e.err }
