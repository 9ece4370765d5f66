package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/cookie"
)

// DefaultSessionCookie is the name [NewCookieSessions] gives the session
// cookie when the config names none.
const DefaultSessionCookie = "WEBCHATID-SESSION"

// SessionInfo describes a logged-in user. It goes into the token's
// user_payload claim (never into sub, which IBM forbids changing within a
// chat session): for the watsonx Assistant web chat target as
//
//	{"name": UserName, "custom_user_id": CustomUserID, ...Extra}
//
// and for the [Orchestrate] target as {"sso_token": SSOToken}.
type SessionInfo struct {
	// UserName is the user's display name (user_payload.name).
	UserName string

	// CustomUserID is the app's own ID for the user
	// (user_payload.custom_user_id). It is also what Config.Ledger links the
	// anonymous ID to. It must not be empty.
	CustomUserID string

	// SSOToken is the single sign-on token a watsonx Orchestrate agent uses
	// on the user's behalf; only the [Orchestrate] target sends it, as
	// user_payload.sso_token, and only encrypted (Config.IBMPublicKey set).
	SSOToken string

	// Extra holds app fields added to the web chat user_payload beside name
	// and custom_user_id. Its values must be JSON-marshalable; the keys
	// "name", "custom_user_id" and "sso_token" are refused.
	Extra map[string]any
}

// sessionCookie is the storage format of a [SessionInfo] inside a sealed
// session cookie: short names keep the cookie small. It is private so that
// the public type can change without breaking cookies already issued.
//
// ID is a random session ID, which Config.Revoker revokes, and Expires the
// value's expiry (Unix seconds).
type sessionCookie struct {
	UserName     string         `json:"n,omitempty"`
	CustomUserID string         `json:"u"`
	SSOToken     string         `json:"s,omitempty"`
	Extra        map[string]any `json:"x,omitempty"`
	ID           string         `json:"i,omitempty"`
	Expires      int64          `json:"e,omitempty"`
}

func (c sessionCookie) info() SessionInfo {
	return SessionInfo{UserName: c.UserName, CustomUserID: c.CustomUserID, SSOToken: c.SSOToken, Extra: c.Extra}
}

// ErrInvalidSession is returned (wrapped) when a [SessionInfo] cannot be used:
// an empty CustomUserID or a reserved key in Extra.
var ErrInvalidSession = errors.New("identity: invalid session info")

func (s *SessionInfo) validate() error {
	if s.CustomUserID == "" {
		return fmt.Errorf("%w: CustomUserID is empty", ErrInvalidSession)
	}
	for _, k := range [...]string{"name", "custom_user_id", "sso_token"} {
		if _, ok := s.Extra[k]; ok {
			return fmt.Errorf("%w: Extra key %q is reserved", ErrInvalidSession, k)
		}
	}
	return nil
}

// A SessionSource tells the token endpoint who is logged in.
//
// Session returns the user's info for the request, or nil and a nil error
// when the request is anonymous. Input the source does not trust (a
// missing, tampered, foreign or expired cookie or header) is anonymous, not
// an error. An error means the source itself failed (its store is down);
// the [Server] then logs it and treats the request as anonymous, or answers
// 503 when Config.StrictSessions is set.
//
// Session may be called concurrently and must not modify the returned
// value later; the caller must not modify it either.
type SessionSource interface {
	Session(r *http.Request) (*SessionInfo, error)
}

// The SessionSourceFunc type is an adapter to allow the use of ordinary
// functions as session sources.
type SessionSourceFunc func(r *http.Request) (*SessionInfo, error)

// Session returns f(r).
func (f SessionSourceFunc) Session(r *http.Request) (*SessionInfo, error) { return f(r) }

// A SessionStore is a [SessionSource] that can also keep a session: the
// [Server]'s /authenticate and /logout endpoints use it. [CookieSessions] is
// one.
type SessionStore interface {
	SessionSource
	// Login starts a session for info, replacing any session the request
	// carries (a fresh value, against session fixation).
	Login(w http.ResponseWriter, r *http.Request, info *SessionInfo) error
	// Logout ends the request's session, if any.
	Logout(w http.ResponseWriter, r *http.Request)
}

// A cookieNamer is a session source whose sessions travel in a cookie and
// that reports every name that cookie may have, as [CookieSessions.Names]
// and sessionstore's Store.Names do. [New] refuses an anonymous cookie
// named like it.
type cookieNamer interface {
	Names() []string
}

