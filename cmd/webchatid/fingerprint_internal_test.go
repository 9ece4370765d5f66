package main

import (
	"strings"
	"testing"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
)

func TestFingerprint(t *testing.T) {
	files := []string{
		"testdata/rsa2048-a.pem",           // PKCS#1 private
		"testdata/rsa2048-a.pub.pem",       // PKIX public
		"testdata/rsa2048-a.pkcs1.pub.pem", // PKCS#1 public
		"testdata/rsa2048-b.pkcs8.pem",     // PKCS#8 private
		"testdata/not-a-key.pem",
		"testdata/missing.pem",
		"testdata/ec-p256.pkcs8.pem",
	}
	r := runWith(t, "", append([]string{"fingerprint"}, files...)...)
	if r.code != exitFail {
		t.Errorf("exit %d, want 1 (two files are bad)", r.code)
	}
	golden(t, "fingerprint", r.out)
	golden(t, "fingerprint_stderr", r.errOut)
	for _, bad := range []string{"testdata/not-a-key.pem", "testdata/missing.pem"} {
		if !strings.Contains(r.errOut, bad) {
			t.Errorf("stderr does not name %s:\n%s", bad, r.errOut)
		}
	}

	// Every form of key a gives the same kid and fingerprint, the ones
	// claims.KeyID and keys.Fingerprint compute.
	pub, err := keys.LoadPublicFile("testdata/rsa2048-a.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := claims.KeyID(pub)
	fp, _ := keys.Fingerprint(pub)
	want := "kid=" + kid + " sha256=" + fp
	lines := strings.Split(r.out, "\n")
	for i := range 3 {
		if !strings.HasPrefix(lines[i], files[i]+": "+want+" ") {
			t.Errorf("line %d = %q, want %s: %s ...", i, lines[i], files[i], want)
		}
	}
	if strings.Contains(lines[3], want) {
		t.Errorf("key b has key a's kid: %q", lines[3])
	}
}

func TestFingerprintNeedsAFile(t *testing.T) {
	if r := runWith(t, "", "fingerprint"); r.code != exitUsage || r.out != "" {
		t.Errorf("no file: exit %d, stdout %q; want 2 and nothing", r.code, r.out)
	}
}
