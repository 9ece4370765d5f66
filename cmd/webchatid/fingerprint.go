package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"os"

	"github.com/webchatid/webchatid/identity/keys"
)

var fingerprintCmd = command{
	name:    "fingerprint",
	args:    "KEYFILE...",
	summary: "print the kid and SHA-256 fingerprint of private or public key files",
}

func runFingerprint(_ context.Context, args []string, io stdio) int {
	c := fingerprintCmd
	fset := c.flags()
	if code, ok := c.parse(fset, args, io); !ok {
		return code
	}
	if fset.NArg() == 0 {
		return c.usageError(io, "no key file given")
	}
	code := exitOK
	for _, path := range fset.Args() {
		pub, private, err := loadKeyFile(path)
		if err != nil {
			code = c.fail(io, "%v", err)
			continue
		}
		_, kid, fp, err := describePublic(pub)
		if err != nil {
			code = c.fail(io, "%s: %v", path, err)
			continue
		}
		half, note := "public", ""
		if private {
			half = "private"
		}
		if _, isRSA := pub.(*rsa.PublicKey); !isRSA {
			note = "; IBM's web chat needs RSA"
		}
		fmt.Fprintf(io.out, "%s: kid=%s sha256=%s (%s %s key%s)\n", path, kid, fp, half, describeKey(pub), note)
	}
	return code
}

// loadKeyFile reads the first private or public key in a PEM file (PKCS#1,
// PKCS#8, SEC 1 or PKIX) and returns its public half. The error names the
// file, never its contents.
func loadKeyFile(path string) (pub crypto.PublicKey, private bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	if k, err := keys.ParsePrivatePEM(data); err == nil {
		return k.Public(), true, nil
	} else if !bytes.Contains(data, []byte("PUBLIC KEY-----")) {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	k, err := keys.ParsePublicPEM(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return k, false, nil
}

// describeKey names a key's type and size: "RSA 2048-bit".
func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}
