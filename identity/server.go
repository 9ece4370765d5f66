package identity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity/internal/reuse"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/internal/headersafe"
)

// Errors returned (wrapped) by [Server.Token] and the hooks' callers. The
// handlers map them to status codes: ErrUnauthenticated to 401,
// ErrSessionUnavailable and ErrLedgerUnavailable to 503, anything else to
// 500.
var (
	// ErrUnauthenticated means the request is not allowed a token or a
	// login: Config.Authenticate refused the credentials, or a Subject or
	// Claims hook refused an anonymous visitor. Hooks return it (wrapped)
	// to get a 401.
	ErrUnauthenticated = errors.New("identity: unauthenticated")

	// ErrSessionUnavailable means the session source failed and
	// Config.StrictSessions is set.
	ErrSessionUnavailable = errors.New("identity: session source unavailable")

	// ErrLedgerUnavailable means the ledger failed and Config.StrictLedger
	// is set.
	ErrLedgerUnavailable = errors.New("identity: ledger unavailable")

	// ErrClaims means the token's claims could not be built: a hook failed
	// or broke a rule of the target (a changed sub, a reserved context
	// name, an unsafe sub from Config.Subject).
	ErrClaims = errors.New("identity: cannot build token claims")
)

// Server issues IBM web chat identity tokens over HTTP: it serves the token,
// login, logout, session and JWKS endpoints (see [Server.Handler]) and, for
// custom handlers, [Server.Token]. Create one with [New]. A Server is
// immutable apart from its keys, which [Server.RotateKeys] swaps
// atomically; it is safe for concurrent use.
type Server struct {
	cfg      Config
	anon     atomic.Pointer[cookie.Anonymous] // swapped by Rotate
	sessions SessionSource                    // nil: everyone anonymous
	store    SessionStore                     // nil: no /authenticate, /logout
	ibm      *rsa.PublicKey
	skew     time.Duration // iat backdating; exp-iat stays within the target's limit
	recorder *ledger.Recorder
	keys     atomic.Pointer[keyState]
	keyEpoch uint64     // numbers the key states, for the reuse cache; New and rotateMu holders only
	path     *tokenPath // admission control and token reuse (tokenpath.go)

	rotateMu    sync.Mutex // serialises RotateKeys and Rotate
	bindingKeys [][]byte   // the anonymous cookie's, under rotateMu

	cors *corsPolicy // nil: CORS off
	cop  *http.CrossOriginProtection

	tokenH, authenticateH, logoutH, sessionH, jwksH http.Handler
	mux                                             *http.ServeMux

	sessionErrors, ledgerErrors, panics atomic.Uint64

	// fromContext: sessions is ContextSessions, whose middleware must mark
	// every request; unmarkedWarned: the one warning about a request
	// without the mark was logged.
	fromContext    bool
	unmarkedWarned atomic.Bool
}

var _ http.Handler = (*Server)(nil)

// minAnonymousMaxAge is the shortest anonymous-ID lifetime IBM advises (45
// days, its tutorial's value): a returning visitor whose cookie expired is
// billed as a new monthly active user.
const minAnonymousMaxAge = 45 * 24 * time.Hour

