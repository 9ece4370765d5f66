package keys_test

import (
	"crypto/rsa"
	"fmt"
	"log"
	"os"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
)

// Keys usually come from a file or an environment variable; the fingerprint
// is what to compare with the key pasted into IBM's Security tab
// (openssl pkey -pubin -in public.pem -outform DER | sha256sum).
func ExampleParsePrivatePEM() {
	data, err := os.ReadFile("testdata/rsa2048-a.pem") // a test key; never use it for anything else
	if err != nil {
		log.Fatal(err)
	}
	key, err := keys.ParsePrivatePEM(data)
	if err != nil {
		log.Fatal(err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		log.Fatalf("got a %T, want an RSA key", key)
	}
	fp, err := keys.Fingerprint(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	kid, err := claims.KeyID(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rsaKey.N.BitLen(), "bits")
	fmt.Println("sha256:", fp)
	fmt.Println("kid:", kid)
	// Output:
	// 2048 bits
	// sha256: fd8d60c18cdebc6051667f5633cf3f2576ef6537746565ce8cba40012773b533
	// kid: CEE5NLS6stGacJMYcsAqjJYsyrtxB74mmb-Z1El5ceo
}
