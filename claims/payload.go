package claims

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// Scheme is a way of encrypting the user_payload claim with the public key
// IBM provides, in a format IBM can decrypt.
type Scheme int

const (
	// NodeRSA is the format of the npm package node-rsa with its defaults,
	// which IBM uses to decrypt user_payload: RSA-OAEP with SHA-1, MGF1-SHA-1
	// and an empty label; the JSON text is split into chunks of at most k−42
	// bytes (k = modulus size in bytes), each encrypted to exactly k bytes,
	// concatenated, and encoded as standard base64 with padding.
	NodeRSA Scheme = iota

	// OAEPSHA256 is one RSA-OAEP block with SHA-256 and MGF1-SHA-256 and an
	// empty label, encoded as standard base64 with padding: what Node's
	// crypto.publicEncrypt produces with RSA_PKCS1_OAEP_PADDING and oaepHash
	// "sha256". It does not chunk, so the JSON text must fit in k−66 bytes
	// (190 for a 2048-bit key).
	OAEPSHA256
)

// Errors of payload encryption and decryption.
var (
	// ErrDecrypt reports a user_payload that cannot be decrypted with the
	// given key and scheme: not base64, of the wrong length, a block that
	// fails to decrypt (wrong key or altered ciphertext), or a plaintext that
	// is not JSON. It never wraps anything about the key or the plaintext.
	ErrDecrypt = errors.New("claims: cannot decrypt user_payload")

	// ErrPayloadTooLarge reports a payload whose JSON text does not fit the
	// scheme's single block ([OAEPSHA256]).
	ErrPayloadTooLarge = errors.New("claims: user_payload too large for the encryption scheme")
)

// minRSABits is the smallest RSA modulus the package signs or encrypts with.
const minRSABits = 2048

// String returns the scheme's name, "NodeRSA" or "OAEPSHA256".
func (s Scheme) String() string {
	switch s {
	case NodeRSA:
		return "NodeRSA"
	case OAEPSHA256:
		return "OAEPSHA256"
	}
	return fmt.Sprintf("Scheme(%d)", int(s))
}

