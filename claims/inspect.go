package claims

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Inspection is what [Inspect] read from a token.
type Inspection struct {
	// Header is the token's JOSE header (alg, kid, typ).
	Header map[string]any

	// Claims holds every claim as JSON decoding gives it (numbers are
	// float64), user_payload as it is in the token: a string when it was
	// encrypted.
	Claims map[string]any

	// UserPayload is the JSON text of user_payload: decrypted when it was
	// encrypted and [WithPayloadKey] was given, as sent when it was in
	// clear. It is nil when the token has none, or when it is encrypted and
	// no key was given.
	UserPayload json.RawMessage

	// Encrypted reports that user_payload was an encrypted string.
	Encrypted bool

	// Verified reports that the signature was checked ([WithVerifyKey]) and
	// holds. When false, anyone could have made the token.
	Verified bool
}

// InspectOption configures [Inspect].
type InspectOption interface {
	applyInspect(*inspectConfig)
}

type inspectConfig struct {
	verify     bool // WithVerifyKey or WithSignatureKey was given, even with a nil key
	sigOnly    bool // WithSignatureKey: the signature, not the times
	verifyKey  any
	verifyOpts []VerifyOption
	decrypt    bool // WithPayloadKey was given, even with a nil key
	payloadKey crypto.PrivateKey
	scheme     Scheme
}

type inspectOptionFunc func(*inspectConfig)

func (f inspectOptionFunc) applyInspect(c *inspectConfig) { f(c) }

// WithVerifyKey makes [Inspect] verify the token as [Verify] does, with key
// (a public key, [jwk.Key] or [jwk.Set], as Verify takes) and opts, and
// fail when it does not verify. A nil key is an error, never a silent
// "not verified".
//
// [jwk.Key]: https://pkg.go.dev/github.com/lestrrat-go/jwx/v2/jwk#Key
// [jwk.Set]: https://pkg.go.dev/github.com/lestrrat-go/jwx/v2/jwk#Set
func WithVerifyKey(key any, opts ...VerifyOption) InspectOption {
	opts = append([]VerifyOption(nil), opts...)
	return inspectOptionFunc(func(c *inspectConfig) {
		c.verify, c.sigOnly, c.verifyKey, c.verifyOpts = true, false, key, opts
	})
}

// WithSignatureKey makes [Inspect] check the token's alg and signature as
// [Verify] does (the allowed algorithms, the alg fitting the key, the kid
// picking the key from a [jwk.Set]), but none of its claims: exp, nbf and
// iat are left for the caller to judge one by one. It is meant for tools
// that report on each claim separately, such as webchatid doctor; Verified
// then means only that the signature holds. Of opts, only [WithAlgorithms]
// matters. A nil key is an error. The last of WithVerifyKey and
// WithSignatureKey given wins.
func WithSignatureKey(key any, opts ...VerifyOption) InspectOption {
	opts = append([]VerifyOption(nil), opts...)
	return inspectOptionFunc(func(c *inspectConfig) {
		c.verify, c.sigOnly, c.verifyKey, c.verifyOpts = true, true, key, opts
	})
}

// WithPayloadKey gives [Inspect] the private key to decrypt an encrypted
// user_payload with, as [Scheme.Decrypt] takes it: an *rsa.PrivateKey or a
// crypto.Decrypter, such as what keys.LoadPrivateFile returns. The
// payload is taken to be [NodeRSA], IBM's format, unless
// [WithPayloadScheme] says otherwise.
func WithPayloadKey(key crypto.PrivateKey) InspectOption {
	return inspectOptionFunc(func(c *inspectConfig) { c.decrypt, c.payloadKey = true, key })
}

// WithPayloadScheme sets the scheme [WithPayloadKey]'s key decrypts with.
// If not given, [NodeRSA] is used.
func WithPayloadScheme(s Scheme) InspectOption {
	return inspectOptionFunc(func(c *inspectConfig) { c.scheme = s })
}

// Inspect reads a compact JWT for a person to look at: its header, its
// claims, and its user_payload in clear, decrypted when [WithPayloadKey] is
// given. It is meant for development and operators' tools (reading what a
// token carries, checking what IBM will see).
//
// Without [WithVerifyKey], Inspect does not check the signature, the expiry
// or anything else, and Verified is false: anyone could have made the token,
// so never let what it says decide anything. With WithVerifyKey, a token
// that does not verify is an error wrapping [ErrInvalidToken], as from
// [Verify].
//
// An encrypted user_payload that the given key cannot open is an error
// wrapping [ErrDecrypt]; without a key it is left encrypted (UserPayload
// nil, Encrypted true). A token that is not a compact JWS with a JSON object
// as header and payload is an error wrapping ErrInvalidToken.
func Inspect(token string, opts ...InspectOption) (*Inspection, error) {
	var cfg inspectConfig
	for _, o := range opts {
		if o != nil {
			o.applyInspect(&cfg)
		}
	}
	in := &Inspection{}
	if cfg.verify { // a nil key fails in Verify: never a silent "unverified"
		check := func() error { _, err := Verify(token, cfg.verifyKey, cfg.verifyOpts...); return err }
		if cfg.sigOnly {
			check = func() error { return verifySignature(token, cfg.verifyKey, cfg.verifyOpts...) }
		}
		if err := check(); err != nil {
			return nil, err
		}
		in.Verified = true
	}
	if err := checkCompact(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	parts := strings.SplitN(token, ".", 3)
	var err error
	if in.Header, _, err = decodeSegment(parts[0], "header"); err != nil {
		return nil, err
	}
	var payload []byte
	if in.Claims, payload, err = decodeSegment(parts[1], "payload"); err != nil {
		return nil, err
	}

	switch p := in.Claims[UserPayloadClaim].(type) {
	case nil:
	case string:
		in.Encrypted = true
		if cfg.decrypt {
			text, err := cfg.scheme.Decrypt(cfg.payloadKey, p)
			if err != nil {
				return nil, err
			}
			in.UserPayload = text
		}
	default:
		// The clear text as sent, not as re-encoded from the map.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(payload, &raw); err != nil {
			return nil, fmt.Errorf("%w: the payload is not a JSON object", ErrInvalidToken)
		}
		in.UserPayload = raw[UserPayloadClaim]
	}
	return in, nil
}

// decodeSegment decodes one base64url segment holding a JSON object and
// returns the object and its JSON text.
func decodeSegment(seg, what string) (map[string]any, []byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the %s is not base64url", ErrInvalidToken, what)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, nil, fmt.Errorf("%w: the %s is not a JSON object", ErrInvalidToken, what)
	}
	return m, raw, nil
}
