package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
)

var keygenCmd = command{
	name:    "keygen",
	args:    "[-bits 2048|3072|4096] [-out FILE]",
	summary: "create an RSA signing key and print its public key for IBM's Security tab",
}

// keygenBits are the key sizes keygen makes: 2048 is IBM's example, 4096
// what IBM recommends for watsonx Orchestrate.
var keygenBits = map[int]bool{2048: true, 3072: true, 4096: true}

func runKeygen(_ context.Context, args []string, io stdio) int {
	c := keygenCmd
	fset := c.flags()
	bits := fset.Int("bits", 2048, "RSA key size in bits: `2048`, 3072 or 4096 (IBM recommends 4096 for watsonx Orchestrate)")
	out := fset.String("out", "key.pem", "`file` to write the private key to (PKCS#8 PEM, mode 0600); an existing file is never overwritten")
	if code, ok := c.parse(fset, args, io); !ok {
		return code
	}
	if fset.NArg() > 0 {
		return c.usageError(io, "unexpected argument %q", fset.Arg(0))
	}
	if !keygenBits[*bits] {
		return c.usageError(io, "-bits %d: want 2048, 3072 or 4096", *bits)
	}
	if *out == "" {
		return c.usageError(io, "-out: empty file name")
	}
	key, err := rsa.GenerateKey(rand.Reader, *bits)
	if err != nil {
		return c.fail(io, "generating the key: %v", err)
	}
	if err := writePrivateKey(*out, key); err != nil {
		return c.fail(io, "%v", err)
	}
	pub, kid, fp, err := describePublic(&key.PublicKey)
	if err != nil {
		return c.fail(io, "%v", err)
	}
	fmt.Fprintf(io.err, "webchatid keygen: wrote the %d-bit private key to %s (mode 0600); keep it secret, give it only to the app\n", *bits, *out)
	fmt.Fprintf(io.out, "Paste this public key into the Security tab of IBM's web chat settings:\n\n%s\nkid=%s sha256=%s\n", pub, kid, fp)
	return exitOK
}

// writePrivateKey writes key to a new file at path, readable by its owner
// only. It refuses to replace an existing file, and removes what it wrote
// when writing fails.
func writePrivateKey(path string, key *rsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it (choose another -out)", path)
	}
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// describePublic returns pub as the PEM text IBM's Security tab takes, and
// its kid and SHA-256 fingerprint, the values identity.New logs for a
// signing key (unless the app set the key's KeyID itself).
func describePublic(pub any) (pemText []byte, kid, fp string, err error) {
	if pemText, err = keys.PublicPEM(pub); err != nil {
		return nil, "", "", err
	}
	if kid, err = claims.KeyID(pub); err != nil {
		return nil, "", "", err
	}
	if fp, err = keys.Fingerprint(pub); err != nil {
		return nil, "", "", err
	}
	return pemText, kid, fp, nil
}
