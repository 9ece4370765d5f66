package cookie

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Errors returned by [Sealer.Open] and [Sealer.Seal]; compare with errors.Is.
// A tampered or expired cookie is expected input, not a failure: treat the
// visitor as if the cookie were absent.
var (
	// ErrInvalid means the value was not sealed by this Sealer's keys for
	// this cookie name: tampered, truncated, garbage, another cookie's value
	// or sealed with an unknown key.
	ErrInvalid = errors.New("cookie: invalid value")

	// ErrExpired means the value is authentic but its expiry has passed.
	ErrExpired = errors.New("cookie: value expired")

	// ErrTooLarge means the sealed cookie would exceed the 4096 bytes
	// browsers keep.
	ErrTooLarge = errors.New("cookie: value too large")
)

// defaultSealerMaxAge is the lifetime of a sealed value when
// SealerConfig.MaxAge is zero.
const defaultSealerMaxAge = 24 * time.Hour

// Sealed value layout (before base64url without padding):
//
//	version (1) || nonce (12) || AES-256-GCM(expiry (8, big-endian unix seconds) || data) || tag (16)
//
// The additional data is version || cookie name.
const (
	sealVersion  byte = 1
	sealKeyLen        = 32
	nonceLen          = 12
	expiryLen         = 8
	tagLenGCM         = 16
	sealOverhead      = 1 + nonceLen + expiryLen + tagLenGCM
)

// SealerConfig describes a sealed cookie. Name and Keys are required; the
// zero value of every other field is a safe default: HttpOnly (always),
// Path=/, SameSite=Lax, Secure on TLS requests, 24 hours.
type SealerConfig struct {
	// Name is the cookie name; it is bound into every sealed value, so a
	// value sealed for one name does not open under another. The __Host- and
	// __Secure- prefix rules apply as in [Config.Name]. Required.
	Name string

	// Keys are AES-256 keys, each exactly 32 bytes of secret random data.
	// The first key seals; every key opens, so rotate by putting a new key
	// first and removing the old one after MaxAge. Required.
	Keys [][]byte

	// MaxAge is the lifetime of a sealed value: it is sealed inside the value
	// (Open refuses it afterwards with ErrExpired) and sent as the cookie's
	// Max-Age and Expires, in whole seconds. Negative values and values
	// under a second are refused. If zero, 24 hours is used.
	MaxAge time.Duration

	// Domain is the cookie's Domain attribute. If empty, the cookie is
	// host-only.
	Domain string

	// Path is the cookie's Path attribute. If empty, "/" is used.
	Path string

	// Secure says when the cookie carries Secure. The default, SecureAuto,
	// sets it on requests that arrived over TLS.
	Secure SecureMode

	// SameSite is the cookie's SameSite attribute. If zero,
	// http.SameSiteLaxMode is used.
	SameSite http.SameSite

	// Partitioned sets the Partitioned attribute; it implies Secure. The
	// default is false.
	Partitioned bool

	// Now returns the current time; tests inject a clock here. If nil,
	// time.Now is used.
	Now func() time.Time
}

// Sealer seals small server-issued state (such as the logged-in user) into a
// cookie with AES-256-GCM: the browser can neither read nor change it. Create
// one with [NewSealer]; it is immutable and safe for concurrent use.
type Sealer struct {
	attrs    attributes
	aeads    []cipher.AEAD // aeads[0] seals
	aad      []byte        // version || name
	maxPlain int           // largest plaintext whose cookie fits in 4096 bytes
	now      func() time.Time
}