// New returns a Server for cfg. It copies cfg, fills in defaults, and checks
// every field, returning an error that names the first invalid one (for
// example "identity: Config.SigningKeys[0]: RSA key is 1024 bits, need at
// least 2048"). It also signs and verifies a test token with each key and
// logs each key's kid and SHA-256 fingerprint (see [keys.Fingerprint]) at Info
// level, so an operator can compare them with the key pasted into IBM's
// Security tab. Nothing is checked later: a Server that New returns does not
// fail a request for a configuration reason.
func New(cfg Config) (*Server, error) {
	cfg.clone()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, skew: min(claims.DefaultSkew, cfg.Target.maxTTL()-cfg.TTL)}
	var err error
	if s.path, err = newTokenPath(&cfg); err != nil {
		return nil, err
	}
	anon, err := cookie.NewAnonymous(cfg.Anonymous)
	if err != nil {
		return nil, fmt.Errorf("identity: Config.Anonymous: %w", err)
	}
	s.anon.Store(anon)
	s.bindingKeys = slices.Clone(cfg.Anonymous.BindingKeys)
	s.sessions = cfg.Sessions
	if len(cfg.SessionKeys) > 0 {
		sc := cfg.SessionCookie
		sc.Keys, sc.Now = cfg.SessionKeys, cfg.Now
		if sc.Secure == cookie.SecureAuto && cfg.Anonymous.Secure == cookie.SecureAlways {
			sc.Secure = cookie.SecureAlways // one setting for both cookies behind a proxy
		}
		cs, err := newCookieSessions(sc, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("identity: Config.SessionCookie: %w", err)
		}
		cs.revoker = cfg.Revoker
		s.sessions = cs
	} else if cs, ok := cfg.Sessions.(*CookieSessions); ok && (cs.log == nil && cfg.Logger != nil || cfg.Revoker != nil) {
		// The Server's copy of the app's CookieSessions logs where the
		// Server does and revokes with its Revoker.
		c := *cs
		if c.log == nil {
			c.log = cfg.Logger
		}
		c.revoker = cfg.Revoker
		s.sessions = &c
	}
	// One name for both cookies would make every token request overwrite
	// the login, and every login the anonymous ID.
	if cn, ok := s.sessions.(cookieNamer); ok {
		for _, n := range anon.Names() {
			if slices.Contains(cn.Names(), n) {
				if len(cfg.SessionKeys) > 0 {
					return nil, fmt.Errorf("identity: Config.Anonymous.Name: %q is also the session cookie's name (Config.SessionCookie.Name)", n)
				}
				what := fmt.Sprintf("a %T", cfg.Sessions)
				if _, ok := cfg.Sessions.(chain); ok {
					what = "a source in its identity.Chain"
				}
				return nil, fmt.Errorf("identity: Config.Anonymous.Name: %q is also the session cookie's name (Config.Sessions, %s)", n, what)
			}
		}
	}
	s.store, _ = s.sessions.(SessionStore)
	switch s.sessions.(type) {
	case ContextSessions, *ContextSessions:
		s.fromContext = true
	}
	// Keys last: their check logs, and a failed New should log nothing.
	st, err := newKeyState(cfg.SigningKeys, "Config.SigningKeys", cfg.Target, cfg.Now, s.log())
	if err != nil {
		return nil, err
	}
	s.number(st)
	s.keys.Store(st)
	if cfg.IBMPublicKey != nil {
		s.ibm = cfg.IBMPublicKey.(*rsa.PublicKey) // checked by validate
		if fp, err := keys.Fingerprint(s.ibm); err == nil {
			s.log().LogAttrs(context.Background(), slog.LevelInfo, "identity: user_payload encrypted with IBM's public key",
				slog.String("sha256", fp), slog.String("scheme", cfg.PayloadScheme.String()))
		}
	} else if cfg.Target == Orchestrate {
		s.log().LogAttrs(context.Background(), slog.LevelWarn,
			"identity: Config.IBMPublicKey is not set, so sessions' SSOToken is never sent to watsonx Orchestrate")
	}
	if m := cfg.Anonymous.MaxAge; m > 0 && m < minAnonymousMaxAge {
		s.log().LogAttrs(context.Background(), slog.LevelWarn,
			"identity: Config.Anonymous.MaxAge is under the 45 days IBM advises: IBM bills monthly active users by sub, so a returning visitor whose cookie expired counts again",
			slog.Duration("max_age", m))
	}
	s.recorder = ledger.NewRecorder(withLedgerTimeout(cfg.Ledger, cfg.LedgerTimeout), cfg.Now)

	s.cop = http.NewCrossOriginProtection()
	for _, o := range slices.Concat(cfg.TrustedOrigins, cfg.AllowedOrigins) {
		if err := s.cop.AddTrustedOrigin(o); err != nil { // parseOrigin already accepted it
			return nil, fmt.Errorf("identity: Config.TrustedOrigins: %w", err)
		}
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))
	s.cors = newCORSPolicy(cfg.AllowedOrigins)
	s.buildHandlers()
	return s, nil
}

func (s *Server) log() *slog.Logger {
	if s.cfg.Logger != nil {
		return s.cfg.Logger
	}
	return slog.Default()
}

