package keys_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/identity/keys"
)

// secret32 is a fixed 32-byte test secret with bytes outside printable
// ASCII, whitespace at both ends included; never use it for anything else.
var secret32 = []byte("\n\x00\x9f\xe2secret-for-tests-only\xff\xfe\x80\x81\x82\x83\t")

func TestParseSecret(t *testing.T) {
	if len(secret32) != 32 {
		t.Fatalf("secret32 is %d bytes", len(secret32))
	}
	tests := map[string][]byte{
		"raw bytes, edges kept":      secret32,
		"hex with a newline":         []byte(hex.EncodeToString(secret32) + "\n"),
		"upper-case hex":             []byte(strings.ToUpper(hex.EncodeToString(secret32))),
		"base64 with a newline":      []byte(base64.StdEncoding.EncodeToString(secret32) + "\n"),
		"base64 without padding":     []byte(base64.RawStdEncoding.EncodeToString(secret32)),
		"base64url":                  []byte(base64.URLEncoding.EncodeToString(secret32)),
		"base64 with CRLF and space": []byte("  " + base64.StdEncoding.EncodeToString(secret32) + "\r\n"),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := keys.ParseSecret(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, secret32) {
				t.Errorf("got %x, want %x", got, secret32)
			}
		})
	}
}

func TestParseSecretRefuses(t *testing.T) {
	tests := map[string]struct {
		in      []byte
		wantMsg string
	}{
		"empty":              {nil, "secret is empty"},
		"only whitespace":    {[]byte(" \n"), "secret is empty"},
		"16 raw bytes":       {secret32[:16], "secret is 16 bytes, need at least 32"},
		"16 bytes as hex":    {[]byte(hex.EncodeToString(secret32[:16])), "secret is 16 bytes"},
		"odd hex":            {[]byte(hex.EncodeToString(secret32)[:63]), "odd number"},
		"a passphrase":       {[]byte("correct horse battery staple, and then some more words"), "neither hex nor base64"},
		"all zeros":          {make([]byte, 32), "all zeros"},
		"all zeros as hex":   {[]byte(strings.Repeat("00", 32)), "all zeros"},
		"16 bytes as base64": {[]byte(base64.StdEncoding.EncodeToString(secret32[:16])), "secret is 16 bytes"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := keys.ParseSecret(tt.in)
			if k != nil || !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %x, %v; want nil and keys.ErrInvalid saying %q", k, err, tt.wantMsg)
			}
		})
	}
}

func TestLoadSecretFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.key"), filepath.Join(dir, "bad.key")
	if err := os.WriteFile(good, []byte(hex.EncodeToString(secret32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("s3cret-passphrase-that-must-not-be-logged"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := keys.LoadSecretFile(good); err != nil || !bytes.Equal(k, secret32) {
		t.Errorf("got %x, %v; want the secret", k, err)
	}
	_, err := keys.LoadSecretFile(bad)
	if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %v, want keys.ErrInvalid naming the path and not the contents", err)
	}
	if _, err := keys.LoadSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
}

func FuzzParseSecret(f *testing.F) {
	f.Add(secret32)
	f.Add([]byte(hex.EncodeToString(secret32)))
	f.Add([]byte(base64.StdEncoding.EncodeToString(secret32)))
	f.Add([]byte("===="))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keys.ParseSecret(data)
		if (k == nil) == (err == nil) {
			t.Fatalf("got %x and %v, want exactly one", k, err)
		}
		if err != nil && !errors.Is(err, keys.ErrInvalid) {
			t.Fatalf("got %v, want keys.ErrInvalid", err)
		}
		if err == nil && len(k) < keys.MinSecretLen {
			t.Fatalf("accepted a %d-byte secret", len(k))
		}
	})
}
