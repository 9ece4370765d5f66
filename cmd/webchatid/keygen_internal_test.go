package main

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.pem")
	r := runWith(t, "", "keygen", "-out", path)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}

	// The private key: PKCS#8, 2048 bits, readable by its owner only.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %v, want 0600", mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("key file: want one PRIVATE KEY (PKCS#8) block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok || key.N.BitLen() != 2048 {
		t.Fatalf("key file holds %T, want a 2048-bit RSA key", parsed)
	}

	// stdout: the public half, and the kid and sha256 identity.New logs.
	wantPEM, err := keys.PublicPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.out, string(wantPEM)) {
		t.Errorf("stdout lacks the key's public PEM:\n%s", r.out)
	}
	if pub, err := keys.ParsePublicPEM([]byte(r.out)); err != nil || !key.PublicKey.Equal(pub) {
		t.Errorf("stdout does not parse as the key's public PEM: %v", err)
	}
	var logs bytes.Buffer
	_, err = identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`identity: signing key".* kid=(\S+) .*sha256=([0-9a-f]+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("identity.New logged no signing key line:\n%s", logs.String())
	}
	kidLine := "kid=" + m[1] + " sha256=" + m[2] + "\n"
	if !strings.HasSuffix(r.out, kidLine) {
		t.Errorf("stdout ends %q, want what identity.New logs: %q", lastLine(r.out), kidLine)
	}
	if kid, _ := claims.KeyID(&key.PublicKey); m[1] != kid {
		t.Errorf("logged kid %s, claims.KeyID %s", m[1], kid)
	}

	// The structure, with the random parts replaced.
	out := strings.Replace(r.out, string(wantPEM), "<public PEM>\n", 1)
	out = strings.Replace(out, kidLine, "kid=<kid> sha256=<sha256>\n", 1)
	golden(t, "keygen", out)
	golden(t, "keygen_stderr", strings.ReplaceAll(r.errOut, path, "<FILE>"))

	// A second run never overwrites the key.
	again := runWith(t, "", "keygen", "-out", path)
	if again.code != exitFail || again.out != "" || !strings.Contains(again.errOut, "already exists") {
		t.Errorf("second keygen to the same file: exit %d, stdout %q, stderr %q; want exit 1 and an error", again.code, again.out, again.errOut)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
		t.Error("the second keygen changed the key file")
	}
}

func TestKeygenRefusesOtherSizes(t *testing.T) {
	dir := t.TempDir()
	for _, bits := range []string{"1024", "2047", "8192", "0"} {
		path := filepath.Join(dir, bits+".pem")
		r := runWith(t, "", "keygen", "-bits", bits, "-out", path)
		if r.code != exitUsage || !strings.Contains(r.errOut, "want 2048, 3072 or 4096") {
			t.Errorf("-bits %s: exit %d, stderr %q; want exit 2 naming the sizes", bits, r.code, r.errOut)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("-bits %s wrote a key file", bits)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:] + "\n"
}
