package keys_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/internal/leakcheck"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// Other fixed test secrets (never use them for anything else).
var (
	sessionA = bytes.Repeat([]byte{0xa1}, 32)
	sessionB = bytes.Repeat([]byte{0xb2}, 32)
	bindingA = bytes.Repeat([]byte{0xc3}, 40)
)

// secretDir is a directory laid out as Kubernetes mounts a Secret: the
// files are symlinks into ..data, itself a symlink to a timestamped
// directory that an update replaces by swapping ..data atomically.
type secretDir struct {
	t   *testing.T
	dir string
	gen int
}

func newSecretDir(t *testing.T, files map[string][]byte) *secretDir {
	t.Helper()
	d := &secretDir{t: t, dir: t.TempDir()}
	d.swap(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *secretDir) path(name string) string { return filepath.Join(d.dir, name) }

// swap writes files into a new timestamped directory and points ..data at
// it with one rename, as kubelet's AtomicWriter does.
func (d *secretDir) swap(files map[string][]byte) {
	d.t.Helper()
	d.gen++
	ts := fmt.Sprintf("..2026_12_02_00_00_%02d.%d", d.gen, d.gen)
	if err := os.Mkdir(filepath.Join(d.dir, ts), 0o700); err != nil {
		d.t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(d.dir, ts, name), data, 0o600); err != nil {
			d.t.Fatal(err)
		}
	}
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		d.t.Fatal(err)
	}
}

func hexText(b []byte) []byte { return []byte(hex.EncodeToString(b) + "\n") }

