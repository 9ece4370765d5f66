package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

// fileList is a flag that may be repeated: -key a.pem -key b.pem.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }

func (f *fileList) Set(v string) error {
	if v == "" {
		return errors.New("empty file name")
	}
	*f = append(*f, v)
	return nil
}

// demoKeys are the demo's keys and, when any came from files, the source
// that reloads them.
type demoKeys struct {
	signing []crypto.Signer
	session [][]byte
	binding [][]byte
	src     *keys.FileSource // nil: no key files given
	srv     atomic.Pointer[identity.Server]
}

// rotate is the source's OnChange: it hands the new keys to the Server, which
// checks them all before it swaps any.
func (k *demoKeys) rotate(m keys.Material) error {
	srv := k.srv.Load()
	if srv == nil {
		return errors.New("the server has not started yet")
	}
	return srv.Rotate(identity.KeysFrom(m))
}

// loadKeys loads the signing, session and binding keys: from the -key,
// -session-key and -binding-key files (reloaded when they change), else
// from the environment (WEBCHATID_PRIVATE_KEY, WEBCHATID_BINDING_KEY), else
// new ones made at start.
func loadKeys(c config, stdout io.Writer, log *slog.Logger) (*demoKeys, error) {
	k := &demoKeys{}
	if len(c.keyFiles)+len(c.sessionKeyFiles)+len(c.bindingKeyFiles) > 0 {
		src, err := keys.NewFileSource(keys.FileSourceConfig{
			SigningKeyFiles: c.keyFiles,
			SessionKeyFiles: c.sessionKeyFiles,
			BindingKeyFiles: c.bindingKeyFiles,
			Interval:        c.watchInterval,
			Logger:          log,
			OnChange:        k.rotate,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyFlags(c), err)
		}
		m := src.Material()
		k.src, k.signing, k.session, k.binding = src, m.SigningKeys, m.SessionKeys, m.BindingKeys
	}
	if len(k.signing) == 0 {
		s, err := signingKey(stdout, log)
		if err != nil {
			return nil, err
		}
		k.signing = []crypto.Signer{s}
	}
	if len(k.session) == 0 {
		// Without -session-key, logins are sealed with a key made at start:
		// restarting the demo logs everyone out.
		s := make([]byte, 32)
		if _, err := rand.Read(s); err != nil {
			return nil, err
		}
		k.session = [][]byte{s}
	}
	if len(k.binding) == 0 {
		b, err := bindingKey(log)
		if err != nil {
			return nil, err
		}
		k.binding = [][]byte{b}
	}
	return k, nil
}

// keyFlags names the key flags given, for errors.
func keyFlags(c config) string {
	var names []string
	for _, f := range []struct {
		name  string
		files fileList
	}{{"-key", c.keyFiles}, {"-session-key", c.sessionKeyFiles}, {"-binding-key", c.bindingKeyFiles}} {
		if len(f.files) > 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// signingKeys is the keys for Config.SigningKeys, the first signing.
func (k *demoKeys) signingKeys() []identity.SigningKey {
	out := make([]identity.SigningKey, len(k.signing))
	for i, s := range k.signing {
		out[i] = identity.SigningKey{Key: s}
	}
	return out
}

// follow hands every change of the key files to srv and runs until ctx is
// done: it polls the files every -watch-interval (unless 0) and reloads them
// at once on each receive from reload (SIGHUP in main), telling reloaded,
// if not nil, how that went. Keys that did not come from files stay as
// they are (identity.Keys leaves empty fields alone). It returns when ctx
// is done, leaving no goroutine behind.
func (k *demoKeys) follow(ctx context.Context, srv *identity.Server, interval time.Duration, reload <-chan struct{}, reloaded func(error), log *slog.Logger) {
	k.srv.Store(srv)
	if k.src == nil {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reload:
				log.LogAttrs(ctx, slog.LevelWarn, "reload asked for, but no key files were given (-key, -session-key, -binding-key)")
				if reloaded != nil {
					reloaded(errors.New("no key files"))
				}
			}
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if interval > 0 {
		wg.Go(func() { _ = k.src.Watch(ctx) }) // returns when ctx is done
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			err := k.src.Reload() // logged by the source
			if reloaded != nil {
				reloaded(err)
			}
		}
	}
}

// signingKey loads the site's signing key from WEBCHATID_PRIVATE_KEY, or
// makes an ephemeral one and prints its public key for IBM's Security tab.
func signingKey(stdout io.Writer, log *slog.Logger) (crypto.Signer, error) {
	if os.Getenv("WEBCHATID_PRIVATE_KEY") != "" {
		return keys.PrivateFromEnv("WEBCHATID_PRIVATE_KEY")
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pemText, err := keys.PublicPEM(k.Public())
	if err != nil {
		return nil, err
	}
	log.LogAttrs(context.Background(), slog.LevelWarn, "no -key or WEBCHATID_PRIVATE_KEY: signing with an ephemeral 2048-bit RSA key; tokens stop verifying when the demo restarts")
	fmt.Fprintf(stdout, "Ephemeral signing key; its public key (paste into IBM's Security tab to try it with real web chat):\n%s", pemText)
	return k, nil
}

// bindingKey returns the anonymous-ID binding key from WEBCHATID_BINDING_KEY
// (hex or base64, read by keys.ParseSecret as a -binding-key file is), or a
// new one.
func bindingKey(log *slog.Logger) ([]byte, error) {
	if v := os.Getenv("WEBCHATID_BINDING_KEY"); v != "" {
		k, err := keys.ParseSecret([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("WEBCHATID_BINDING_KEY (hex or base64 of at least 32 random bytes, e.g. from openssl rand -hex 32): %w", err)
		}
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	log.LogAttrs(context.Background(), slog.LevelWarn, "no -binding-key or WEBCHATID_BINDING_KEY: anonymous IDs are bound with an ephemeral key; visitors get new IDs when the demo restarts")
	return k, nil
}
