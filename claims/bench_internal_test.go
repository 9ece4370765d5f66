package claims

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
)

// benchUser is the typical user_payload of a logged-in visitor.
var benchUser = map[string]string{"name": "Ada Lovelace", "custom_user_id": "user-1815"}

func benchBuilder() *Builder {
	return NewBuilder().Subject(testAnonID).UserPayload(benchUser)
}

// BenchmarkBuildAndSign is the whole token path for a typical token: build,
// serialize and sign RS256 with a 2048-bit key. Compare with
// BenchmarkRSASignOnly: the difference is everything but the RSA signature.
func BenchmarkBuildAndSign(b *testing.B) {
	s := testSigner(b, "rsa2048")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchBuilder().Sign(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSASignOnly is the floor: SHA-256 and rsa.SignPKCS1v15 over an
// input the size of the typical token's signing input.
func BenchmarkRSASignOnly(b *testing.B) {
	key := testRSA(b, "rsa2048")
	token, err := benchBuilder().Sign(testSigner(b, "rsa2048"))
	if err != nil {
		b.Fatal(err)
	}
	input := []byte(token[:strings.LastIndexByte(token, '.')])
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(input)
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildOnly is Build alone: validation, JSON of user_payload and
// the jwt.Token.
func BenchmarkBuildOnly(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchBuilder().Build(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignOverhead is the token path with a signer that returns a
// fixed signature at once: what BenchmarkBuildAndSign costs on top of the
// RSA signature, measured directly.
func BenchmarkSignOverhead(b *testing.B) {
	key := testRSA(b, "rsa2048")
	s, err := NewSigner(fixedSigner{key})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := benchBuilder().Sign(s); err != nil {
			b.Fatal(err)
		}
	}
}

// fixedSigner is an RSA crypto.Signer that skips the RSA operation.
type fixedSigner struct{ key *rsa.PrivateKey }

func (f fixedSigner) Public() crypto.PublicKey { return &f.key.PublicKey }
func (f fixedSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return make([]byte, f.key.Size()), nil
}

func BenchmarkEncryptUserPayload(b *testing.B) {
	pub := &testRSA(b, "rsa2048").PublicKey
	for _, size := range []struct {
		name string
		n    int
	}{{"200B", 200}, {"5KB", 5 * 1024}} {
		v := sized(b, size.n)
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size.n))
			for b.Loop() {
				if _, err := EncryptUserPayload(pub, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptUserPayload(b *testing.B) {
	priv := testRSA(b, "rsa2048")
	ct, err := EncryptUserPayload(&priv.PublicKey, sized(b, 200))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecryptUserPayload(priv, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s := testSigner(b, "rsa2048")
	token, err := benchBuilder().Sign(s)
	if err != nil {
		b.Fatal(err)
	}
	pub := s.Public()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(token, pub); err != nil {
			b.Fatal(err)
		}
	}
}
