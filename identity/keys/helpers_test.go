package keys_test

import (
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity/keys"
)

// Fixed test keys under testdata/ (how they were made: keys_test.go).
const (
	keyA    = "rsa2048-a.pem"       // PKCS#1
	keyB    = "rsa2048-b.pkcs8.pem" // PKCS#8
	keyEC   = "ec-p256.pkcs8.pem"   // not RSA
	keyEd   = "ed25519.pem"         // not RSA
	keyECv1 = "ec-p256.sec1.pem"    // SEC 1 after an EC PARAMETERS block
	pubA    = "rsa2048-a.pub.pem"   // PKIX
	pubA1   = "rsa2048-a.pkcs1.pub.pem"
	pubIBM  = "ibm-rsa2048.pub.pem"
	keyIBM  = "ibm-rsa2048.pem"
)

// rsaKey loads an RSA private key from testdata.
func rsaKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := keys.LoadPrivateFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: got %T, want *rsa.PrivateKey", name, k)
	}
	return rk
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