// RotateKeys replaces the Server's signing keys, with the rules of
// Config.SigningKeys: keys[0] signs from now on, the others are published by
// the JWKS endpoint for verification only. To rotate without downtime, pass
// the new key first and the previous one after it, and drop the previous one
// in a later call once the tokens it signed have expired (Config.TTL). The
// swap is atomic: a request signs with either the old or the new set, never a
// mix. On error the Server keeps its keys. The reuse cache
// ([ReuseConfig]) is emptied, so no token signed before is handed out
// again.
//
// IBM's web chat verifies with the one public key pasted in its Security
// tab, so paste the new public key there at the moment keys[0] changes.
func (s *Server) RotateKeys(keys ...SigningKey) error {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	st, err := newKeyState(keys, "RotateKeys: keys", s.cfg.Target, s.cfg.Now, s.log())
	if err != nil {
		return err
	}
	s.swapSigningKeys(st)
	return nil
}

// swapSigningKeys makes st the signing keys, numbered with a new epoch so
// that the reuse cache hands out no token signed before, and empties the
// cache. The caller holds rotateMu.
func (s *Server) swapSigningKeys(st *keyState) {
	s.number(st)
	s.keys.Store(st)
	if s.path.reuse != nil {
		s.path.reuse.Flush() // the epoch alone would do; this frees the memory
	}
}

// KeyID returns the kid of the key currently signing tokens.
func (s *Server) KeyID() string { return s.keys.Load().active.KeyID() }

// PublicKeys returns the public keys the JWKS endpoint serves, the active
// key first, then the verify-only keys, each an *rsa.PublicKey. Tokens the
// Server issues now verify with the first: pass it to [claims.Verify].
func (s *Server) PublicKeys() []crypto.PublicKey {
	return slices.Clone(s.keys.Load().pubs)
}

// JWKS returns a copy of the JWK set document the JWKS endpoint serves (see
// [Server.JWKSHandler]), for apps that publish it elsewhere.
func (s *Server) JWKS() []byte {
	return bytes.Clone(s.keys.Load().jwks)
}

// Stats counts failures the Server survived and how its token path
// (admission control, token reuse) is doing.
type Stats struct {
	// SessionErrors counts requests whose session source failed.
	SessionErrors uint64
	// LedgerErrors counts ledger writes that failed.
	LedgerErrors uint64
	// Panics counts requests whose app hook panicked (answered 500).
	Panics uint64

	// Token path (Config.Admission, Config.Reuse); zero when turned off.
	//
	// Admitted counts tokens let through to signing, at once or after
	// waiting; Queued those that had to wait for a slot (admitted or
	// not); Shed the requests refused with 503 (queue full, a wait
	// expected beyond MaxWait, or waited MaxWait), of which ShedLate
	// are the ones refused only after waiting MaxWait (expected in time,
	// but the queue drained slower than measured, which the estimate then
	// corrects: if they stay more than a few per cent of Shed, the signing
	// speed is erratic, e.g. a busy host); Abandoned those whose client gave up while waiting.
	// Signing and Waiting are the requests signing and waiting now.
	// ReuseHits counts tokens handed out again from the reuse cache,
	// ReuseMisses lookups that had to sign, ReuseEntries the tokens the
	// cache holds now.
	Admitted, Queued, Shed, ShedLate, Abandoned uint64
	Signing, Waiting                            int
	ReuseHits, ReuseMisses                      uint64
	ReuseEntries                                int
}

// Stats returns the counters since New.
func (s *Server) Stats() Stats {
	st := Stats{SessionErrors: s.sessionErrors.Load(), LedgerErrors: s.ledgerErrors.Load(), Panics: s.panics.Load()}
	s.tokenPathStats(&st)
	return st
}

