// Package keys loads the keys a web chat site needs: its RSA signing keys
// and IBM's public key for encrypting user_payload. It reads PEM text
// (PKCS#1, PKCS#8, SEC 1 and PKIX blocks) from bytes, files or environment
// variables (with the \n escapes that .env files and CI secrets produce),
// and gives each public key the SHA-256 fingerprint that operators compare
// with the key pasted into IBM's Security tab. A key's kid, its RFC 7638
// thumbprint, is claims.KeyID.
//
// It also reads the secrets that seal session cookies and bind anonymous
// IDs ([ParseSecret], [LoadSecretFile]: raw bytes, hex or base64), and
// [FileSource] reloads every key when its files change, so keys rotate
// without a restart.
//
// Errors wrap [ErrInvalid] and say what is wrong (the wrong half of a key
// pair, newlines lost in a copy, a truncated paste) without ever quoting
// the key material.
package keys
