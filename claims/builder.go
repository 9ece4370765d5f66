package claims

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/internal/headersafe"
)

// Defaults of the [Builder].
const (
	// DefaultTTL is how long a token lives unless [Builder.TTL] says
	// otherwise: one hour, as IBM suggests.
	DefaultTTL = time.Hour
	// DefaultMaxTTL is the longest TTL the builder accepts unless
	// [Builder.MaxTTL] raises it.
	DefaultMaxTTL = 24 * time.Hour
	// DefaultSkew is how far iat is backdated, for verifiers whose clock
	// runs behind.
	DefaultSkew = 30 * time.Second
)

// Names of the private claims IBM's web chat reads.
const (
	// UserPayloadClaim holds private data about the user, in clear or
	// encrypted; IBM stores it as context.integrations.chat.private.user_payload.
	UserPayloadClaim = "user_payload"
	// ContextClaim holds context variables, sent in clear, that watsonx
	// Orchestrate's embed chat gives its agents (names starting wxo_ are
	// reserved there). IBM documents no use of it for watsonx Assistant web
	// chat, whose private channel for user data is UserPayloadClaim.
	ContextClaim = "context"
)

// ErrInvalidClaim is wrapped by every error [Builder.Build] returns. The
// error's text names the claim ("claims: sub: …"); for sub it also wraps the
// [headersafe] error that says which rule failed.
var ErrInvalidClaim = errors.New("claims: invalid claim")

// claimError is a Build error: the claim's name, what is wrong with it, and
// ErrInvalidClaim for errors.Is.
type claimError struct {
	claim string
	err   error
}

// Error reads "claims: <claim>: <problem>"; a problem that is itself one of
// this package's errors loses its own "claims: " prefix.
func (e *claimError) Error() string {
	return "claims: " + e.claim + ": " + strings.TrimPrefix(e.err.Error(), "claims: ")
}

func (e *claimError) Unwrap() []error { return []error{ErrInvalidClaim, e.err} }

// prefixedError puts context in front of an error from this package without
// repeating its "claims: " prefix: "claims: NewSigner: RSA key shorter …".
type prefixedError struct {
	prefix string // ends without ": "
	err    error
}

func (e *prefixedError) Error() string {
	return e.prefix + ": " + strings.TrimPrefix(e.err.Error(), "claims: ")
}
func (e *prefixedError) Unwrap() error { return e.err }

// withPrefix returns err under prefix, e.g. withPrefix("claims: Verify", err).
func withPrefix(prefix string, err error) error { return &prefixedError{prefix, err} }

func invalid(claim string, format string, args ...any) error {
	return &claimError{claim: claim, err: fmt.Errorf(format, args...)}
}

// reserved reports the names [Builder.Claim] refuses: the registered claims,
// which have their own setters or must not be set (nbf), and the two IBM
// claims with their own setters.
func reserved(name string) bool {
	switch name {
	case jwt.SubjectKey, jwt.ExpirationKey, jwt.IssuedAtKey, jwt.NotBeforeKey,
		jwt.IssuerKey, jwt.AudienceKey, jwt.JwtIDKey, UserPayloadClaim, ContextClaim:
		return true
	}
	return false
}

// payloadMode says where user_payload comes from.
type payloadMode uint8

const (
	payloadNone      payloadMode = iota
	payloadValue                 // UserPayload(v)
	payloadEncrypted             // UserPayloadCiphertext(s)
)

// Builder records the claims of one web chat token; [Builder.Build]
// validates them and returns the first error, naming the claim.
//
// Setters record their argument and return the builder for chaining; a later
// call replaces an earlier one. Values are read at Build time, so do not
// modify a map or value passed to a setter until Build (or Sign) returns.
// A Builder is meant for one token and is not safe for concurrent use;
// [NewBuilder] is cheap, so make one per request.
type Builder struct {
	sub    string
	ttl    time.Duration
	maxTTL time.Duration
	skew   time.Duration
	now    time.Time
	iss    string
	aud    []string
	jti    string

	mode       payloadMode
	payload    any
	encrypted  string
	encryptPub *rsa.PublicKey
	scheme     Scheme

	context map[string]any
	extra   []namedValue

	set setters
}

