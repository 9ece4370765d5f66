package claims

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Set is a token's claims as [Builder.Check] validated them: what
// [Builder.Build] puts in the token, before it is one. Its JSON values are
// encoded (and user_payload encrypted, with [Builder.EncryptFor]) once, so
// [Set.AppendKey] and [Set.Token] describe the same claims. A Set is
// immutable and safe for concurrent use.
type Set struct {
	sub      string
	iat, exp time.Time
	iss      string
	hasIss   bool
	aud      []string // nil when not set
	jti      string
	hasJTI   bool
	payload  any             // nil, json.RawMessage (clear) or string (encrypted)
	context  json.RawMessage // nil when not set
	extra    []rawClaim
}

// rawClaim is a further claim, encoded.
type rawClaim struct {
	name string
	text json.RawMessage
}

// Subject returns sub.
func (s *Set) Subject() string { return s.sub }

// IssuedAt returns iat.
func (s *Set) IssuedAt() time.Time { return s.iat }

// Expiration returns exp.
func (s *Set) Expiration() time.Time { return s.exp }

// JWTID returns jti, and whether it is set.
func (s *Set) JWTID() (string, bool) { return s.jti, s.hasJTI }

// Context returns the JSON text of the context claim, nil when it is not
// set. The caller must not modify it.
func (s *Set) Context() json.RawMessage { return s.context }

// Token returns the claims as a [jwt.Token], as [Builder.Build] does. Each
// call makes a new token.
func (s *Set) Token() (jwt.Token, error) {
	t := jwt.New()
	var err error
	set := func(name string, v any) {
		if err == nil {
			if e := t.Set(name, v); e != nil {
				err = &claimError{claim: name, err: e}
			}
		}
	}
	set(jwt.SubjectKey, s.sub)
	set(jwt.IssuedAtKey, s.iat)
	set(jwt.ExpirationKey, s.exp)
	if s.hasIss {
		set(jwt.IssuerKey, s.iss)
	}
	if s.aud != nil {
		set(jwt.AudienceKey, s.aud)
	}
	if s.hasJTI {
		set(jwt.JwtIDKey, s.jti)
	}
	if s.payload != nil {
		set(UserPayloadClaim, s.payload)
	}
	if s.context != nil {
		set(ContextClaim, s.context)
	}
	for _, c := range s.extra {
		set(c.name, c.text)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// keyVersion starts every key, so that a future change of the encoding
// cannot collide with today's.
const keyVersion = 1

// Tags of the parts of a key.
const (
	keySub byte = iota + 1
	keyLife
	keyIss
	keyAud
	keyJTI
	keyPayloadClear
	keyPayloadEncrypted
	keyContext
	keyExtra
)

// AppendKey appends to dst a canonical encoding of every claim but iat and
// exp, and of the lifetime exp − iat: two Sets with the same key make
// tokens that differ at most in iat and exp, by the same lifetime. (Sets
// whose tokens would say the same may still have different keys, e.g.
// with their further claims added in another order.) It is what a cache
// of signed tokens keys them by, through a keyed hash; the encoding holds
// the claims in clear, so do not log or store it.
//
// Each part is a tag, then a length and the bytes, in a fixed order, so no
// two different Sets encode alike.
func (s *Set) AppendKey(dst []byte) []byte {
	dst = append(dst, keyVersion)
	dst = appendPart(dst, keySub, s.sub)
	dst = append(dst, keyLife)
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.exp.Sub(s.iat)))
	if s.hasIss {
		dst = appendPart(dst, keyIss, s.iss)
	}
	if s.aud != nil {
		dst = append(dst, keyAud)
		dst = binary.AppendUvarint(dst, uint64(len(s.aud)))
		for _, a := range s.aud {
			dst = appendPart(dst, keyAud, a)
		}
	}
	if s.hasJTI {
		dst = appendPart(dst, keyJTI, s.jti)
	}
	switch p := s.payload.(type) {
	case json.RawMessage:
		dst = appendPart(dst, keyPayloadClear, p)
	case string:
		dst = appendPart(dst, keyPayloadEncrypted, p)
	case nil:
	default:
		// Check makes no other kind; a key without it would be wrong.
		panic(fmt.Sprintf("claims: AppendKey: user_payload held as %T", p))
	}
	if s.context != nil {
		dst = appendPart(dst, keyContext, s.context)
	}
	for _, c := range s.extra {
		dst = appendPart(dst, keyExtra, c.name)
		dst = appendPart(dst, keyExtra, c.text)
	}
	return dst
}

// appendPart appends tag, the length of p and p.
func appendPart[T string | []byte | json.RawMessage](dst []byte, tag byte, p T) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	return append(dst, p...)
}
