package claims

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed time of issue the tests build tokens at.
var testNow = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// testAnonID is a well-formed anonymous ID, as package cookie makes them.
const testAnonID = "anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d"

var testKeys sync.Map // file name → crypto.Signer

// testKey returns the private key in testdata/<name>.pem (rsa2048, rsa4096,
// rsa1024, ec256, ed25519), parsed once per test binary.
func testKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	if k, ok := testKeys.Load(name); ok {
		return k.(crypto.Signer)
	}
	data, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("testdata/%s.pem: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("testdata/%s.pem: %v", name, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		t.Fatalf("testdata/%s.pem: %T is not a crypto.Signer", name, k)
	}
	testKeys.Store(name, s)
	return s
}

// testRSA returns an RSA key from testdata.
func testRSA(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, ok := testKey(t, name).(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("testdata/%s.pem is not an RSA key", name)
	}
	return k
}

// testSigner returns a Signer for a testdata key.
func testSigner(t testing.TB, name string, opts ...SignerOption) *Signer {
	t.Helper()
	s, err := NewSigner(testKey(t, name), opts...)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", name, err)
	}
	return s
}

// opaqueSigner hides the concrete key type behind crypto.Signer, as a KMS
// or HSM key does: jwx cannot reach the private key, only Sign.
type opaqueSigner struct{ inner crypto.Signer }

func (o opaqueSigner) Public() crypto.PublicKey { return o.inner.Public() }
func (o opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.inner.Sign(r, digest, opts)
}

// segments splits a compact JWT and decodes its header and payload.
func segments(t testing.TB, token string) (header, payload []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var err error
	if header, err = base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		t.Fatalf("header: %v", err)
	}
	if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return header, payload
}

// decodeObject unmarshals a JSON object, keeping numbers exact.
func decodeObject(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// fixedClock returns a clock stopped at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
