package claims_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/webchatid/webchatid/claims"
)

// loadKey reads a PKCS#8 PEM private key, as `openssl genrsa` writes it.
// The keys under testdata are for tests only: never use them.
func loadKey(path string) crypto.Signer {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatalf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	return key.(crypto.Signer)
}

// The claims of a token for a visitor who logged in during the chat: sub
// stays the anonymous ID, the user goes into user_payload.
func ExampleBuilder() {
	issued := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC) // normally omitted: time.Now()

	tok, err := claims.NewBuilder().
		Subject("anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d").
		IssuedAt(issued).
		UserPayload(map[string]string{"name": "Ada Lovelace", "custom_user_id": "user-1815"}).
		Build()
	if err != nil {
		log.Fatal(err)
	}
	out, err := json.Marshal(tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))

	_, err = claims.NewBuilder().Subject("ada@example.com; admin=1").Build()
	fmt.Println(err)
	// Output:
	// {"exp":1767326645,"iat":1767323015,"sub":"anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d","user_payload":{"custom_user_id":"user-1815","name":"Ada Lovelace"}}
	// claims: sub: value contains a byte outside visible ASCII or one of ; = , space " \ (at byte 15)
}

// Build, sign and hand the token to web chat; here it is checked with
// Verify as IBM's side would.
// A cache of signed tokens looks a token up by its claims' key, and builds
// and signs one only when it has none: two requests a minute apart with the
// same claims have the same key, a change of any claim gives another.
func ExampleBuilder_Check() {
	claimsAt := func(now time.Time, name string) *claims.Set {
		s, err := claims.NewBuilder().Subject("anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8").IssuedAt(now).
			UserPayload(map[string]string{"name": name}).Check()
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	first := claimsAt(now, "Anonymous")
	later := claimsAt(now.Add(time.Minute), "Anonymous")
	login := claimsAt(now.Add(time.Minute), "Cade")
	fmt.Println(string(first.AppendKey(nil)) == string(later.AppendKey(nil)))
	fmt.Println(string(first.AppendKey(nil)) == string(login.AppendKey(nil)))

	// Only on a miss: the token to sign.
	tok, err := login.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Subject(), tok.Expiration().Sub(tok.IssuedAt()))
	// Output:
	// true
	// false
	// anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8 1h0m30s
}

func ExampleBuilder_Sign() {
	key := loadKey("testdata/rsa2048.pem")
	signer, err := claims.NewSigner(key) // once, at start-up
	if err != nil {
		log.Fatal(err)
	}

	token, err := claims.NewBuilder().
		Subject("anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d").
		UserPayload(map[string]string{"custom_user_id": "user-1815"}).
		Sign(signer)
	if err != nil {
		log.Fatal(err)
	}

	tok, err := claims.Verify(token, signer.Public())
	if err != nil {
		log.Fatal(err)
	}
	payload, _ := tok.Get(claims.UserPayloadClaim)
	fmt.Println(tok.Subject(), payload)
	fmt.Println(tok.Expiration().Sub(tok.IssuedAt()))
	// Output:
	// anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d map[custom_user_id:user-1815]
	// 1h0m30s
}

func ExampleNewSigner() {
	key := loadKey("testdata/ec256.pem")
	signer, err := claims.NewSigner(key, claims.WithAlgorithm(jwa.ES256), claims.AllowNonIBMAlgorithms(), claims.WithKeyID("2026-01"))
	if err != nil {
		log.Fatal(err)
	}
	jwk := signer.PublicJWK() // for a JWKS document
	fmt.Println(signer.Algorithm(), signer.KeyID(), jwk.KeyType(), jwk.KeyUsage())

	// RSA keys under 2048 bits are refused.
	_, err = claims.NewSigner(loadKey("testdata/rsa1024.pem"))
	fmt.Println(err)
	// Output:
	// ES256 2026-01 EC sig
	// claims: NewSigner: RSA key shorter than 2048 bits: the key has 1024 bits
}

// Encrypt user_payload with IBM's public key (from the web chat Security
// tab); IBM decrypts it with node-rsa's defaults, as DecryptUserPayload does.
func ExampleEncryptUserPayload() {
	ibm := loadKey("testdata/rsa2048.pem") // a crypto.Signer; stands in for IBM's key pair

	ciphertext, err := claims.EncryptUserPayload(ibm.Public().(*rsa.PublicKey), map[string]string{
		"name":           "Ada & Co <ada>",
		"custom_user_id": "user-1815",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ciphertext), "base64 characters: one 256-byte block")

	text, err := claims.DecryptUserPayload(ibm, ciphertext) // the key as loaded: no type assertion
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(text))
	// Output:
	// 344 base64 characters: one 256-byte block
	// {"custom_user_id":"user-1815","name":"Ada & Co <ada>"}
}

func ExampleVerify() {
	signer, err := claims.NewSigner(loadKey("testdata/rsa2048.pem"))
	if err != nil {
		log.Fatal(err)
	}
	issued := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)
	token, err := claims.NewBuilder().Subject("anon-42").IssuedAt(issued).Sign(signer)
	if err != nil {
		log.Fatal(err)
	}

	tok, err := claims.Verify(token, signer.Public(), claims.WithClock(func() time.Time { return issued.Add(59 * time.Minute) }))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", tok.Subject(), tok.Expiration().UTC())

	_, err = claims.Verify(token, signer.Public(), claims.WithClock(func() time.Time { return issued.Add(2 * time.Hour) }))
	fmt.Println(err)
	// Output:
	// verified: anon-42 2026-01-02 04:04:05 +0000 UTC
	// claims: invalid token: "exp" not satisfied
}

// Inspect shows what a token carries, with user_payload decrypted, for a
// person to read: here a token whose payload only IBM's key can open. With
// WithVerifyKey it also checks the signature; without, it says so.
func ExampleInspect() {
	signer, err := claims.NewSigner(loadKey("testdata/rsa2048.pem"))
	if err != nil {
		log.Fatal(err)
	}
	ibm := loadKey("testdata/rsa4096.pem") // stands in for IBM's key pair
	issued := time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)
	token, err := claims.NewBuilder().Subject("anon-42").IssuedAt(issued).
		UserPayload(map[string]string{"name": "Cade", "custom_user_id": "cade-id"}).
		EncryptFor(ibm.Public().(*rsa.PublicKey), claims.NodeRSA).
		Sign(signer)
	if err != nil {
		log.Fatal(err)
	}

	in, err := claims.Inspect(token,
		claims.WithVerifyKey(signer.Public(), claims.WithClock(func() time.Time { return issued })),
		claims.WithPayloadKey(ibm))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alg:", in.Header["alg"], "sub:", in.Claims["sub"], "verified:", in.Verified)
	fmt.Println("encrypted:", in.Encrypted, "user_payload:", string(in.UserPayload))

	in, err = claims.Inspect(token) // no keys: nothing checked, payload left encrypted
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", in.Verified, "encrypted:", in.Encrypted, "decrypted:", in.UserPayload != nil)
	// Output:
	// alg: RS256 sub: anon-42 verified: true
	// encrypted: true user_payload: {"custom_user_id":"cade-id","name":"Cade"}
	// verified: false encrypted: true decrypted: false
}