type namedValue struct {
	name  string
	value any
}

// setters records which optional setters were called, so that an explicit
// zero value is told apart from "not set".
type setters uint16

const (
	setSub setters = 1 << iota
	setTTL
	setMaxTTL
	setSkew
	setNow
	setIss
	setAud
	setJTI
	setEncrypt
	setContext
)

// NewBuilder returns an empty Builder with the defaults: TTL [DefaultTTL],
// maximum [DefaultMaxTTL], skew [DefaultSkew], issued at time.Now() at Build.
func NewBuilder() *Builder { return &Builder{} }

// Subject sets sub, the user ID. It is required and must pass the header
// safety rules: 1 to 256 bytes of visible ASCII without ; = , space " or \.
func (b *Builder) Subject(sub string) *Builder {
	b.sub = sub
	b.set |= setSub
	return b
}

// TTL sets how long the token lives: exp is the time of issue plus d. It
// must be positive and at most the maximum TTL. If not called, [DefaultTTL]
// is used.
func (b *Builder) TTL(d time.Duration) *Builder {
	b.ttl = d
	b.set |= setTTL
	return b
}

// MaxTTL sets the longest TTL Build accepts. It must be positive. If not
// called, [DefaultMaxTTL] is used. (watsonx Orchestrate accepts at most
// 7100 s.)
func (b *Builder) MaxTTL(d time.Duration) *Builder {
	b.maxTTL = d
	b.set |= setMaxTTL
	return b
}

// Skew sets how far iat is backdated from the time of issue. It must not be
// negative. If not called, [DefaultSkew] is used.
func (b *Builder) Skew(d time.Duration) *Builder {
	b.skew = d
	b.set |= setSkew
	return b
}

// IssuedAt sets the time of issue, from which iat (minus the skew) and exp
// (plus the TTL) are computed. If not called, Build uses time.Now(). Tests
// use it to make tokens with fixed times.
func (b *Builder) IssuedAt(t time.Time) *Builder {
	b.now = t
	b.set |= setNow
	return b
}

// Issuer sets iss. If called, iss must be a non-empty UTF-8 string.
func (b *Builder) Issuer(iss string) *Builder {
	b.iss = iss
	b.set |= setIss
	return b
}

// Audience sets aud, written as a JSON array. If called, it needs at least
// one value, each a non-empty UTF-8 string.
func (b *Builder) Audience(aud ...string) *Builder {
	b.aud = append([]string(nil), aud...)
	b.set |= setAud
	return b
}

// JWTID sets jti. If called, jti must be a non-empty UTF-8 string.
func (b *Builder) JWTID(jti string) *Builder {
	b.jti = jti
	b.set |= setJTI
	return b
}

// UserPayload sets user_payload to v, which Build encodes with encoding/json.
// It must encode to a JSON object, as IBM requires: a map, a struct, or an
// [encoding/json.RawMessage] holding an object; nil, arrays and scalars are
// refused. To send it encrypted, also call [Builder.EncryptFor]; the
// encrypted JSON text is written without HTML escaping, as JSON.stringify
// writes it. (In clear, jwx's encoder writes <, > and & inside strings as
// \u003c, \u003e and \u0026 — the same value once parsed.)
func (b *Builder) UserPayload(v any) *Builder {
	b.payload = v
	b.encrypted = ""
	b.mode = payloadValue
	return b
}

// UserPayloadCiphertext sets user_payload to s, a payload already encrypted
// elsewhere (for example with [EncryptUserPayload]). s must be padded
// standard base64. It replaces a value given to [Builder.UserPayload] and
// cannot be combined with [Builder.EncryptFor].
func (b *Builder) UserPayloadCiphertext(s string) *Builder {
	b.encrypted = s
	b.payload = nil
	b.mode = payloadEncrypted
	return b
}

