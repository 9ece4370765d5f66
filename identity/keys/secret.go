package keys

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// MinSecretLen is the shortest secret [ParseSecret] accepts, in bytes: a
// session-sealing or cookie-binding key of 256 bits.
const MinSecretLen = 32

// ParseSecret returns the secret key held in data: raw random bytes (as
// openssl rand 32 writes them, and as Kubernetes mounts a Secret's value),
// or their hex or base64 text (openssl rand -hex 32, openssl rand -base64
// 32; standard or URL alphabet, padding optional) with surrounding
// whitespace. The secret must be at least [MinSecretLen] bytes and not all
// zeros. Printable text that is neither hex nor base64 is refused: a
// passphrase is not a random key. The error wraps [ErrInvalid] and never
// quotes data.
func ParseSecret(data []byte) ([]byte, error) {
	k, err := parseSecret(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return k, nil
}

func parseSecret(data []byte) ([]byte, error) {
	text := bytes.TrimSpace(data)
	var k []byte
	switch {
	case len(text) == 0:
		return nil, errors.New("secret is empty")
	case isHexText(text):
		if len(text)%2 != 0 {
			return nil, fmt.Errorf("secret is %d hex characters, an odd number (cut short?)", len(text))
		}
		k = make([]byte, hex.DecodedLen(len(text)))
		if _, err := hex.Decode(k, text); err != nil {
			return nil, errors.New("secret is not valid hex")
		}
	case isPrintable(text):
		var ok bool
		if k, ok = decodeBase64(text); !ok {
			return nil, errors.New("secret is text but neither hex nor base64: use random bytes (openssl rand 32 > FILE) or their hex (openssl rand -hex 32 > FILE)")
		}
	default:
		k = bytes.Clone(data) // raw bytes: whitespace at the ends is key material
	}
	if len(k) < MinSecretLen {
		return nil, fmt.Errorf("secret is %d bytes, need at least %d random bytes (openssl rand %d)", len(k), MinSecretLen, MinSecretLen)
	}
	if !containsNonZero(k) {
		return nil, errors.New("secret is all zeros: use random bytes (openssl rand 32)")
	}
	return k, nil
}

func containsNonZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}

func isHexText(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isPrintable reports printable ASCII and spaces: text someone typed or a
// tool printed, never (but with odds of about 1 in 10^14) 32 random bytes.
func isPrintable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

// decodeBase64 decodes base64 text in either alphabet, with or without
// padding, ignoring line breaks (openssl -base64 wraps at 64 characters).
func decodeBase64(text []byte) ([]byte, bool) {
	s := string(bytes.Join(bytes.Fields(text), nil))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return k, true
		}
	}
	return nil, false
}

// LoadSecretFile reads a secret key from the file at path, as
// [ParseSecret] does. The error names the path, never the contents.
func LoadSecretFile(path string) ([]byte, error) {
	return loadFile(path, "secret", parseSecret)
}