// newHash returns the OAEP hash of the scheme (also used for MGF1).
func (s Scheme) newHash() (hash.Hash, error) {
	switch s {
	case NodeRSA:
		return sha1.New(), nil
	case OAEPSHA256:
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("claims: unknown encryption scheme %v", s)
}

// Encrypt writes v as JSON (without HTML escaping) and encrypts the text
// with pub. v may be any value encoding/json can marshal; pass a
// [encoding/json.RawMessage] for JSON that is already encoded. pub must be
// an RSA key of at least 2048 bits, else the error wraps [ErrWeakKey].
// The builder ([Builder.EncryptFor]) additionally requires a JSON
// object, as IBM does; Encrypt itself accepts any JSON value.
func (s Scheme) Encrypt(pub *rsa.PublicKey, v any) (string, error) {
	if _, err := s.newHash(); err != nil {
		return "", err
	}
	if err := checkEncryptionKey(pub); err != nil {
		return "", err
	}
	text, err := marshalJSON(v)
	if err != nil {
		return "", fmt.Errorf("claims: encode user_payload as JSON: %w", err)
	}
	return s.encrypt(pub, text)
}

// encrypt encrypts JSON text that has already been checked or produced by
// marshalJSON, with a key that has passed checkEncryptionKey.
func (s Scheme) encrypt(pub *rsa.PublicKey, text []byte) (string, error) {
	h, err := s.newHash()
	if err != nil {
		return "", err
	}
	k := pub.Size()
	limit := k - 2*h.Size() - 2
	n := len(text)

	switch s {
	case OAEPSHA256:
		if n > limit {
			return "", fmt.Errorf("%w: %d bytes of JSON, at most %d fit one %v block of a %d-bit key",
				ErrPayloadTooLarge, n, limit, s, pub.N.BitLen())
		}
		ct, err := rsa.EncryptOAEP(h, rand.Reader, pub, text, nil)
		if err != nil {
			return "", fmt.Errorf("claims: encrypt user_payload: %w", err)
		}
		return base64.StdEncoding.EncodeToString(ct), nil
	}

	// node-rsa cuts the text into equal chunks rather than filling each to
	// the limit (rsa.js: dividedSize = ceil(n / ceil(n / limit))); both fit
	// its decryptor, but following it keeps the block count and sizes equal
	// to what node-rsa itself would produce.
	count := (n + limit - 1) / limit
	if count == 0 {
		count = 1
	}
	size := (n + count - 1) / count
	blocks := make([]byte, 0, count*k)
	for start := 0; ; start += size {
		end := min(start+size, n)
		ct, err := rsa.EncryptOAEP(h, rand.Reader, pub, text[start:end], nil)
		if err != nil {
			return "", fmt.Errorf("claims: encrypt user_payload: %w", err)
		}
		blocks = append(blocks, ct...)
		if end == n {
			break
		}
	}
	return base64.StdEncoding.EncodeToString(blocks), nil
}

// Decrypt reverses [Scheme.Encrypt] and returns the JSON text. key is the
// private half of the key the payload was encrypted for: an
// *rsa.PrivateKey, or any [crypto.Decrypter] with an RSA public key (a key
// in a KMS or HSM). The [crypto.Signer] that identity's key loading returns
// for an RSA key is one, so it can be passed as it is.
//
// Decrypt is strict: the input must be standard base64 with padding and
// nothing else (no line breaks), decode to a whole number of k-byte blocks
// (exactly one for [OAEPSHA256]), every block must decrypt, and the result
// must be valid JSON. Any failure is [ErrDecrypt]; an unusable key is a
// plain error. The returned bytes are the JSON text as it was encrypted;
// unmarshal them into the type you expect.
func (s Scheme) Decrypt(key crypto.PrivateKey, ciphertext string) ([]byte, error) {
	hash, err := s.cryptoHash()
	if err != nil {
		return nil, err
	}
	dec, pub, err := decrypterOf(key)
	if err != nil {
		return nil, err
	}
	raw, err := decodeStdBase64(ciphertext)
	if err != nil {
		return nil, err
	}
	k := pub.Size()
	if len(raw) == 0 || len(raw)%k != 0 || (s == OAEPSHA256 && len(raw) != k) {
		return nil, fmt.Errorf("%w: length does not match the key size", ErrDecrypt)
	}
	opts := &rsa.OAEPOptions{Hash: hash, MGFHash: hash}
	out := make([]byte, 0, len(raw)/k*(k-2*hash.Size()-2))
	for off := 0; off < len(raw); off += k {
		pt, err := dec.Decrypt(rand.Reader, raw[off:off+k], opts)
		if err != nil {
			// crypto/rsa's error says nothing more, and which block failed
			// is of no use to anyone but an attacker.
			return nil, ErrDecrypt
		}
		out = append(out, pt...)
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("%w: plaintext is not JSON", ErrDecrypt)
	}
	return out, nil
}

// cryptoHash returns the OAEP and MGF1 hash of the scheme.
func (s Scheme) cryptoHash() (crypto.Hash, error) {
	switch s {
	case NodeRSA:
		return crypto.SHA1, nil
	case OAEPSHA256:
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("claims: unknown encryption scheme %v", s)
}

// decrypterOf accepts what [Scheme.Decrypt] takes: a crypto.Decrypter whose
// public half is an RSA key.
func decrypterOf(key crypto.PrivateKey) (crypto.Decrypter, *rsa.PublicKey, error) {
	if nilKey(key) {
		return nil, nil, errors.New("claims: decrypt user_payload: nil private key")
	}
	if k, ok := key.(*rsa.PrivateKey); ok && k.N == nil {
		return nil, nil, errors.New("claims: decrypt user_payload: nil private key")
	}
	dec, ok := key.(crypto.Decrypter)
	if !ok {
		return nil, nil, fmt.Errorf("claims: decrypt user_payload: a %T cannot decrypt (want an *rsa.PrivateKey or a crypto.Decrypter)", key)
	}
	pub, ok := dec.Public().(*rsa.PublicKey)
	if !ok || pub == nil || pub.N == nil {
		return nil, nil, fmt.Errorf("claims: decrypt user_payload: the key is not an RSA key")
	}
	return dec, pub, nil
}

// EncryptUserPayload encrypts v for IBM with the [NodeRSA] scheme, the one
// IBM's web chat decrypts. It is NodeRSA.Encrypt(pub, v).
func EncryptUserPayload(pub *rsa.PublicKey, v any) (string, error) {
	return NodeRSA.Encrypt(pub, v)
}

// DecryptUserPayload decrypts a [NodeRSA] user_payload and returns its JSON
// text, as IBM's side does. It is NodeRSA.Decrypt(key, s): key is an
// *rsa.PrivateKey or any [crypto.Decrypter] with an RSA public key, such as
// the [crypto.Signer] keys.LoadPrivateFile returns; failures to
// decrypt are [ErrDecrypt]. To read a whole token, see [Inspect].
func DecryptUserPayload(key crypto.PrivateKey, s string) ([]byte, error) {
	return NodeRSA.Decrypt(key, s)
}

// checkEncryptionKey refuses a missing or short RSA public key.
func checkEncryptionKey(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return errors.New("claims: user_payload encryption key is nil")
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return fmt.Errorf("%w: user_payload encryption key has %d bits",
			ErrWeakKey, bits)
	}
	return nil
}

// decodeStdBase64 decodes padded standard base64 and nothing else: the
// standard decoder skips CR and LF, which node-rsa never writes, and Strict
// refuses non-zero padding bits, so one ciphertext has one spelling.
func decodeStdBase64(s string) ([]byte, error) {
	if s == "" || len(s)%4 != 0 || strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: not padded standard base64", ErrDecrypt)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not padded standard base64", ErrDecrypt)
	}
	return raw, nil
}

// marshalJSON encodes v as compact JSON without HTML escaping, so that <, >
// and & stay as they are, as JSON.stringify writes them.
func marshalJSON(v any) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	e.buf.Reset()
	err := e.enc.Encode(v)
	var text []byte
	b := e.buf.Bytes()
	if err == nil {
		text = append([]byte(nil), b[:len(b)-1]...) // Encode ends the value with a newline
	}
	// Not reached after a panic in a MarshalJSON method: that encoder is
	// dropped.
	if e.buf.Cap() <= maxPooledJSON {
		clear(b) // it held claims, perhaps user_payload in clear
		jsonEncoders.Put(e)
	}
	return text, err
}

// jsonEncoder is an encoder without HTML escaping and its buffer, pooled
// (as encoding/json pools its own state) because claims are encoded on
// every token request.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxPooledJSON bounds the buffers marshalJSON gives back to its pool.
const maxPooledJSON = 64 << 10