// EncryptFor makes Build encrypt the value given to
// [Builder.UserPayload] with pub (IBM's public key from the web chat
// Security tab) using scheme s, normally [NodeRSA]. pub must be an RSA key of
// at least 2048 bits.
func (b *Builder) EncryptFor(pub *rsa.PublicKey, s Scheme) *Builder {
	b.encryptPub = pub
	b.scheme = s
	b.set |= setEncrypt
	return b
}

// Context sets the context claim: context variables for watsonx
// Orchestrate's embed chat, sent in clear (see [ContextClaim]; for watsonx
// Assistant web chat put user data in [Builder.UserPayload]). It must be a
// non-nil map.
func (b *Builder) Context(ctx map[string]any) *Builder {
	b.context = ctx
	b.set |= setContext
	return b
}

// Claim adds a further private claim. Build refuses an empty name, the
// registered names sub, exp, iat, nbf, iss, aud and jti, and user_payload
// and context, which have their own setters. v must be encodable as JSON.
func (b *Builder) Claim(name string, v any) *Builder {
	for i := range b.extra {
		if b.extra[i].name == name {
			b.extra[i].value = v
			return b
		}
	}
	b.extra = append(b.extra, namedValue{name, v})
	return b
}

// Build validates the recorded claims and returns them as a [jwt.Token].
// The first problem found is returned as an error that names the claim
// ("claims: sub: …") and wraps [ErrInvalidClaim]. Claims are checked in the
// order sub, iat, exp, iss, aud, jti, user_payload, context, then the
// further claims in the order they were added.
//
// In the token, user_payload (when not encrypted), context and further
// claims hold their JSON text as [encoding/json.RawMessage] values.
//
// Build is [Builder.Check] followed by [Set.Token].
func (b *Builder) Build() (jwt.Token, error) {
	s, err := b.Check()
	if err != nil {
		return nil, err
	}
	return s.Token()
}

// Check validates the recorded claims as [Builder.Build] does, with the
// same errors, and returns them as a [Set] rather than a token: values are
// encoded to JSON (and user_payload encrypted, with [Builder.EncryptFor])
// here, once, but no [jwt.Token] is made until [Set.Token]. A cache of
// signed tokens can look a token up by [Set.AppendKey] and build and sign
// one only when it finds none.
func (b *Builder) Check() (*Set, error) {
	if b.set&setSub == 0 {
		return nil, invalid(jwt.SubjectKey, "required")
	}
	if err := headersafe.Check(b.sub); err != nil {
		return nil, &claimError{claim: jwt.SubjectKey, err: err}
	}

	now := b.now
	if b.set&setNow == 0 {
		now = time.Now()
	} else if now.IsZero() {
		return nil, invalid(jwt.IssuedAtKey, "IssuedAt was given the zero time")
	}
	skew := DefaultSkew
	if b.set&setSkew != 0 {
		skew = b.skew
	}
	if skew < 0 {
		return nil, invalid(jwt.IssuedAtKey, "skew %v is negative", skew)
	}

	ttl, maxTTL := DefaultTTL, DefaultMaxTTL
	if b.set&setTTL != 0 {
		ttl = b.ttl
	}
	if b.set&setMaxTTL != 0 {
		maxTTL = b.maxTTL
	}
	switch {
	case maxTTL <= 0:
		return nil, invalid(jwt.ExpirationKey, "maximum TTL %v is not positive", maxTTL)
	case ttl <= 0:
		return nil, invalid(jwt.ExpirationKey, "TTL %v is not positive", ttl)
	case ttl > maxTTL:
		return nil, invalid(jwt.ExpirationKey, "TTL %v is longer than the maximum %v", ttl, maxTTL)
	}

	if b.set&setIss != 0 {
		if err := checkText(b.iss); err != nil {
			return nil, &claimError{claim: jwt.IssuerKey, err: err}
		}
	}
	if b.set&setAud != 0 {
		if len(b.aud) == 0 {
			return nil, invalid(jwt.AudienceKey, "Audience was called without a value")
		}
		for i, a := range b.aud {
			if err := checkText(a); err != nil {
				return nil, invalid(jwt.AudienceKey, "value %d: %w", i, err)
			}
		}
	}
	if b.set&setJTI != 0 {
		if err := checkText(b.jti); err != nil {
			return nil, &claimError{claim: jwt.JwtIDKey, err: err}
		}
	}

	payload, err := b.userPayload()
	if err != nil {
		return nil, err
	}

	var context json.RawMessage
	if b.set&setContext != 0 {
		if b.context == nil {
			return nil, invalid(ContextClaim, "nil map")
		}
		if context, err = marshalJSON(b.context); err != nil {
			return nil, invalid(ContextClaim, "encode as JSON: %w", err)
		}
	}

	var extra []rawClaim
	if len(b.extra) > 0 {
		extra = make([]rawClaim, len(b.extra))
	}
	for i, c := range b.extra {
		switch {
		case c.name == "":
			return nil, invalid(`""`, "a claim needs a name")
		case reserved(c.name):
			return nil, invalid(c.name, "reserved name: use its own setter (nbf is never set)")
		case !utf8.ValidString(c.name):
			return nil, invalid(fmt.Sprintf("%q", c.name), "name is not valid UTF-8")
		}
		text, err := marshalJSON(c.value)
		if err != nil {
			return nil, invalid(c.name, "encode as JSON: %w", err)
		}
		extra[i] = rawClaim{c.name, text}
	}

	s := &Set{sub: b.sub, iat: now.Add(-skew), exp: now.Add(ttl), payload: payload, context: context, extra: extra}
	if b.set&setIss != 0 {
		s.iss, s.hasIss = b.iss, true
	}
	if b.set&setAud != 0 {
		s.aud = b.aud
	}
	if b.set&setJTI != 0 {
		s.jti, s.hasJTI = b.jti, true
	}
	return s, nil
}

