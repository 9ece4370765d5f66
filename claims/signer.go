package claims

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/internal/headersafe"
)

// ErrWeakKey reports an RSA key shorter than 2048 bits.
var ErrWeakKey = errors.New("claims: RSA key shorter than 2048 bits")

// ErrNotIBMAlgorithm reports a signature algorithm IBM's web chat does not
// verify (it accepts RS256 only), chosen without [AllowNonIBMAlgorithms].
var ErrNotIBMAlgorithm = errors.New("claims: IBM's web chat accepts only RS256")

// Signer signs tokens with one private key and one algorithm. It is
// immutable and safe for concurrent use; make one at start-up with
// [NewSigner] and share it.
type Signer struct {
	key    crypto.Signer
	pub    crypto.PublicKey
	alg    jwa.SignatureAlgorithm
	kid    string  // kid header; empty when WithKeyID was not given
	keyID  string  // kid of the public JWK: kid, or the RFC 7638 thumbprint
	public jwk.Key // public key with kid, alg and use=sig; handed out as clones
}

// SignerOption configures [NewSigner].
type SignerOption interface {
	applySigner(*signerConfig)
}

type signerConfig struct {
	alg      jwa.SignatureAlgorithm
	kid      string
	hasKID   bool
	allowAny bool
}

type signerOptionFunc func(*signerConfig)

func (f signerOptionFunc) applySigner(c *signerConfig) { f(c) }

// WithAlgorithm selects the signature algorithm: [jwa.RS256] (the default,
// and the only one IBM's web chat and watsonx Orchestrate accept), or, for
// tokens meant for another verifier and only together with
// [AllowNonIBMAlgorithms], [jwa.PS256] (RSA keys), [jwa.ES256] (ECDSA keys
// on P-256) or [jwa.EdDSA] (Ed25519 keys). Without that option NewSigner
// refuses those three with an error wrapping [ErrNotIBMAlgorithm], since IBM
// would refuse every token. Any other algorithm, or one that does not fit
// the key, makes NewSigner fail.
func WithAlgorithm(alg jwa.SignatureAlgorithm) SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.alg = alg })
}

// AllowNonIBMAlgorithms lets [WithAlgorithm] choose PS256, ES256 or EdDSA,
// which IBM's web chat does not accept: use it only for tokens verified by
// something other than IBM (your own services, tests).
func AllowNonIBMAlgorithms() SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.allowAny = true })
}

// WithKeyID sets the kid header of every token and the kid of
// [Signer.PublicJWK]. Without it tokens carry no kid header. kid must not
// be empty.
func WithKeyID(kid string) SignerOption {
	return signerOptionFunc(func(c *signerConfig) { c.kid, c.hasKID = kid, true })
}

// NewSigner returns a Signer for key, which may be a *rsa.PrivateKey,
// *ecdsa.PrivateKey, ed25519.PrivateKey or any other [crypto.Signer] whose
// Public method returns one of the matching public keys (a key in a KMS or
// HSM, for example). The algorithm is RS256 unless [WithAlgorithm] says
// otherwise, and must fit the key; RSA keys need at least 2048 bits, else
// the error wraps [ErrWeakKey]. Algorithms IBM does not accept need
// [AllowNonIBMAlgorithms] too, else the error wraps [ErrNotIBMAlgorithm].
//
// NewSigner does all the work that does not change per token (the public
// JWK and its thumbprint), so signing only builds the JSON and signs it.
func NewSigner(key crypto.Signer, opts ...SignerOption) (*Signer, error) {
	if key == nil || nilKey(key) {
		return nil, errors.New("claims: NewSigner: nil key")
	}
	cfg := signerConfig{alg: jwa.RS256}
	for _, o := range opts {
		if o != nil {
			o.applySigner(&cfg)
		}
	}
	if cfg.hasKID && cfg.kid == "" {
		return nil, errors.New("claims: NewSigner: WithKeyID: empty key ID")
	}
	pub := key.Public()
	if err := checkSigningKey(cfg.alg, pub); err != nil {
		return nil, withPrefix("claims: NewSigner", err)
	}
	if cfg.alg != jwa.RS256 && !cfg.allowAny {
		return nil, fmt.Errorf("claims: NewSigner: %w, and would refuse every %s token; add AllowNonIBMAlgorithms() if these tokens are for another verifier", ErrNotIBMAlgorithm, cfg.alg)
	}
	thumb, err := KeyID(pub)
	if err != nil {
		return nil, withPrefix("claims: NewSigner", err)
	}

	s := &Signer{key: key, pub: pub, alg: cfg.alg, kid: cfg.kid, keyID: thumb}
	if cfg.hasKID {
		s.keyID = cfg.kid
	}
	if s.public, err = jwk.FromRaw(pub); err != nil {
		return nil, fmt.Errorf("claims: NewSigner: public JWK: %w", err)
	}
	for _, f := range []struct {
		name  string
		value any
	}{
		{jwk.KeyIDKey, s.keyID},
		{jwk.AlgorithmKey, s.alg},
		{jwk.KeyUsageKey, jwk.ForSignature},
	} {
		if err := s.public.Set(f.name, f.value); err != nil {
			return nil, fmt.Errorf("claims: NewSigner: public JWK: %w", err)
		}
	}
	return s, nil
}

