package claims

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// DefaultLeeway is the clock difference [Verify] tolerates on exp, nbf and
// iat unless [WithLeeway] says otherwise.
const DefaultLeeway = 5 * time.Second

// Errors of [Verify]. ErrInvalidToken is wrapped by every error for a token
// that does not verify: malformed, signed with an algorithm that is not
// allowed, under a different key, without exp, expired or not yet valid.
// An expired token's error also wraps ErrExpired, and one whose nbf or iat
// lies in the future wraps ErrNotYetValid, so that
//
//	errors.Is(err, claims.ErrExpired)
//
// tells a token to refresh apart from a forged one.
var (
	ErrInvalidToken = errors.New("claims: invalid token")
	ErrExpired      = errors.New("claims: token expired")
	ErrNotYetValid  = errors.New("claims: token not valid yet")
)

// VerifyOption configures [Verify].
type VerifyOption interface {
	applyVerify(*verifyConfig)
}

type verifyConfig struct {
	algs   []jwa.SignatureAlgorithm
	leeway time.Duration
	now    func() time.Time
}

type verifyOptionFunc func(*verifyConfig)

func (f verifyOptionFunc) applyVerify(c *verifyConfig) { f(c) }

// WithAlgorithms replaces the algorithms Verify accepts, by default RS256
// only (what IBM's web chat accepts). Only asymmetric algorithms are
// allowed: RS256/384/512, PS256/384/512, ES256/384/512 and EdDSA. Verify
// fails for none, the HS family, or an empty list.
func WithAlgorithms(algs ...jwa.SignatureAlgorithm) VerifyOption {
	algs = append([]jwa.SignatureAlgorithm(nil), algs...)
	return verifyOptionFunc(func(c *verifyConfig) { c.algs = algs })
}

// WithLeeway sets the clock difference tolerated on exp, nbf and iat. It
// must not be negative. If not given, [DefaultLeeway] is used.
func WithLeeway(d time.Duration) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.leeway = d })
}

// WithClock sets the clock Verify checks times against. If not given or
// nil, time.Now is used.
func WithClock(now func() time.Time) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.now = now })
}

// Verify checks a compact JWT and returns its claims. key is the public key
// that must have signed it: a *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey (a private key or [crypto.Signer] stands for its public
// half), a [jwk.Key], or a [jwk.Set], from which the key is picked by the
// token's kid header (a token without kid is accepted only when the set
// holds exactly one key). Secrets ([]byte, string, "oct" JWKs) are refused.
//
// The token's alg header must be one of the allowed algorithms (RS256 unless
// [WithAlgorithms] says otherwise) and must fit the type of the key, and of
// the JWK's own alg when it has one; so alg "none", and an HS256 token made
// with the public key as the HMAC secret, never verify. exp is required and
// must not have passed, beyond the leeway ([DefaultLeeway]); nbf and iat,
// when present, must not lie in the future beyond it; all three must be JSON
// numbers, as jsonwebtoken requires. RSA keys shorter than 2048 bits are
// refused with [ErrWeakKey], as the signer does.
//
// In the returned token, private claims hold what JSON decoding gives:
// user_payload is a string when it was encrypted (open it with
// [DecryptUserPayload]) and a map[string]any when it was sent in clear, and
// context is a map[string]any.
//
// An unusable key or option gives a plain error; a token that does not
// verify gives an error wrapping [ErrInvalidToken].
func Verify(token string, key any, opts ...VerifyOption) (jwt.Token, error) {
	cfg := verifyConfig{algs: []jwa.SignatureAlgorithm{jwa.RS256}, leeway: DefaultLeeway}
	for _, o := range opts {
		if o != nil {
			o.applyVerify(&cfg)
		}
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.leeway < 0 {
		return nil, fmt.Errorf("claims: Verify: negative leeway %v", cfg.leeway)
	}
	if err := checkAlgs(cfg.algs); err != nil {
		return nil, err
	}
	kp, err := newKeyProvider(key, cfg.algs)
	if err != nil {
		return nil, withPrefix("claims: Verify", err)
	}
	if err := checkCompact(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}

	t, err := jwt.ParseString(token,
		jwt.WithKeyProvider(kp),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(cfg.now)),
		jwt.WithAcceptableSkew(cfg.leeway),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		// jwx skips its exp check when exp is 0 (the epoch); that would be
		// a token that never expires.
		jwt.WithValidator(jwt.ValidatorFunc(func(_ context.Context, t jwt.Token) jwt.ValidationError {
			if t.Expiration().Unix() <= 0 {
				return jwt.ErrTokenExpired()
			}
			return nil
		})),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired()):
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, reasonError{ErrExpired, err})
	case errors.Is(err, jwt.ErrTokenNotYetValid()), errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, reasonError{ErrNotYetValid, err})
	default:
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if err := checkNumericDates(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return t, nil
}

