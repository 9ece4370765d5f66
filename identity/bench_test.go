package identity_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
)

// The token path's budget: everything besides the RSA signature should cost
// under 5 % of it. Compare BenchmarkTokenHandler* with BenchmarkRawSignRS256,
// which is only the signature (rsa.SignPKCS1v15 over the SHA-256 of a
// token-sized input), e.g.
//
//	go test -run '^$' -bench . -benchtime 2s ./identity/

func BenchmarkRawSignRS256(b *testing.B) {
	key := rsaKey(b, keyA)
	input := []byte(strings.Repeat("x", 420)) // about a token's header.payload
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(input)
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaimsSign is the claims package alone: build and sign.
func BenchmarkClaimsSign(b *testing.B) {
	signer, err := claims.NewSigner(rsaKey(b, keyA), claims.WithKeyID("k"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, err := claims.NewBuilder().Subject("anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8").
			UserPayload(map[string]string{"name": "Anonymous", "custom_user_id": "anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8"}).
			Sign(signer)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchHandler(b *testing.B, cfg identity.Config, prepare func(*client)) {
	srv := newServer(b, cfg)
	c := newClient(b, srv)
	prepare(c)
	req := httptest.NewRequest("GET", "/createJWT", nil)
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d", rec.Code)
		}
	}
}

// BenchmarkTokenHandler is a returning anonymous visitor: cookie check and
// renewal, claims, signature, response.
func BenchmarkTokenHandler(b *testing.B) {
	benchHandler(b, identity.Config{}, func(c *client) { c.token() })
}

// BenchmarkTokenHandlerNewVisitor adds generating the anonymous ID.
func BenchmarkTokenHandlerNewVisitor(b *testing.B) {
	benchHandler(b, identity.Config{}, func(c *client) {})
}

// BenchmarkTokenHandlerLoggedIn adds opening the sealed session cookie and
// the ledger recorder's no-op check.
func BenchmarkTokenHandlerLoggedIn(b *testing.B) {
	benchHandler(b, identity.Config{Ledger: &fakeLedger{}}, func(c *client) {
		c.token()
		c.do("POST", "/authenticate")
		if _, ok := c.cookies[identity.DefaultSessionCookie]; !ok {
			b.Fatal("no session cookie")
		}
		if _, ok := c.cookies[cookie.DefaultName]; !ok {
			b.Fatal("no anonymous cookie")
		}
	})
}

// BenchmarkTokenHandlerEncrypted adds encrypting user_payload for IBM
// (one RSA public-key operation).
func BenchmarkTokenHandlerEncrypted(b *testing.B) {
	benchHandler(b, identity.Config{IBMPublicKey: &rsaKey(b, keyIBM).PublicKey}, func(c *client) { c.token() })
}

// stubSigner signs for real once (New's self-test), then returns a fixed
// signature, so a benchmark sees the token path's cost without the RSA
// private-key operation.
type stubSigner struct {
	*rsa.PrivateKey
	calls atomic.Int64
	sig   []byte
}

func (s *stubSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.calls.Add(1) == 1 {
		return s.PrivateKey.Sign(r, digest, opts)
	}
	return append([]byte(nil), s.sig...), nil
}

// BenchmarkTokenHandlerWithoutRSA is BenchmarkTokenHandler minus the RSA
// signature: its time divided by BenchmarkRawSignRS256's is the overhead
// the library adds to the signature.
func BenchmarkTokenHandlerWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}}, func(c *client) {
		c.do("GET", "/createJWT")
	})
}

// BenchmarkTokenHandlerLoggedInWithoutRSA is the logged-in path (sealed
// session cookie, ledger recorder) minus the RSA signature.
func BenchmarkTokenHandlerLoggedInWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}, Ledger: &fakeLedger{}}, func(c *client) {
		c.do("GET", "/createJWT")
		c.do("POST", "/authenticate")
	})
}

// BenchmarkTokenHandlerEncryptedWithoutRSA adds encrypting user_payload
// (one RSA public-key operation) to BenchmarkTokenHandlerWithoutRSA.
func BenchmarkTokenHandlerEncryptedWithoutRSA(b *testing.B) {
	key := rsaKey(b, keyA)
	stub := &stubSigner{PrivateKey: key, sig: make([]byte, key.Size())}
	benchHandler(b, identity.Config{SigningKeys: []identity.SigningKey{{Key: stub}}, IBMPublicKey: &rsaKey(b, keyIBM).PublicKey}, func(c *client) {
		c.do("GET", "/createJWT")
	})
}