// checkSigningKey says whether pub fits alg; RSA keys must not be weak.
func checkSigningKey(alg jwa.SignatureAlgorithm, pub crypto.PublicKey) error {
	switch alg {
	case jwa.RS256, jwa.PS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k == nil || k.N == nil {
			return fmt.Errorf("algorithm %s needs an RSA key, got %T", alg, pub)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("%w: the key has %d bits", ErrWeakKey, bits)
		}
	case jwa.ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil || k.Curve != elliptic.P256() {
			return fmt.Errorf("algorithm %s needs an ECDSA P-256 key, got %s", alg, describeKey(pub))
		}
	case jwa.EdDSA:
		if k, ok := pub.(ed25519.PublicKey); !ok || len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("algorithm %s needs an Ed25519 key, got %T", alg, pub)
		}
	default:
		return fmt.Errorf("algorithm %q is not supported (use RS256, PS256, ES256 or EdDSA)", alg.String())
	}
	return nil
}

// describeKey names a key's type, and the curve of an ECDSA key.
func describeKey(pub crypto.PublicKey) string {
	if k, ok := pub.(*ecdsa.PublicKey); ok && k.Curve != nil {
		return "ECDSA " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", pub)
}

// Sign signs t and returns the compact JWT. The protected header holds alg,
// typ "JWT" and, with [WithKeyID], kid. t must carry a header-safe sub and
// an exp (tokens from [Builder.Build] always do); otherwise the error wraps
// [ErrInvalidClaim], because IBM refuses such tokens anyway and a token
// without exp would never expire.
func (s *Signer) Sign(t jwt.Token) (string, error) {
	if t == nil {
		return "", errors.New("claims: Sign: nil token")
	}
	if err := headersafe.Check(t.Subject()); err != nil {
		return "", &claimError{claim: jwt.SubjectKey, err: err}
	}
	if t.Expiration().IsZero() || t.Expiration().Unix() <= 0 {
		return "", invalid(jwt.ExpirationKey, "required")
	}

	// A fresh header per call: jws.Sign writes alg (and jwt.Sign typ) into
	// the headers it is given, so a shared template would be shared state.
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("claims: Sign: %w", err)
	}
	if s.kid != "" {
		if err := hdr.Set(jws.KeyIDKey, s.kid); err != nil {
			return "", fmt.Errorf("claims: Sign: %w", err)
		}
	}
	out, err := jwt.Sign(t, jwt.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("claims: Sign: %w", err)
	}
	return string(out), nil
}

// KeyID returns the key ID of [Signer.PublicJWK]: the value given to
// [WithKeyID], or else the key's RFC 7638 thumbprint (see [KeyID]). Tokens
// carry it as their kid header only when WithKeyID was given.
func (s *Signer) KeyID() string { return s.keyID }

// Algorithm returns the signature algorithm.
func (s *Signer) Algorithm() jwa.SignatureAlgorithm { return s.alg }

// Public returns the public key that verifies the Signer's tokens.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// PublicJWK returns the public key as a JWK with kid ([Signer.KeyID]), alg
// and use "sig" set, ready for a JWKS document. Each call returns a new
// copy, so changing it does not affect the Signer.
func (s *Signer) PublicJWK() jwk.Key {
	k, err := s.public.Clone()
	if err != nil {
		// Clone of a key built by jwk.FromRaw only fails on a jwx bug.
		panic("claims: clone public JWK: " + err.Error())
	}
	return k
}