// Chain returns a SessionSource that asks each source in order and returns
// the first non-nil session. A source's error stops the chain and is
// returned: a later source must not speak for a user the failing one may
// have known. The chain reports the cookie names of its sources that have
// them, so [New] refuses an anonymous cookie named like any of them. Chain
// panics if a source is nil.
func Chain(sources ...SessionSource) SessionSource {
	for i, s := range sources {
		if s == nil {
			panic(fmt.Sprintf("identity: Chain: source %d is nil", i))
		}
	}
	return chain(append([]SessionSource(nil), sources...))
}

// chain is what [Chain] returns.
type chain []SessionSource

func (c chain) Session(r *http.Request) (*SessionInfo, error) {
	for _, s := range c {
		info, err := s.Session(r)
		if err != nil || info != nil {
			return info, err
		}
	}
	return nil, nil
}

// Names returns the cookie names of the chained sources that report them
// (a cookieNamer), chains within the chain included.
func (c chain) Names() []string {
	var names []string
	for _, s := range c {
		if cn, ok := s.(cookieNamer); ok {
			names = append(names, cn.Names()...)
		}
	}
	return names
}

type sessionKey struct{}

// WithSession returns a copy of ctx carrying info, for apps that authenticate
// in their own middleware: set it there, and let [ContextSessions] read it.
// A nil info marks the request anonymous. Call it for every request the
// middleware passes on, anonymous ones included: the mark is how a [Server]
// with ContextSessions tells that the middleware ran.
func WithSession(ctx context.Context, info *SessionInfo) context.Context {
	return context.WithValue(ctx, sessionKey{}, info)
}

// sessionMarked reports whether [WithSession] ran on ctx, with nil or not.
func sessionMarked(ctx context.Context) bool {
	_, ok := ctx.Value(sessionKey{}).(*SessionInfo)
	return ok
}

// SessionFrom returns the session stored in ctx by [WithSession]. ok is false
// when there is none (no middleware ran, or it stored nil).
func SessionFrom(ctx context.Context) (info *SessionInfo, ok bool) {
	info, _ = ctx.Value(sessionKey{}).(*SessionInfo)
	return info, info != nil
}

// ContextSessions is a [SessionSource] that reads the session an app's own
// middleware put in the request context with [WithSession]. A request
// without one is anonymous. The zero value is ready to use.
//
// The middleware must wrap the handlers of [Server.Handler] too, not only
// the app's pages, and call WithSession for every request (with nil when
// anonymous): otherwise every token is anonymous. A [Server] whose
// Config.Sessions is ContextSessions logs one warning, through
// Config.Logger, the first time a request reaches it without that mark.
//
// An app with its own login can more simply read its session in a
// [SessionSourceFunc], which the Server calls on each token request and
// which needs no middleware around the mounted handler.
//
// Since the app logs users in itself, there is no /authenticate or /logout
// endpoint; the page calls webchatid.refresh() after a login or logout to
// hand web chat a new token.
type ContextSessions struct{}

// Session returns the session in r's context, or nil when there is none.
func (ContextSessions) Session(r *http.Request) (*SessionInfo, error) {
	info, _ := SessionFrom(r.Context())
	return info, nil
}

// CookieSessions keeps the logged-in user in a sealed cookie ([cookie.Sealer]:
// AES-256-GCM, the cookie name bound in, expiry inside): tamper-proof and
// unreadable by the browser, unlike the plain JSON SESSION_INFO cookie of
// IBM's tutorial. It is a [SessionStore] and is safe for concurrent use.
//
// The session lives only in the cookie, so Logout clears the browser's copy
// but a copy taken earlier stays valid until it expires (SealerConfig.MaxAge,
// 24 hours by default), unless the Server has a Config.Revoker: each session
// carries a random ID, and logout then revokes it on the server.
//
// When the config names no cookie, the cookie is __Host-WEBCHATID-SESSION on
// responses that carry Secure (Domain empty and Path "/" provided), which a
// sibling subdomain cannot set, and [DefaultSessionCookie] otherwise; over
// TLS only the __Host- cookie is read, so a session cookie tossed in under
// the plain name logs nobody in. Login and Logout also expire the plain
// name where a sibling could have set it ([cookie.ExpireTossed]).
//
// Make one with [NewCookieSessions]; its zero value is not usable, and [New]
// refuses it.
type CookieSessions struct {
	// sealers is shared by the copies New makes, so that rotating the
	// app's CookieSessions or the Server's rotates both.
	sealers *atomic.Pointer[sessionSealers]
	cfg     cookie.SealerConfig // as given, without Keys, to rebuild the sealers on rotation
	log     *slog.Logger        // nil: slog.Default()
	revoker Revoker             // nil: no server-side revocation (Config.Revoker)
	now     func() time.Time
}