// verifySignature checks what [Verify] checks before the claims: the
// options, the key, the compact form, the alg and the signature.
func verifySignature(token string, key any, opts ...VerifyOption) error {
	cfg := verifyConfig{algs: []jwa.SignatureAlgorithm{jwa.RS256}}
	for _, o := range opts {
		if o != nil {
			o.applyVerify(&cfg)
		}
	}
	if err := checkAlgs(cfg.algs); err != nil {
		return err
	}
	kp, err := newKeyProvider(key, cfg.algs)
	if err != nil {
		return withPrefix("claims: Verify", err)
	}
	if err := checkCompact(token); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if _, err := jws.Verify([]byte(token), jws.WithKeyProvider(kp), jws.WithCompact()); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return nil
}

// reasonError reads as err but also unwraps to reason, one of Verify's
// sentinels.
type reasonError struct{ reason, err error }

func (e reasonError) Error() string   { return e.err.Error() }
func (e reasonError) Unwrap() []error { return []error{e.reason, e.err} }

// checkNumericDates refuses exp, nbf and iat that are not JSON numbers
// (RFC 7519 NumericDate). jwx also reads strings ("4102444800", RFC 3339
// times); jsonwebtoken, IBM's verifier, refuses them.
func checkNumericDates(token string) error {
	_, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errors.New("the payload is not base64url")
	}
	var claims map[string]json.RawMessage // exact names; the last duplicate wins, as in jwx
	if err := json.Unmarshal(raw, &claims); err != nil {
		return errors.New("the payload is not a JSON object")
	}
	for _, name := range [...]string{jwt.ExpirationKey, jwt.NotBeforeKey, jwt.IssuedAtKey} {
		if v, ok := claims[name]; ok && (len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9'))) {
			return fmt.Errorf("%q is not a JSON number", name)
		}
	}
	return nil
}

// checkAlgs refuses an empty or unsafe WithAlgorithms list.
func checkAlgs(algs []jwa.SignatureAlgorithm) error {
	if len(algs) == 0 {
		return errors.New("claims: Verify: WithAlgorithms: no algorithm")
	}
	for _, alg := range algs {
		if !verifiable(alg) {
			return fmt.Errorf("claims: Verify: WithAlgorithms: %q is not an asymmetric signature algorithm", alg.String())
		}
	}
	return nil
}

// verifiable reports whether Verify may be told to accept alg.
func verifiable(alg jwa.SignatureAlgorithm) bool {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA:
		return true
	}
	return false
}

// checkCompact accepts only the JWS compact form: three non-empty base64url
// segments. jwx would also take the JSON serialization, which IBM's
// verifier does not.
func checkCompact(token string) error {
	if strings.Count(token, ".") != 2 {
		return errors.New("not a compact JWS (want three dot-separated parts)")
	}
	for i, part := range strings.SplitN(token, ".", 3) {
		if part == "" {
			return fmt.Errorf("part %d of the compact JWS is empty", i+1)
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("part %d of the compact JWS is not base64url", i+1)
			}
		}
	}
	return nil
}

// verifyKey is one candidate key: its raw public half, and what its JWK (if
// any) says about it.
type verifyKey struct {
	pub crypto.PublicKey
	kid string                 // JWK kid, "" when none or a raw key
	alg jwa.SignatureAlgorithm // JWK alg, "" when none or a raw key
}

