package identity

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"slices"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity/keys"
)

// Keys is a set of keys for [Server.Rotate]. A nil or empty field leaves
// those keys as they are.
type Keys struct {
	// SigningKeys replace Config.SigningKeys, with its rules: the first
	// signs, the others are published for verification only (see
	// [Server.RotateKeys]).
	SigningKeys []SigningKey

	// SessionKeys replace the keys of the session cookie (Config.SessionKeys,
	// or those of a [*CookieSessions] given as Config.Sessions): 32 random
	// bytes each; the first seals, every one opens, so sessions sealed with
	// a key still listed stay logged in. Setting them on a Server without a
	// session cookie is an error.
	SessionKeys [][]byte

	// BindingKeys replace Config.Anonymous.BindingKeys: at least 32 random
	// bytes each; the first binds new cookies, every one verifies, and a
	// cookie bound with a later key is re-bound with the first. Setting
	// them on a Server whose Config.Anonymous has no BindingKeys is an
	// error: turning binding on (or off) changes visitors' anonymous IDs,
	// which is a configuration change, not a rotation.
	BindingKeys [][]byte
}

// Rotate replaces the keys set in k, all or nothing: every new key is
// checked first (as [New] checks its Config), and on error the Server keeps
// all its keys. Each kind of key is then swapped atomically, so a request
// uses either the old or the new keys of a kind, never a mix, and the
// request path takes no lock. It logs each new signing key's kid and
// fingerprint as New does, and how many session and binding keys are in
// use; never the keys.
//
// To rotate a secret without logging anyone out or changing anonymous IDs,
// list the new key first and the previous one after it, and drop the
// previous one in a later Rotate once what it sealed has expired: the
// session cookie's MaxAge (24 hours by default) for session keys,
// Config.Anonymous.MaxAge (45 days by default) for binding keys, since a
// cookie is re-bound with the first key on each token request. A key
// dropped early logs out the sessions it sealed, and gives visitors whose
// cookies it bound new anonymous IDs.
func (s *Server) Rotate(k Keys) error {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()

	var cs *CookieSessions
	var ss *sessionSealers
	var sessionKeys [][]byte
	if c, ok := s.sessions.(*CookieSessions); ok {
		cs, sessionKeys = c, c.sealers.Load().keys
	}
	if len(k.SessionKeys) > 0 {
		if cs == nil {
			return fmt.Errorf("identity: Rotate: Keys.SessionKeys: the Server has no session cookie to rotate (Config.SessionKeys, or Config.Sessions set to a *CookieSessions)")
		}
		for i, key := range k.SessionKeys {
			if err := checkSessionKey(key); err != nil {
				return fmt.Errorf("identity: Rotate: Keys.SessionKeys[%d]: %w", i, err)
			}
		}
		cfg := cs.cfg
		cfg.Keys = k.SessionKeys
		var err error
		if ss, err = newSessionSealers(cfg); err != nil {
			return fmt.Errorf("identity: Rotate: Keys.SessionKeys: %w", err)
		}
		sessionKeys = ss.keys
	}

	var anon *cookie.Anonymous
	bindingKeys := s.bindingKeys
	if len(k.BindingKeys) > 0 {
		if len(s.bindingKeys) == 0 {
			return fmt.Errorf("identity: Rotate: Keys.BindingKeys: binding is off (Config.Anonymous.BindingKeys is empty); turning it on changes visitors' anonymous IDs and takes a restart with BindingKeys set")
		}
		cfg := s.cfg.Anonymous
		cfg.BindingKeys = make([][]byte, len(k.BindingKeys))
		for i, key := range k.BindingKeys {
			cfg.BindingKeys[i] = slices.Clone(key)
		}
		var err error
		if anon, err = cookie.NewAnonymous(cfg); err != nil {
			return fmt.Errorf("identity: Rotate: Keys.BindingKeys: %w", err)
		}
		bindingKeys = cfg.BindingKeys
	}
	if ss != nil || anon != nil {
		for i, sk := range sessionKeys {
			for j, bk := range bindingKeys {
				if subtle.ConstantTimeCompare(sk, bk) == 1 {
					return fmt.Errorf("identity: Rotate: session key %d is also binding key %d: use a separate random key for each purpose", i, j)
				}
			}
		}
	}

	var st *keyState
	if len(k.SigningKeys) > 0 { // last: it logs, and a failed Rotate should log nothing
		var err error
		if st, err = newKeyState(k.SigningKeys, "Rotate: Keys.SigningKeys", s.cfg.Target, s.cfg.Now, s.log()); err != nil {
			return err
		}
	}

	if st != nil {
		s.swapSigningKeys(st)
	}
	if ss != nil {
		cs.sealers.Store(ss)
		s.log().LogAttrs(context.Background(), slog.LevelInfo, "identity: session keys rotated", slog.Int("keys", len(ss.keys)))
	}
	if anon != nil {
		s.anon.Store(anon)
		s.bindingKeys = bindingKeys
		s.log().LogAttrs(context.Background(), slog.LevelInfo, "identity: binding keys rotated", slog.Int("keys", len(bindingKeys)))
	}
	return nil
}

// KeysFrom returns the Keys that m holds, for a [keys.FileSource]'s
// OnChange to pass to Rotate; each signing key's KeyID is its thumbprint.
func KeysFrom(m keys.Material) Keys {
	k := Keys{SessionKeys: m.SessionKeys, BindingKeys: m.BindingKeys}
	for _, s := range m.SigningKeys {
		k.SigningKeys = append(k.SigningKeys, SigningKey{Key: s})
	}
	return k
}
