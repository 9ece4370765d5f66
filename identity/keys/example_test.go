package keys_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log"
	"log/slog"
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

// A FileSource loads the keys from files (here the test keys; never use
// them for anything else) and, run with Watch, reloads them when the files
// change. OnChange hands each new set to the server, as
// identity.Server.Rotate does; on SIGHUP, call Reload.
func ExampleNewFileSource() {
	src, err := keys.NewFileSource(keys.FileSourceConfig{
		SigningKeyFiles: []string{"testdata/rsa2048-a.pem", "testdata/rsa2048-b.pkcs8.pem"}, // the first signs
		Logger:          slog.New(slog.DiscardHandler),
		OnChange: func(m keys.Material) error {
			fmt.Println("new keys:", len(m.SigningKeys))
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Watch(ctx) }() // returns when ctx is done

	fp, err := keys.Fingerprint(src.Material().SigningKeys[0].Public())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signing with sha256:", fp)
	// Output:
	// signing with sha256: fd8d60c18cdebc6051667f5633cf3f2576ef6537746565ce8cba40012773b533
}
