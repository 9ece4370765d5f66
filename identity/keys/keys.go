package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrInvalid is returned (wrapped) by the key loading helpers when the input
// holds no usable key. The message names the problem, never the key material.
var ErrInvalid = errors.New("keys: invalid key")

// ParsePrivatePEM returns the first private key in the PEM data: PKCS#1
// ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"),
// holding an RSA, ECDSA or Ed25519 key. Other blocks before the key (such as
// the "EC PARAMETERS" that openssl ecparam writes) are skipped. Encrypted PEM
// is refused: decrypt it first (openssl pkey -in enc.pem -out key.pem).
//
// Only RSA keys can sign tokens for IBM's web chat (it verifies RS256); the
// other kinds are accepted here so that one helper serves every key an app
// loads.
func ParsePrivatePEM(data []byte) (crypto.Signer, error) {
	k, err := parsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return k, nil
}

func parsePrivate(data []byte) (crypto.Signer, error) {
	var seen []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, noPEMKey(data, seen, "private")
		}
		seen = append(seen, block.Type)
		if _, enc := block.Headers["Proc-Type"]; enc || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted PEM is not supported; decrypt the key first")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s block: %v", block.Type, err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
	}
}

// noPEMKey says why no usable key block was found, in words that point to
// the usual mistakes: the wrong half of the key pair, newlines lost when the
// PEM text was pasted into one line, a truncated copy, or no PEM at all.
// It names block types, never the data.
func noPEMKey(data []byte, seen []string, want string) error {
	switch {
	case len(seen) > 0:
		return fmt.Errorf("no %s key block found: the PEM holds %s blocks; need %s", want, strings.Join(seen, ", "), wantedBlocks[want])
	case bytes.Contains(data, []byte("-----BEGIN")):
		return fmt.Errorf("no %s key block found: a -----BEGIN line is there but the block does not decode (newlines lost or replaced by spaces? text cut short?)", want)
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("no %s key block found: the data is empty", want)
	default:
		return fmt.Errorf("no %s key block found: no -----BEGIN line, so this is not PEM text (a bare base64 or DER key must be wrapped in PEM)", want)
	}
}

var wantedBlocks = map[string]string{
	"private": `"PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY"`,
	"public":  `"PUBLIC KEY" or "RSA PUBLIC KEY"`,
}

// ParsePublicPEM returns the first public key in the PEM data: PKIX
// ("PUBLIC KEY", what openssl rsa -pubout and IBM's Security tab show) or
// PKCS#1 ("RSA PUBLIC KEY"). The result is an *rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey.
func ParsePublicPEM(data []byte) (crypto.PublicKey, error) {
	k, err := parsePublic(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return k, nil
}

func parsePublic(data []byte) (crypto.PublicKey, error) {
	var seen []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, noPEMKey(data, seen, "public")
		}
		seen = append(seen, block.Type)
		var (
			key any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s block: %v", block.Type, err)
		}
		switch k := key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported public key type %T", key)
		}
	}
}

// LoadPrivateFile reads a PEM private key from the file at path, as
// [ParsePrivatePEM] does. The error names the path, never the contents.
func LoadPrivateFile(path string) (crypto.Signer, error) {
	return loadFile(path, "private key", parsePrivate)
}

// LoadPublicFile reads a PEM public key from the file at path, as
// [ParsePublicPEM] does.
func LoadPublicFile(path string) (crypto.PublicKey, error) {
	return loadFile(path, "public key", parsePublic)
}

// loadFile reads the file at path and parses it with parse. A read error
// names what the file should hold; a parse error wraps [ErrInvalid] and
// names the path, never the contents.
func loadFile[K any](path, what string, parse func([]byte) (K, error)) (K, error) {
	var zero K
	data, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("keys: reading %s: %w", what, err)
	}
	k, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return k, nil
}

// PrivateFromEnv parses the PEM private key held in the environment
// variable name, as [ParsePrivatePEM] does. Environment variables often
// carry PEM text on one line with the newlines written as the two characters
// \n (or \r\n); those are turned back into newlines first. An unset or empty
// variable is an error naming the variable.
func PrivateFromEnv(name string) (crypto.Signer, error) {
	data, err := envPEM(name)
	if err != nil {
		return nil, err
	}
	k, err := parsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("%w: environment variable %s: %w", ErrInvalid, name, err)
	}
	return k, nil
}

// PublicFromEnv parses the PEM public key held in the environment variable
// name, as [ParsePublicPEM] does, accepting escaped newlines as
// [PrivateFromEnv] does.
func PublicFromEnv(name string) (crypto.PublicKey, error) {
	data, err := envPEM(name)
	if err != nil {
		return nil, err
	}
	k, err := parsePublic(data)
	if err != nil {
		return nil, fmt.Errorf("%w: environment variable %s: %w", ErrInvalid, name, err)
	}
	return k, nil
}

func envPEM(name string) ([]byte, error) {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is unset or empty", ErrInvalid, name)
	}
	return unescapePEM(v), nil
}

// unescapePEM turns the escaped line breaks an environment variable or a
// .env file usually carries ("\n", "\r\n", "\r" written as backslash
// sequences) into real newlines, and drops one pair of surrounding quotes.
// Base64 PEM bodies never contain a backslash, so text without escapes is
// returned unchanged.
func unescapePEM(s string) []byte {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	if !strings.Contains(s, `\`) {
		return []byte(s)
	}
	var b bytes.Buffer
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				i++ // a CR is dropped; its \n (if any) follows
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.Bytes()
}

// Fingerprint returns the SHA-256 digest of the public key's PKIX (DER)
// encoding in lowercase hex: the value
//
//	openssl pkey -pubin -in public.pem -outform DER | sha256sum
//
// prints, so an operator can check that the key pasted into IBM's Security
// tab is the one the server signs with. [New] logs it for every signing key.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// PublicPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, the form IBM's
// web chat Security tab expects to be pasted.
func PublicPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
