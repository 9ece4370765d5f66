package keys_test

// The keys under testdata/ were made once with OpenSSL 3 and are committed,
// so tests never generate RSA keys:
//
//	openssl genrsa -traditional -out rsa2048-a.pem 2048
//	openssl genrsa -out rsa2048-b.pkcs8.pem 2048
//	openssl genrsa -traditional -out ibm-rsa2048.pem 2048
//	openssl rsa -in ibm-rsa2048.pem -pubout -out ibm-rsa2048.pub.pem
//	openssl rsa -in rsa2048-a.pem -pubout -out rsa2048-a.pub.pem
//	openssl rsa -in rsa2048-a.pem -RSAPublicKey_out -out rsa2048-a.pkcs1.pub.pem
//	openssl genrsa -traditional -out rsa1024-weak.pem 1024
//	openssl genrsa -out rsa4096.pem 4096
//	openssl ecparam -name prime256v1 -genkey -out ec-p256.sec1.pem
//	openssl pkcs8 -topk8 -nocrypt -in ec-p256.sec1.pem -out ec-p256.pkcs8.pem
//	openssl genpkey -algorithm ed25519 -out ed25519.pem
//
// Test keys only: never use them for anything else.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/identity/keys"
)

// fingerprintA is what
// openssl pkey -pubin -in testdata/rsa2048-a.pub.pem -outform DER | sha256sum
// prints.
const fingerprintA = "fd8d60c18cdebc6051667f5633cf3f2576ef6537746565ce8cba40012773b533"

func TestParsePrivatePEM(t *testing.T) {
	tests := []struct {
		file     string
		wantType string
	}{
		{keyA, "rsa"},
		{keyB, "rsa"},
		{keyEC, "ecdsa"},
		{keyECv1, "ecdsa"},
		{keyEd, "ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k, err := keys.ParsePrivatePEM(readFile(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			switch k.(type) {
			case *rsa.PrivateKey:
				got = "rsa"
			case *ecdsa.PrivateKey:
				got = "ecdsa"
			case ed25519.PrivateKey:
				got = "ed25519"
			}
			if got != tt.wantType {
				t.Errorf("got %T, want %s", k, tt.wantType)
			}
		})
	}
}

func TestParsePrivateKeyPEMRefuses(t *testing.T) {
	encrypted := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
	legacyEncrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	corrupt := strings.Replace(string(readFile(t, keyA)), "M", "A", 5)
	tests := map[string]struct {
		in      string
		wantMsg string
	}{
		"empty":                 {"", "no private key block found: the data is empty"},
		"not PEM":               {"hello", "no -----BEGIN line, so this is not PEM text"},
		"a public key":          {string(readFile(t, pubA)), "the PEM holds PUBLIC KEY blocks; need"},
		"newlines lost":         {strings.ReplaceAll(string(readFile(t, keyA)), "\n", " "), "newlines lost"},
		"cut short":             {string(readFile(t, keyA))[:300], "text cut short"},
		"encrypted PKCS#8":      {encrypted, "encrypted PEM is not supported"},
		"encrypted legacy PEM":  {legacyEncrypted, "encrypted PEM is not supported"},
		"corrupt RSA key":       {corrupt, "RSA PRIVATE KEY block"},
		"PKCS#8 label on SEC 1": {strings.ReplaceAll(string(readFile(t, keyECv1)), "EC PRIVATE KEY", "PRIVATE KEY"), "PRIVATE KEY block"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := keys.ParsePrivatePEM([]byte(tt.in))
			if k != nil || !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %T, %v; want nil and keys.ErrInvalid saying %q", k, err, tt.wantMsg)
			}
		})
	}
}

func TestParsePublicPEM(t *testing.T) {
	want := &rsaKey(t, keyA).PublicKey
	for _, file := range []string{pubA, pubA1} {
		t.Run(file, func(t *testing.T) {
			k, err := keys.ParsePublicPEM(readFile(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if !want.Equal(k) {
				t.Error("got a different key")
			}
		})
	}
	if _, err := keys.ParsePublicPEM(readFile(t, keyA)); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("a private key as public: got %v, want keys.ErrInvalid", err)
	}
}

func TestLoadKeyFiles(t *testing.T) {
	if _, err := keys.LoadPrivateFile(filepath.Join("testdata", keyA)); err != nil {
		t.Error(err)
	}
	if _, err := keys.LoadPublicFile(filepath.Join("testdata", pubA)); err != nil {
		t.Error(err)
	}
	_, err := keys.LoadPrivateFile(filepath.Join("testdata", "missing.pem"))
	if err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: got %v, want an error naming the path", err)
	}
	_, err = keys.LoadPrivateFile(filepath.Join("testdata", pubA))
	if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), pubA) {
		t.Errorf("public key file: got %v, want keys.ErrInvalid naming the path", err)
	}
}

