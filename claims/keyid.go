package claims

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// KeyID returns the RFC 7638 thumbprint of a public key: the SHA-256 hash
// of the key's required JWK members, base64url-encoded without padding. It
// is a stable key ID that anyone holding the public key can compute.
//
// pub may be a *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey, a
// private key or other [crypto.Signer] (its public half is used), or an
// asymmetric [jwk.Key]. Symmetric keys are refused.
func KeyID(pub crypto.PublicKey) (string, error) {
	raw, err := publicKeyOf(pub)
	if err != nil {
		return "", fmt.Errorf("claims: KeyID: %w", err)
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return "", fmt.Errorf("claims: KeyID: %w", err)
	}
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("claims: KeyID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// publicKeyOf returns the raw public key behind v, or an error for anything
// that is not an asymmetric key. Secrets ([]byte, string, "oct" JWKs) are
// refused so that they can never stand in for a public key.
func publicKeyOf(v any) (crypto.PublicKey, error) {
	switch k := v.(type) {
	case nil:
		return nil, errors.New("nil key")
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("nil key")
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, errors.New("nil key")
		}
		return k, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("ed25519 public key of the wrong length")
		}
		return k, nil
	case jwk.Key:
		if k.KeyType() == jwa.OctetSeq {
			return nil, errors.New("symmetric (oct) JWK is not a public key")
		}
		raw, err := jwk.PublicRawKeyOf(k)
		if err != nil {
			return nil, err
		}
		return publicKeyOf(raw)
	case interface{ Public() crypto.PublicKey }: // private keys, crypto.Signer
		if nilKey(k) {
			return nil, errors.New("nil key")
		}
		return publicKeyOf(k.Public())
	}
	return nil, fmt.Errorf("unsupported key type %T", v)
}

// nilKey reports a nil or empty private key held in a non-nil interface,
// such as (*rsa.PrivateKey)(nil), whose Public method would panic.
func nilKey(v any) bool {
	switch k := v.(type) {
	case *rsa.PrivateKey:
		return k == nil
	case *ecdsa.PrivateKey:
		return k == nil
	case ed25519.PrivateKey:
		return len(k) != ed25519.PrivateKeySize
	}
	return v == nil
}