// keyProvider hands jwx the one key the token may be checked with, bound to
// the token's alg only after that alg has been checked against the allowed
// list and the key. jwx then runs exactly that verifier.
type keyProvider struct {
	algs   []jwa.SignatureAlgorithm
	single *verifyKey
	set    jwk.Set
}

func newKeyProvider(key any, algs []jwa.SignatureAlgorithm) (*keyProvider, error) {
	kp := &keyProvider{algs: algs}
	if set, ok := key.(jwk.Set); ok {
		if set == nil || set.Len() == 0 {
			return nil, errors.New("empty key set")
		}
		kp.set = set
		return kp, nil
	}
	vk, err := toVerifyKey(key)
	if err != nil {
		return nil, err
	}
	kp.single = vk
	return kp, nil
}

// toVerifyKey turns a raw key or a JWK into a verifyKey, refusing secrets,
// keys not meant for signatures, and weak RSA keys.
func toVerifyKey(key any) (*verifyKey, error) {
	vk := &verifyKey{}
	if k, ok := key.(jwk.Key); ok && k != nil {
		if u := k.KeyUsage(); u != "" && u != jwk.ForSignature.String() {
			return nil, fmt.Errorf("key use is %q, not \"sig\"", u)
		}
		vk.kid = k.KeyID()
		if a := k.Algorithm().String(); a != "" {
			vk.alg = jwa.SignatureAlgorithm(a)
		}
	}
	pub, err := publicKeyOf(key)
	if err != nil {
		return nil, err
	}
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("%w: the key has %d bits", ErrWeakKey, k.N.BitLen())
	}
	vk.pub = pub
	return vk, nil
}

func (p *keyProvider) FetchKeys(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg := h.Algorithm()
	allowed := false
	for _, a := range p.algs {
		allowed = allowed || a == alg
	}
	if !allowed {
		return fmt.Errorf("the token's alg is not one of the allowed %v", p.algs)
	}
	if len(h.Critical()) > 0 {
		return errors.New("the token has a crit header, which is not supported")
	}

	vk := p.single
	kid := h.KeyID()
	if p.set != nil {
		k, err := p.pick(kid)
		if err != nil {
			return err
		}
		if vk, err = toVerifyKey(k); err != nil {
			return withPrefix("key from set", err)
		}
	} else if kid != "" && vk.kid != "" && kid != vk.kid {
		return errors.New("the token's kid does not match the key's")
	}
	if vk.alg != "" && vk.alg != alg {
		return fmt.Errorf("the key is for %s, the token says %s", vk.alg, alg)
	}
	if !fits(alg, vk.pub) {
		return fmt.Errorf("a %s key cannot verify %s", describeKey(vk.pub), alg)
	}
	sink.Key(alg, vk.pub)
	return nil
}

// pick chooses the key of the set by kid; without a kid only a set of one
// key is unambiguous.
func (p *keyProvider) pick(kid string) (jwk.Key, error) {
	if kid == "" {
		if p.set.Len() != 1 {
			return nil, fmt.Errorf("the token has no kid and the key set holds %d keys", p.set.Len())
		}
		k, _ := p.set.Key(0)
		return k, nil
	}
	var found jwk.Key
	for i := range p.set.Len() {
		k, _ := p.set.Key(i)
		if k.KeyID() != kid {
			continue
		}
		if found != nil {
			return nil, errors.New("the key set holds several keys with the token's kid")
		}
		found = k
	}
	if found == nil {
		return nil, errors.New("no key in the set has the token's kid")
	}
	return found, nil
}

// fits reports whether pub is the kind of key alg verifies with, which is
// what makes algorithm confusion impossible.
func fits(alg jwa.SignatureAlgorithm, pub crypto.PublicKey) bool {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		_, ok := pub.(*rsa.PublicKey)
		return ok
	case jwa.ES256, jwa.ES384, jwa.ES512:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		switch alg {
		case jwa.ES256:
			return k.Curve == elliptic.P256()
		case jwa.ES384:
			return k.Curve == elliptic.P384()
		}
		return k.Curve == elliptic.P521()
	case jwa.EdDSA:
		_, ok := pub.(ed25519.PublicKey)
		return ok
	}
	return false
}