// Sign builds the token and signs it with s: Build followed by
// [Signer.Sign]. It returns the compact JWT.
func (b *Builder) Sign(s *Signer) (string, error) {
	if s == nil {
		return "", errors.New("claims: Sign: nil Signer")
	}
	t, err := b.Build()
	if err != nil {
		return "", err
	}
	return s.Sign(t)
}

// userPayload returns the value of the user_payload claim: nil when there is
// none, a string when encrypted, else the JSON object as a RawMessage.
func (b *Builder) userPayload() (any, error) {
	encrypt := b.set&setEncrypt != 0
	switch b.mode {
	case payloadNone:
		if encrypt {
			return nil, invalid(UserPayloadClaim, "EncryptFor needs a value from UserPayload")
		}
		return nil, nil
	case payloadEncrypted:
		if encrypt {
			return nil, invalid(UserPayloadClaim, "UserPayloadCiphertext cannot be combined with EncryptFor")
		}
		if _, err := decodeStdBase64(b.encrypted); err != nil {
			return nil, invalid(UserPayloadClaim, "encrypted value is not padded standard base64")
		}
		return b.encrypted, nil
	}

	text, err := marshalJSON(b.payload)
	if err != nil {
		return nil, invalid(UserPayloadClaim, "encode as JSON: %w", err)
	}
	if len(text) == 0 || text[0] != '{' {
		return nil, invalid(UserPayloadClaim, "must encode to a JSON object, got %s", jsonKind(text))
	}
	if !encrypt {
		return json.RawMessage(text), nil
	}
	if err := checkEncryptionKey(b.encryptPub); err != nil {
		return nil, &claimError{claim: UserPayloadClaim, err: err}
	}
	s, err := b.scheme.encrypt(b.encryptPub, text)
	if err != nil {
		return nil, &claimError{claim: UserPayloadClaim, err: err}
	}
	return s, nil
}

// jsonKind names the kind of a JSON value from its first byte, for errors
// that must not quote the value.
func jsonKind(text []byte) string {
	if len(text) == 0 {
		return "nothing"
	}
	switch text[0] {
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// checkText is the rule for iss, aud and jti: present and valid UTF-8 (JSON
// encoding would silently replace invalid bytes).
func checkText(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	return nil
}