// Session returns the request's session from the configured source, nil when
// anonymous. When the source fails, the failure is counted and logged and
// the request is anonymous, or, with Config.StrictSessions, the error wraps
// [ErrSessionUnavailable]. Session info breaking the [SessionInfo] rules is
// an error wrapping [ErrInvalidSession].
func (s *Server) Session(r *http.Request) (*SessionInfo, error) {
	if s.sessions == nil {
		return nil, nil
	}
	if s.fromContext && !sessionMarked(r.Context()) && s.unmarkedWarned.CompareAndSwap(false, true) {
		s.log().LogAttrs(r.Context(), slog.LevelWarn, unmarkedWarning, requestAttr("path", r.URL.Path))
	}
	info, err := s.sessions.Session(r)
	if err != nil {
		s.sessionErrors.Add(1)
		if s.cfg.StrictSessions {
			return nil, fmt.Errorf("%w: %w", ErrSessionUnavailable, err)
		}
		s.log().LogAttrs(r.Context(), slog.LevelWarn, "identity: session source failed; request treated as anonymous",
			requestAttr("error", err.Error()))
		return nil, nil
	}
	if info != nil {
		if err := info.validate(); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// unmarkedWarning is logged once by a Server with ContextSessions when a
// request carries no WithSession mark: the app's middleware does not wrap
// the handler, so every visitor would silently be anonymous.
const unmarkedWarning = "identity: a request reached the Server without identity.WithSession in its context, " +
	"so Config.Sessions (ContextSessions) sees every visitor as anonymous: wrap srv.Handler() itself, not only your pages, " +
	"in the middleware that calls WithSession, and call WithSession(ctx, nil) for anonymous requests; " +
	"or read your app's session in an identity.SessionSourceFunc, which needs no middleware (logged once)"

// Token issues a token for the request, for apps that write their own token
// handler. It gets or sets the anonymous-ID cookie on w (so call it before
// writing the response body), asks the session source who is logged in,
// records the ID in the ledger, and returns the signed token and its
// expiry. The caller writes the response, with Cache-Control: no-store. The
// claims are:
//
//   - sub: the anonymous ID, before and after login (or Config.Subject's
//     choice);
//   - iat, exp: now (backdated by up to [claims.DefaultSkew]) and now +
//     Config.TTL; iss when Config.Issuer is set;
//   - user_payload: {name, custom_user_id, ...Extra} of the session, or
//     {"name": "Anonymous", "custom_user_id": <anonymous ID>} when
//     anonymous, as in IBM's tutorial ({"sso_token"} for [Orchestrate]);
//     encrypted when Config.IBMPublicKey is set;
//   - whatever Config.Claims adds.
//
// A token signed earlier for the same claims may be returned again (see
// [ReuseConfig]). Errors wrap [ErrUnauthenticated], [ErrSessionUnavailable],
// [ErrLedgerUnavailable], [ErrOverloaded], [ErrClaims] or
// [ErrInvalidSession], or are
// failures of the cookie, the payload encryption or the signer.
func (s *Server) Token(w http.ResponseWriter, r *http.Request) (token string, expires time.Time, err error) {
	id, err := s.anon.Load().GetOrSetID(w, r)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("identity: anonymous ID: %w", err)
	}
	anonID := id.Value
	info, err := s.Session(r)
	if err != nil {
		return "", time.Time{}, err
	}
	sub, err := s.subject(r, anonID, info)
	if err != nil {
		return "", time.Time{}, err
	}
	record := func() error { return nil }
	if s.ledgerTrusts(id, sub) {
		record = func() error { return s.record(r.Context(), sub, id.New && sub == anonID, info) }
	}
	return s.issue(r, sub, anonID, info, record)
}

// ledgerTrusts reports whether the ledger may record sub, and link it: only
// an anonymous ID this Server issued to this browser (minted now, or its
// binding verified) can be, unless Config.LedgerWithoutBinding says
// otherwise. A sub that Config.Subject chose apart from the anonymous ID is
// the app's, and trusted.
func (s *Server) ledgerTrusts(id cookie.ID, sub string) bool {
	return id.Proven || sub != id.Value || s.cfg.LedgerWithoutBinding
}

// subject is the token's sub: the anonymous ID, or what Config.Subject
// chooses. It is what IBM bills and deletes by (customer_id), so it is also
// what the ledger records.
func (s *Server) subject(r *http.Request, anonID string, info *SessionInfo) (string, error) {
	if s.cfg.Subject == nil {
		return anonID, nil
	}
	sub, err := s.cfg.Subject(r, anonID, info)
	if err != nil {
		return "", hookError("Config.Subject", err)
	}
	if err := headersafe.Check(sub); err != nil {
		return "", fmt.Errorf("%w: Config.Subject returned an unusable sub: %w", ErrClaims, err)
	}
	return sub, nil
}

// record writes to the ledger through the recorder (cheap when nothing is
// due). A failure is counted and logged, and returned only in strict mode.
func (s *Server) record(ctx context.Context, sub string, isNew bool, info *SessionInfo) error {
	if s.recorder == nil {
		return nil
	}
	err := s.recorder.Seen(ctx, sub, isNew)
	if info != nil {
		err = errors.Join(err, s.recorder.Linked(ctx, sub, info.CustomUserID))
	}
	if err == nil {
		return nil
	}
	s.ledgerErrors.Add(1)
	if s.cfg.StrictLedger {
		return fmt.Errorf("%w: %w", ErrLedgerUnavailable, err)
	}
	s.log().LogAttrs(ctx, slog.LevelWarn, "identity: ledger write failed; token issued anyway",
		requestAttr("error", err.Error()))
	return nil
}

// issue builds and signs the token, or finds it in the reuse cache. It
// calls record (the ledger write) before it hands out a token, and only
// then: not for a request that admission refuses, so an overloaded server
// refuses at once and writes nothing for a token it does not issue (the
// visitor's next token records the ID).
func (s *Server) issue(r *http.Request, sub, anonID string, info *SessionInfo, record func() error) (string, time.Time, error) {
	now, maxTTL := s.cfg.Now(), s.cfg.Target.maxTTL()
	b := claims.NewBuilder().Subject(sub).IssuedAt(now).TTL(s.cfg.TTL).Skew(s.skew).MaxTTL(maxTTL)
	if s.cfg.Issuer != "" {
		b.Issuer(s.cfg.Issuer)
	}
	if p := s.userPayload(anonID, info); p != nil {
		b.UserPayload(p) // encrypted for IBM by sign (tokenpath.go)
	}
	if s.cfg.Claims != nil {
		if err := s.cfg.Claims(r, b, info); err != nil {
			return "", time.Time{}, hookError("Config.Claims", err)
		}
	}
	cs, err := b.Check()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	if cs.Subject() != sub {
		return "", time.Time{}, fmt.Errorf("%w: Config.Claims changed sub; use Config.Subject", ErrClaims)
	}
	// Config.Claims may have called TTL, Skew or MaxTTL on the builder.
	if cs.Expiration().Sub(cs.IssuedAt()) > maxTTL {
		return "", time.Time{}, fmt.Errorf("%w: exp is more than %v after iat, the most the %v target accepts", ErrClaims, maxTTL, s.cfg.Target)
	}
	if v := cs.Context(); v != nil {
		if err := s.cfg.Target.checkContext(v); err != nil {
			return "", time.Time{}, err
		}
	}
	st := s.keys.Load()
	var key reuse.Key
	cache := false
	if s.path.reuse != nil {
		if key, cache = s.reuseKey(cs, st); cache {
			if e, ok := s.path.reuse.Get(key, sub, st.epoch, now); ok {
				if err := record(); err != nil {
					return "", time.Time{}, err
				}
				return e.Token, e.Expires, nil
			}
		}
	}
	if a := s.path.admit; a != nil {
		if err := a.Check(); err != nil {
			s.refused(r.Context(), err)
			return "", time.Time{}, fmt.Errorf("%w: %w", ErrOverloaded, err)
		}
	}
	if err := record(); err != nil {
		return "", time.Time{}, err
	}
	// Made only now: a reused token needs none.
	tok, err := cs.Token()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	signed, err := s.sign(r.Context(), tok, st, key, cache)
	if err != nil {
		return "", time.Time{}, err
	}
	return signed, tok.Expiration(), nil
}

// hookError wraps an app hook's error: ErrUnauthenticated stays visible to
// errors.Is, anything else also matches ErrClaims.
func hookError(hook string, err error) error {
	if errors.Is(err, ErrUnauthenticated) {
		return fmt.Errorf("identity: %s: %w", hook, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrClaims, hook, err)
}

// userPayload is the user_payload claim's value before encryption, or nil
// for none.
func (s *Server) userPayload(anonID string, info *SessionInfo) any {
	if s.cfg.Target == Orchestrate {
		if info == nil || info.SSOToken == "" || s.ibm == nil {
			return nil
		}
		return map[string]string{"sso_token": info.SSOToken}
	}
	if info == nil {
		return anonymousPayload{CustomUserID: anonID, Name: "Anonymous"}
	}
	p := make(map[string]any, len(info.Extra)+2)
	for k, v := range info.Extra {
		p[k] = v
	}
	p["name"] = info.UserName
	p["custom_user_id"] = info.CustomUserID
	return p
}

// anonymousPayload is an anonymous visitor's user_payload. It encodes as
// the map {"name", "custom_user_id"} does (keys in sorted order), and
// faster: it is encoded on every token request, reused or not.
type anonymousPayload struct {
	CustomUserID string `json:"custom_user_id"`
	Name         string `json:"name"`
}

// tokenJSON is the /createJWT answer for clients that prefer JSON.
type tokenJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func marshalToken(token string, exp time.Time) ([]byte, error) {
	return json.Marshal(tokenJSON{Token: token, ExpiresAt: exp.UTC()})
}