// NewSealer validates cfg, fills in its defaults and returns the [Sealer] it
// describes. The error names the first bad field, as in
// "cookie: SealerConfig.Keys[1]: …", and never contains key material.
// cfg is not modified.
func NewSealer(cfg SealerConfig) (*Sealer, error) {
	attrs, err := newAttributes(attributeSpec{cfg: "SealerConfig", name: cfg.Name, domain: cfg.Domain, path: cfg.Path, secure: cfg.Secure, sameSite: cfg.SameSite, partitioned: cfg.Partitioned, maxAge: cfg.MaxAge, defaultMaxAge: defaultSealerMaxAge})
	if err != nil {
		return nil, err
	}
	if len(cfg.Keys) == 0 {
		return nil, cfgError("SealerConfig", "Keys", "at least one key is required")
	}
	s := &Sealer{attrs: attrs, now: cfg.Now}
	for i, key := range cfg.Keys {
		if len(key) != sealKeyLen {
			return nil, cfgError("SealerConfig", fmt.Sprintf("Keys[%d]", i), "%d bytes, want exactly %d (AES-256)", len(key), sealKeyLen)
		}
		block, err := aes.NewCipher(key) // copies the key
		if err != nil {
			return nil, cfgError("SealerConfig", fmt.Sprintf("Keys[%d]", i), "%v", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, cfgError("SealerConfig", fmt.Sprintf("Keys[%d]", i), "%v", err)
		}
		s.aeads = append(s.aeads, aead)
	}
	s.aad = append([]byte{sealVersion}, attrs.name...)
	if s.now == nil {
		s.now = time.Now
	}

	// The longest Set-Cookie value this Sealer writes, without the cookie
	// value: Expires has a fixed width, and Secure is counted as if present.
	tmpl := attrs.cookie(nil, "", time.Unix(0, 0))
	tmpl.Secure = true
	room := maxCookieSize - len(tmpl.String())
	s.maxPlain = b64.DecodedLen(room) - sealOverhead
	if room <= 0 || s.maxPlain < 0 {
		return nil, cfgError("SealerConfig", "Name", "name and attributes leave no room for a value within %d bytes", maxCookieSize)
	}
	return s, nil
}

// Name returns the cookie name.
func (s *Sealer) Name() string { return s.attrs.name }

// MaxAge returns the lifetime of the values the Sealer seals, in whole
// seconds.
func (s *Sealer) MaxAge() time.Duration { return s.attrs.maxAge }

// Seal encrypts plaintext with the first key and a fresh random nonce, and
// returns the cookie value: base64url without padding. The value expires
// MaxAge from now. It returns an error wrapping ErrTooLarge if the Set-Cookie
// header value carrying it could exceed 4096 bytes.
func (s *Sealer) Seal(plaintext []byte) (string, error) {
	return s.seal(plaintext, s.now())
}

func (s *Sealer) seal(plaintext []byte, now time.Time) (string, error) {
	if len(plaintext) > s.maxPlain {
		return "", fmt.Errorf("%w: %d bytes of plaintext, at most %d fit in a %d-byte cookie", ErrTooLarge, len(plaintext), s.maxPlain, maxCookieSize)
	}
	buf := make([]byte, sealOverhead+len(plaintext))
	buf[0] = sealVersion
	nonce := buf[1 : 1+nonceLen]
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("cookie: reading a nonce: %w", err)
	}
	body := buf[1+nonceLen : len(buf)-tagLenGCM]
	binary.BigEndian.PutUint64(body, uint64(now.Add(s.attrs.maxAge).Unix()))
	copy(body[expiryLen:], plaintext)
	s.aeads[0].Seal(body[:0], nonce, body, s.aad) // in place; the tag fills the tail
	return b64.EncodeToString(buf), nil
}

// Open authenticates and decrypts a value made by Seal, trying every key.
// It returns ErrInvalid for anything not sealed under one of the keys for
// this cookie name, and ErrExpired for an authentic value past its expiry.
// It never panics, whatever the input.
func (s *Sealer) Open(value string) ([]byte, error) {
	// b64 ignores CR and LF; refuse them so each value has one spelling.
	if len(value) < b64.EncodedLen(sealOverhead) || len(value) > maxCookieSize || strings.ContainsAny(value, "\r\n") {
		return nil, ErrInvalid
	}
	raw := make([]byte, b64.DecodedLen(len(value)))
	n, err := b64.Decode(raw, []byte(value))
	if err != nil || n < sealOverhead || raw[0] != sealVersion {
		return nil, ErrInvalid
	}
	raw = raw[:n]
	nonce, sealed := raw[1:1+nonceLen], raw[1+nonceLen:]
	// A failed Open clears its output, so decrypt into a separate buffer to
	// keep the ciphertext intact for the next key.
	out := make([]byte, 0, len(sealed)-tagLenGCM)
	var body []byte
	for _, aead := range s.aeads {
		if body, err = aead.Open(out, nonce, sealed, s.aad); err == nil {
			break
		}
	}
	if err != nil {
		return nil, ErrInvalid
	}
	// The MAC has been checked, so only authentic values are reported expired.
	expiry := int64(binary.BigEndian.Uint64(body))
	if s.now().Unix() >= expiry {
		return nil, ErrExpired
	}
	return body[expiryLen:], nil
}

// Write seals plaintext and sets it as the cookie on w, with the attributes
// of the [SealerConfig] (Secure decided by r under SecureAuto). It returns
// Seal's errors, in which case nothing is written.
func (s *Sealer) Write(w http.ResponseWriter, r *http.Request, plaintext []byte) error {
	now := s.now()
	value, err := s.seal(plaintext, now)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.attrs.cookie(r, value, now))
	return nil
}

// Read opens the cookie sent with r. It returns http.ErrNoCookie when there
// is none, and otherwise Open's result. If several cookies have the name
// (set for different paths or domains), the first that opens wins; if none
// does, the error is ErrExpired when one of them was authentic but expired,
// else ErrInvalid.
func (s *Sealer) Read(r *http.Request) ([]byte, error) {
	cookies := r.CookiesNamed(s.attrs.name)
	if len(cookies) == 0 {
		return nil, http.ErrNoCookie
	}
	err := ErrInvalid
	for _, c := range cookies {
		p, openErr := s.Open(c.Value)
		if openErr == nil {
			return p, nil
		}
		if errors.Is(openErr, ErrExpired) {
			err = ErrExpired
		}
	}
	return nil, err
}

// Clear tells the browser to delete the cookie: it sets an empty cookie with
// the same name, Path and Domain, Max-Age=0 (Max-Age -1 in net/http terms)
// and an Expires in 1970.
func (s *Sealer) Clear(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.attrs.deletion(r))
}