// sessionSealers are the sealers of one set of keys, swapped as a whole by
// [CookieSessions.RotateKeys].
type sessionSealers struct {
	keys   [][]byte       // for Server.Rotate's check that session and binding keys differ
	sealer *cookie.Sealer // the configured name, or DefaultSessionCookie
	host   *cookie.Sealer // "__Host-" + DefaultSessionCookie for Secure responses; nil unless the name is defaulted
}

// NewCookieSessions returns a CookieSessions using a sealed cookie with the
// given settings. If cfg.Name is empty, the names above are used; Keys
// must hold at least one 32-byte key (the first seals, all open, for
// rotation). The error names the invalid field. It logs to [slog.Default],
// unless it is given to [New] as Config.Sessions: the Server's copy then
// logs to Config.Logger.
func NewCookieSessions(cfg cookie.SealerConfig) (*CookieSessions, error) {
	c, err := newCookieSessions(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("identity: NewCookieSessions: %w", err)
	}
	return c, nil
}

func newCookieSessions(cfg cookie.SealerConfig, log *slog.Logger) (*CookieSessions, error) {
	ss, err := newSessionSealers(cfg)
	if err != nil {
		return nil, err
	}
	c := &CookieSessions{sealers: new(atomic.Pointer[sessionSealers]), log: log, now: cfg.Now}
	c.cfg, c.cfg.Keys = cfg, nil
	c.sealers.Store(ss)
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func newSessionSealers(cfg cookie.SealerConfig) (*sessionSealers, error) {
	defaulted := cfg.Name == ""
	if defaulted {
		cfg.Name = DefaultSessionCookie
	}
	s, err := cookie.NewSealer(cfg)
	if err != nil {
		return nil, err
	}
	ss := &sessionSealers{sealer: s, keys: slices.Clone(cfg.Keys)}
	if defaulted && cfg.Domain == "" && (cfg.Path == "" || cfg.Path == "/") && cfg.Secure != cookie.SecureNever {
		hcfg := cfg
		hcfg.Name, hcfg.Secure = "__Host-"+DefaultSessionCookie, cookie.SecureAlways
		if ss.host, err = cookie.NewSealer(hcfg); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// RotateKeys replaces the keys that seal and open the session cookie, with
// the rules of SealerConfig.Keys: keys[0] seals from now on, and every key
// opens. To rotate without logging anyone out, pass the new key first and
// the previous one after it, and drop the previous one in a later call once
// the sessions it sealed have expired (SealerConfig.MaxAge, 24 hours by
// default). The swap is atomic and the request path takes no lock. The
// copy a [Server] makes of a CookieSessions given as Config.Sessions shares
// its keys, so rotating either rotates both. On error the keys stay as
// they were; the error never contains key material.
func (c *CookieSessions) RotateKeys(keys ...[]byte) error {
	for i, k := range keys {
		if err := checkSessionKey(k); err != nil {
			return fmt.Errorf("identity: CookieSessions.RotateKeys: keys[%d]: %w", i, err)
		}
	}
	cfg := c.cfg
	cfg.Keys = keys
	ss, err := newSessionSealers(cfg)
	if err != nil {
		return fmt.Errorf("identity: CookieSessions.RotateKeys: %w", err)
	}
	c.sealers.Store(ss)
	return nil
}

func (c *CookieSessions) logger() *slog.Logger {
	if c.log != nil {
		return c.log
	}
	return slog.Default()
}

// pick is the sealer for a response to r.
func (ss *sessionSealers) pick(r *http.Request) *cookie.Sealer {
	if ss.host != nil && ss.sealer.Secure(r) {
		return ss.host
	}
	return ss.sealer
}

// expireTossed deletes the plain name where a sibling subdomain could have
// set it, unless it is a __Host- name, which cannot be tossed.
func (ss *sessionSealers) expireTossed(w http.ResponseWriter, r *http.Request) {
	if name := ss.sealer.Name(); !strings.HasPrefix(strings.ToLower(name), "__host-") {
		cookie.ExpireTossed(w, r, name)
	}
}

// Session returns the session in the request's cookie. A missing cookie is
// anonymous; so is a tampered, foreign, expired or undecodable one (logged at
// Debug level, without the value), and, with the Server's Config.Revoker, a
// revoked one or one without a session ID. The only error is a failure of
// that Revoker (one read per call with a session, none without).
func (c *CookieSessions) Session(r *http.Request) (*SessionInfo, error) {
	sealer := c.sealers.Load().pick(r)
	plain, err := sealer.Read(r)
	if err != nil {
		if !errors.Is(err, http.ErrNoCookie) {
			c.logger().LogAttrs(r.Context(), slog.LevelDebug, "identity: session cookie ignored",
				slog.String("cookie", sealer.Name()), slog.String("reason", err.Error()))
		}
		return nil, nil
	}
	var sealed sessionCookie
	err = json.Unmarshal(plain, &sealed)
	info := sealed.info()
	if err != nil || info.validate() != nil {
		c.logger().LogAttrs(r.Context(), slog.LevelDebug, "identity: session cookie ignored",
			slog.String("cookie", sealer.Name()), slog.String("reason", "undecodable contents"))
		return nil, nil
	}
	if c.revoker != nil {
		if sealed.ID == "" {
			c.logger().LogAttrs(r.Context(), slog.LevelDebug, "identity: session cookie ignored",
				slog.String("cookie", sealer.Name()), slog.String("reason", "no session ID, so it cannot be revoked"))
			return nil, nil
		}
		revoked, err := c.revoker.Revoked(r.Context(), sealed.ID)
		if err != nil {
			return nil, fmt.Errorf("identity: Config.Revoker: %w", err)
		}
		if revoked {
			c.logger().LogAttrs(r.Context(), slog.LevelDebug, "identity: session cookie ignored",
				slog.String("cookie", sealer.Name()), slog.String("reason", "revoked"))
			return nil, nil
		}
	}
	return &info, nil
}

// Login seals info into a new session cookie on w, replacing the request's
// session: each call writes a fresh value. It returns [ErrInvalidSession] for
// unusable info, and [cookie.ErrTooLarge] when the sealed cookie would be too
// big for browsers (keep Extra small).
func (c *CookieSessions) Login(w http.ResponseWriter, r *http.Request, info *SessionInfo) error {
	if info == nil {
		return fmt.Errorf("%w: nil", ErrInvalidSession)
	}
	if err := info.validate(); err != nil {
		return err
	}
	ss := c.sealers.Load()
	sealer := ss.pick(r)
	id, err := newSessionID()
	if err != nil {
		return fmt.Errorf("identity: session ID: %w", err)
	}
	plain, err := json.Marshal(sessionCookie{UserName: info.UserName, CustomUserID: info.CustomUserID, SSOToken: info.SSOToken, Extra: info.Extra,
		ID: id, Expires: c.now().Add(sealer.MaxAge()).Unix()})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSession, err)
	}
	if err := sealer.Write(w, r, plain); err != nil {
		return fmt.Errorf("identity: writing session cookie: %w", err)
	}
	if sealer != ss.sealer {
		ss.sealer.Clear(w, r)
		ss.expireTossed(w, r)
	}
	return nil
}

// Logout clears the session cookie, and the plain-named cookies a sibling
// subdomain could have set ([cookie.ExpireTossed]). With a Config.Revoker
// (in the Server's copy) it first revokes the session; if that fails, the
// failure is logged and the cookie is kept (the Server's /logout answers
// 503 instead).
func (c *CookieSessions) Logout(w http.ResponseWriter, r *http.Request) {
	if err := c.logout(w, r); err != nil {
		c.logger().LogAttrs(r.Context(), slog.LevelError, "identity: logout failed: session not revoked",
			requestAttr("error", err.Error()))
	}
}

// logout revokes the request's session (with a revoker), then clears the
// cookies. On a revocation failure nothing is written.
func (c *CookieSessions) logout(w http.ResponseWriter, r *http.Request) error {
	ss := c.sealers.Load()
	sealer := ss.pick(r)
	if c.revoker != nil {
		if plain, err := sealer.Read(r); err == nil {
			var sealed sessionCookie
			if json.Unmarshal(plain, &sealed) == nil && sealed.ID != "" {
				until := time.Unix(sealed.Expires, 0)
				if sealed.Expires == 0 {
					until = c.now().Add(sealer.MaxAge())
				}
				if err := c.revoker.Revoke(r.Context(), sealed.ID, until); err != nil {
					return fmt.Errorf("identity: Config.Revoker: %w", err)
				}
			}
		}
	}
	if sealer != ss.sealer {
		sealer.Clear(w, r)
	}
	ss.sealer.Clear(w, r)
	ss.expireTossed(w, r)
	return nil
}

// Name returns the session cookie's name: the configured one, or
// [DefaultSessionCookie] (responses with Secure then use the __Host- name;
// see [CookieSessions.Names]).
func (c *CookieSessions) Name() string { return c.sealers.Load().sealer.Name() }

// Names returns every name the session cookie may have: Name, and the
// __Host- name when the name is defaulted.
func (c *CookieSessions) Names() []string {
	ss := c.sealers.Load()
	if ss.host == nil {
		return []string{ss.sealer.Name()}
	}
	return []string{ss.sealer.Name(), ss.host.Name()}
}