func TestKeysFromEnv(t *testing.T) {
	pemText := string(readFile(t, keyA))
	tests := map[string]string{
		"real newlines":         pemText,
		`escaped \n`:            strings.ReplaceAll(pemText, "\n", `\n`),
		`escaped \r\n`:          strings.ReplaceAll(pemText, "\n", `\r\n`),
		"double-quoted escaped": `"` + strings.ReplaceAll(pemText, "\n", `\n`) + `"`,
		"CRLF":                  strings.ReplaceAll(pemText, "\n", "\r\n"),
	}
	want := rsaKey(t, keyA)
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("WEBCHATID_TEST_KEY", value)
			k, err := keys.PrivateFromEnv("WEBCHATID_TEST_KEY")
			if err != nil {
				t.Fatal(err)
			}
			if !want.Equal(k) {
				t.Error("got a different key")
			}
		})
	}
	t.Run("public key", func(t *testing.T) {
		t.Setenv("WEBCHATID_TEST_PUB", strings.ReplaceAll(string(readFile(t, pubIBM)), "\n", `\n`))
		k, err := keys.PublicFromEnv("WEBCHATID_TEST_PUB")
		if err != nil || !rsaKey(t, keyIBM).PublicKey.Equal(k) {
			t.Errorf("got %v, want IBM's test key", err)
		}
	})
	t.Run("unset variable", func(t *testing.T) {
		t.Setenv("WEBCHATID_TEST_KEY", "")
		_, err := keys.PrivateFromEnv("WEBCHATID_TEST_KEY")
		if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), "WEBCHATID_TEST_KEY is unset or empty") {
			t.Errorf("got %v, want an error naming the variable", err)
		}
	})
	t.Run("garbage names the variable, not the value", func(t *testing.T) {
		t.Setenv("WEBCHATID_TEST_KEY", "s3cret-not-a-key")
		_, err := keys.PrivateFromEnv("WEBCHATID_TEST_KEY")
		if err == nil || !strings.Contains(err.Error(), "WEBCHATID_TEST_KEY") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("got %v", err)
		}
	})
}

func TestFingerprintMatchesOpenSSL(t *testing.T) {
	got, err := keys.Fingerprint(&rsaKey(t, keyA).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got != fingerprintA {
		t.Errorf("got %s, want %s", got, fingerprintA)
	}
}

func TestPublicKeyPEMRoundTrip(t *testing.T) {
	pemBytes, err := keys.PublicPEM(&rsaKey(t, keyA).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(pemBytes), bytes.TrimSpace(readFile(t, pubA))) {
		t.Errorf("got %s, want the openssl -pubout output", pemBytes)
	}
}

func FuzzParsePrivatePEM(f *testing.F) {
	for _, name := range []string{keyA, keyB, keyEC, keyECv1, keyEd, pubA} {
		data, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keys.ParsePrivatePEM(data)
		if (k == nil) == (err == nil) {
			t.Fatalf("got key %T and error %v, want exactly one", k, err)
		}
		if err != nil && !errors.Is(err, keys.ErrInvalid) {
			t.Fatalf("got %v, want keys.ErrInvalid", err)
		}
		p, err := keys.ParsePublicPEM(data)
		if (p == nil) == (err == nil) {
			t.Fatalf("public: got key %T and error %v, want exactly one", p, err)
		}
	})
}

func TestParsePublicKeyPEMSaysWhatIsWrong(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantMsg string
	}{
		"a private key":   {string(readFile(t, keyA)), "holds RSA PRIVATE KEY blocks; need \"PUBLIC KEY\" or \"RSA PUBLIC KEY\""},
		"newlines lost":   {strings.ReplaceAll(string(readFile(t, pubA)), "\n", " "), "newlines lost"},
		"bare base64":     {"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "no -----BEGIN line"},
		"only whitespace": {" \n\t", "the data is empty"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := keys.ParsePublicPEM([]byte(tt.in))
			if k != nil || !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %T, %v; want nil and keys.ErrInvalid saying %q", k, err, tt.wantMsg)
			}
		})
	}
}