// writeFile replaces path's contents by writing a temporary file beside it
// and renaming it over path, as systemd and most deploy tools do.
func renameOver(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func rewriteInPlace(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// kid is the kid claims.KeyID gives k's public key.
func kid(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	return mustKid(t, k.Public())
}

// wantSigning fails t unless m's signing keys are want, in order.
func wantSigning(t *testing.T, m keys.Material, want ...*rsa.PrivateKey) {
	t.Helper()
	if len(m.SigningKeys) != len(want) {
		t.Fatalf("got %d signing keys, want %d", len(m.SigningKeys), len(want))
	}
	for i, w := range want {
		if !w.PublicKey.Equal(m.SigningKeys[i].Public()) {
			t.Errorf("signing key %d: got kid %s, want %s", i, mustKid(t, m.SigningKeys[i].Public()), kid(t, w))
		}
	}
}

func mustKid(t *testing.T, pub any) string {
	t.Helper()
	id, err := claims.KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFileSourceLoads(t *testing.T) {
	var logs logbuf.Buffer
	d := newSecretDir(t, map[string][]byte{"a.pem": readFile(t, keyA), "b.pem": readFile(t, keyB), "session": sessionA, "binding": hexText(bindingA)})
	src, err := keys.NewFileSource(keys.FileSourceConfig{
		SigningKeyFiles: []string{d.path("a.pem"), d.path("b.pem")},
		SessionKeyFiles: []string{d.path("session")},
		BindingKeyFiles: []string{d.path("binding")},
		Logger:          slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := src.Material()
	wantSigning(t, m, rsaKey(t, keyA), rsaKey(t, keyB))
	if len(m.SessionKeys) != 1 || !bytes.Equal(m.SessionKeys[0], sessionA) || len(m.BindingKeys) != 1 || !bytes.Equal(m.BindingKeys[0], bindingA) {
		t.Errorf("got session keys %x, binding keys %x", m.SessionKeys, m.BindingKeys)
	}
	// The log names each key as identity.New does: kid (claims.KeyID) and
	// the openssl fingerprint.
	for _, want := range []string{"role=active kid=" + kid(t, rsaKey(t, keyA)) + " sha256=" + fingerprintA, "role=verify-only kid=" + kid(t, rsaKey(t, keyB))} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if s := src.Stats(); s != (keys.FileSourceStats{}) {
		t.Errorf("got %+v, want no reloads yet", s)
	}
	// Material is the caller's copy.
	m.SigningKeys[0] = nil
	wantSigning(t, src.Material(), rsaKey(t, keyA), rsaKey(t, keyB))
}

func TestNewFileSourceRefuses(t *testing.T) {
	dir := t.TempDir()
	weak := filepath.Join("testdata", "rsa1024-weak.pem")
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, sessionA[:31], 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join("testdata", keyA)
	tests := map[string]struct {
		cfg     keys.FileSourceConfig
		wantMsg string
	}{
		"no files":         {keys.FileSourceConfig{}, "FileSourceConfig: no files"},
		"negative":         {keys.FileSourceConfig{SigningKeyFiles: []string{good}, Interval: -time.Second}, "Interval: -1s is negative"},
		"a 1024-bit key":   {keys.FileSourceConfig{SigningKeyFiles: []string{weak}}, weak + ": RSA key is 1024 bits, need at least 2048"},
		"an EC key":        {keys.FileSourceConfig{SigningKeyFiles: []string{filepath.Join("testdata", keyEC)}}, "need RSA"},
		"a short secret":   {keys.FileSourceConfig{SigningKeyFiles: []string{good}, BindingKeyFiles: []string{short}}, short + ": secret is 31 bytes"},
		"a missing secret": {keys.FileSourceConfig{SigningKeyFiles: []string{good}, SessionKeyFiles: []string{filepath.Join(dir, "nope")}}, "no such file"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			src, err := keys.NewFileSource(tt.cfg)
			if src != nil || err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want an error saying %q", err, tt.wantMsg)
			}
		})
	}
}

func TestFileSourceReloadsChangedFiles(t *testing.T) {
	a, b := readFile(t, keyA), readFile(t, keyB)
	tests := map[string]func(t *testing.T) (cfg keys.FileSourceConfig, change func()){
		"kubernetes ..data symlink swap": func(t *testing.T) (keys.FileSourceConfig, func()) {
			d := newSecretDir(t, map[string][]byte{"signing.pem": a, "old.pem": b, "session": sessionA})
			cfg := keys.FileSourceConfig{SigningKeyFiles: []string{d.path("signing.pem"), d.path("old.pem")}, SessionKeyFiles: []string{d.path("session")}}
			return cfg, func() { d.swap(map[string][]byte{"signing.pem": b, "old.pem": a, "session": sessionB}) }
		},
		"rename over the files": func(t *testing.T) (keys.FileSourceConfig, func()) {
			dir := t.TempDir()
			s, o, k := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "old.pem"), filepath.Join(dir, "session")
			renameOver(t, s, a)
			renameOver(t, o, b)
			renameOver(t, k, hexText(sessionA))
			cfg := keys.FileSourceConfig{SigningKeyFiles: []string{s, o}, SessionKeyFiles: []string{k}}
			return cfg, func() { renameOver(t, s, b); renameOver(t, o, a); renameOver(t, k, hexText(sessionB)) }
		},
		"in-place rewrite": func(t *testing.T) (keys.FileSourceConfig, func()) {
			dir := t.TempDir()
			s, o, k := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "old.pem"), filepath.Join(dir, "session")
			renameOver(t, s, a)
			renameOver(t, o, b)
			renameOver(t, k, sessionA)
			cfg := keys.FileSourceConfig{SigningKeyFiles: []string{s, o}, SessionKeyFiles: []string{k}}
			return cfg, func() { rewriteInPlace(t, s, b); rewriteInPlace(t, o, a); rewriteInPlace(t, k, sessionB) }
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			var logs logbuf.Buffer
			var got []keys.Material
			cfg, change := setup(t)
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			cfg.OnChange = func(m keys.Material) error { got = append(got, m); return nil }
			src, err := keys.NewFileSource(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := src.Reload(); err != nil || len(got) != 0 || src.Stats().Reloads != 0 {
				t.Fatalf("unchanged files: got %v, %d OnChange calls, %+v; want a no-op", err, len(got), src.Stats())
			}
			change()
			if err := src.Reload(); err != nil {
				t.Fatal(err)
			}
			wantSigning(t, src.Material(), rsaKey(t, keyB), rsaKey(t, keyA))
			if m := src.Material(); !bytes.Equal(m.SessionKeys[0], sessionB) {
				t.Errorf("session key: got %x, want %x", m.SessionKeys[0], sessionB)
			}
			if len(got) != 1 {
				t.Fatalf("OnChange called %d times, want once", len(got))
			}
			wantSigning(t, got[0], rsaKey(t, keyB), rsaKey(t, keyA))
			if s := src.Stats(); s != (keys.FileSourceStats{Reloads: 1}) {
				t.Errorf("got %+v, want one reload", s)
			}
			if want := `msg="keys: keys reloaded" role=active kid=` + kid(t, rsaKey(t, keyB)); !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
			if l := logs.String(); strings.Contains(l, hex.EncodeToString(sessionB)) || strings.Contains(l, "PRIVATE KEY") {
				t.Errorf("log holds key material:\n%s", l)
			}
		})
	}
}

func TestFileSourceBadChangeKeepsOldKeys(t *testing.T) {
	a, b := readFile(t, keyA), readFile(t, keyB)
	bindingB := bytes.Repeat([]byte{0xd4}, 32)
	tests := map[string]struct {
		files    map[string][]byte // the change; nil value: the file is removed
		onChange error
		wantMsg  string
	}{
		"unparsable PEM":                {files: map[string][]byte{"signing.pem": b[:200]}, wantMsg: "signing key " + "%s/signing.pem: "},
		"a 1024-bit key":                {files: map[string][]byte{"signing.pem": readFile(t, "rsa1024-weak.pem")}, wantMsg: "RSA key is 1024 bits"},
		"a public key":                  {files: map[string][]byte{"signing.pem": readFile(t, pubA)}, wantMsg: "holds PUBLIC KEY blocks"},
		"a short binding key":           {files: map[string][]byte{"binding": bindingB[:20]}, wantMsg: "%s/binding: secret is 20 bytes"},
		"a 40-byte session key":         {files: map[string][]byte{"session": bindingA}, wantMsg: "%s/session: is 40 bytes, need exactly 32"},
		"a missing file":                {files: map[string][]byte{"old.pem": nil}, wantMsg: "no such file"},
		"the session key reused":        {files: map[string][]byte{"binding": sessionB, "session": sessionB}, wantMsg: "a session key is also a binding key"},
		"OnChange refuses the new keys": {files: map[string][]byte{"signing.pem": b, "old.pem": a}, onChange: errors.New("app says no"), wantMsg: "OnChange refused the new keys: app says no"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var logs logbuf.Buffer
			dir := t.TempDir()
			init := map[string][]byte{"signing.pem": a, "old.pem": b, "session": sessionA, "binding": bindingA}
			path := func(n string) string { return filepath.Join(dir, n) }
			for n, data := range init {
				renameOver(t, path(n), data)
			}
			calls := 0
			src, err := keys.NewFileSource(keys.FileSourceConfig{
				SigningKeyFiles: []string{path("signing.pem"), path("old.pem")},
				SessionKeyFiles: []string{path("session")},
				BindingKeyFiles: []string{path("binding")},
				Logger:          slog.New(slog.NewTextHandler(&logs, nil)),
				OnChange:        func(keys.Material) error { calls++; return tt.onChange },
			})
			if err != nil {
				t.Fatal(err)
			}
			for n, data := range tt.files {
				if data == nil {
					if err := os.Remove(path(n)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				renameOver(t, path(n), data)
			}
			wantMsg := strings.ReplaceAll(tt.wantMsg, "%s", dir)
			err = src.Reload()
			if err == nil || !strings.Contains(err.Error(), wantMsg) {
				t.Fatalf("got %v, want an error saying %q", err, wantMsg)
			}
			if tt.onChange == nil && calls != 0 {
				t.Errorf("OnChange called for bad files")
			}
			m := src.Material()
			wantSigning(t, m, rsaKey(t, keyA), rsaKey(t, keyB))
			if !bytes.Equal(m.SessionKeys[0], sessionA) || !bytes.Equal(m.BindingKeys[0], bindingA) {
				t.Errorf("secrets changed: got %x, %x", m.SessionKeys, m.BindingKeys)
			}
			if s := src.Stats(); s != (keys.FileSourceStats{Failures: 1}) {
				t.Errorf("got %+v, want one failure", s)
			}
			l := logs.String()
			if !strings.Contains(l, `msg="keys: reload failed; keeping the previous keys"`) || !strings.Contains(l, wantMsg) {
				t.Errorf("log lacks the failure and its cause %q:\n%s", wantMsg, l)
			}
			for _, secret := range [][]byte{sessionA, sessionB, bindingA, bindingB} {
				if strings.Contains(l, hex.EncodeToString(secret)) || strings.Contains(l, string(secret)) {
					t.Errorf("log holds a secret:\n%s", l)
				}
			}
			if strings.Contains(l, "MII") {
				t.Errorf("log holds PEM text:\n%s", l)
			}
		})
	}
}

// Watch picks up a change on its own, counts a bad set of files once however
// often it looks, and loads the fixed files; synctest's clock makes the
// looks happen without waiting.
func TestFileSourceWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		s := filepath.Join(dir, "signing.pem")
		renameOver(t, s, readFile(t, keyA))
		src, err := keys.NewFileSource(keys.FileSourceConfig{SigningKeyFiles: []string{s}, Interval: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- src.Watch(ctx) }()

		renameOver(t, s, []byte("garbage"))
		time.Sleep(45 * time.Second) // four looks
		synctest.Wait()
		if got := src.Stats(); got != (keys.FileSourceStats{Failures: 1}) {
			t.Errorf("after four looks at one bad file: got %+v, want one failure", got)
		}
		wantSigning(t, src.Material(), rsaKey(t, keyA))

		renameOver(t, s, readFile(t, keyB))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := src.Stats(); got != (keys.FileSourceStats{Reloads: 1, Failures: 1}) {
			t.Errorf("after the fix: got %+v, want one reload", got)
		}
		wantSigning(t, src.Material(), rsaKey(t, keyB))

		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
}

// Watch, on the real clock, reloads a Kubernetes-style swap and leaves no
// goroutine behind once its context is done.
func TestFileSourceWatchLeavesNoGoroutine(t *testing.T) {
	leakcheck.Check(t)
	d := newSecretDir(t, map[string][]byte{"signing.pem": readFile(t, keyA)})
	src, err := keys.NewFileSource(keys.FileSourceConfig{SigningKeyFiles: []string{d.path("signing.pem")}, Interval: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- src.Watch(ctx) }()
	d.swap(map[string][]byte{"signing.pem": readFile(t, keyB)})
	for deadline := time.Now().Add(time.Minute); src.Stats().Reloads == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not reload the swapped file within a minute")
		}
	}
	wantSigning(t, src.Material(), rsaKey(t, keyB))
	cancel()
	<-done
}

// keyID in this package must give the kid claims.KeyID gives.
func TestFileSourceKidIsClaimsKeyID(t *testing.T) {
	var logs logbuf.Buffer
	for _, name := range []string{keyA, keyB, keyIBM} {
		if _, err := keys.NewFileSource(keys.FileSourceConfig{SigningKeyFiles: []string{filepath.Join("testdata", name)}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		if want := "kid=" + kid(t, rsaKey(t, name)) + " "; !strings.Contains(logs.String(), want) {
			t.Errorf("%s: log lacks %q:\n%s", name, want, logs.String())
		}
	}
}

// The same key in two files (signing.pem and previous.pem between
// rotations) is listed once, so that a fixed pair of files can always be
// loaded.
func TestFileSourceListsAKeyOnce(t *testing.T) {
	dir := t.TempDir()
	s, p, k1, k2 := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "previous.pem"), filepath.Join(dir, "session"), filepath.Join(dir, "session.previous")
	renameOver(t, s, readFile(t, keyA))
	renameOver(t, p, readFile(t, keyA))
	renameOver(t, k1, sessionA)
	renameOver(t, k2, hexText(sessionA))
	src, err := keys.NewFileSource(keys.FileSourceConfig{SigningKeyFiles: []string{s, p}, SessionKeyFiles: []string{k1, k2}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wantSigning(t, src.Material(), rsaKey(t, keyA))
	if got := len(src.Material().SessionKeys); got != 1 {
		t.Errorf("got %d session keys, want 1", got)
	}
	renameOver(t, s, readFile(t, keyB))
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	wantSigning(t, src.Material(), rsaKey(t, keyB), rsaKey(t, keyA))
}
