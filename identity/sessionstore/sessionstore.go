// Package sessionstore keeps logins on the server: an identity.SessionStore
// whose cookie carries only a random session ID, while the session itself
// lives in a [Backend]. Logout deletes it, so a copy of the cookie taken
// before logout logs nobody in, with no identity.Revoker beside it.
//
// The backend of a fleet is the ledger's SQL database: the *sqlstore.Store
// of package identity/ledger/sqlstore (opened with its sqlite or postgres
// package) is a Backend, so the replicas share their logins, revocations
// and ledger through one DSN. [Memory] is the backend of a single process
// (development, tests, one-replica apps).
//
// Compared with identity.CookieSessions, each token request with a session
// costs one backend read, and each login and logout one write; in exchange
// the browser holds nothing but an ID, sessions can be ended on the server,
// and no session key has to be shared and rotated.
package sessionstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
)

// A Backend keeps sessions by key. The [Store] gives it keys it derives from
// the cookie's session ID (never the ID itself) and data it encoded; the
// backend treats both as opaque. Its methods may be called concurrently.
// *sqlstore.Store and *[Memory] are Backends.
type Backend interface {
	// SessionPut stores data under key until expires, replacing what key
	// held.
	SessionPut(ctx context.Context, key string, data []byte, expires time.Time) error
	// SessionGet returns the data stored under key and its expiry, or nil
	// data and a nil error when key holds no session or its session has
	// expired. An error means the backend failed.
	SessionGet(ctx context.Context, key string) (data []byte, expires time.Time, err error)
	// SessionDelete deletes the session stored under key, if any.
	SessionDelete(ctx context.Context, key string) error
}

// DefaultMaxAge is a session's lifetime when Config.MaxAge is zero, the
// default of identity.CookieSessions too.
const DefaultMaxAge = 24 * time.Hour

// Config configures a [Store]. Backend is required; the zero value of every
// other field is a safe default: the cookie identity.DefaultSessionCookie
// (__Host-WEBCHATID-SESSION on responses that carry Secure), HttpOnly,
// Path=/, SameSite=Lax, Secure on TLS requests, 24 hours.
type Config struct {
	// Backend keeps the sessions. Required.
	Backend Backend

	// Name is the session cookie's name. If empty, it is
	// identity.DefaultSessionCookie, and "__Host-" + that name on
	// responses that carry Secure (Domain empty and Path "/" provided), as
	// identity.CookieSessions does: over TLS only the __Host- cookie is
	// read, so a cookie a sibling subdomain tossed in under the plain name
	// logs nobody in. A __Host- name requires an empty Domain and Path "/";
	// __Host- and __Secure- names are always Secure.
	Name string

	// MaxAge is a session's lifetime from its login, kept by the backend and
	// sent as the cookie's Max-Age, in whole seconds. Negative values and
	// values under a second are refused. If zero, [DefaultMaxAge].
	MaxAge time.Duration

	// Domain is the cookie's Domain attribute. If empty, the cookie is
	// host-only.
	Domain string

	// Path is the cookie's Path attribute. If empty, "/".
	Path string

	// Secure says when the cookie carries Secure (cookie.SecureAuto: on TLS
	// requests). Behind a proxy that terminates TLS, set
	// cookie.SecureAlways. cookie.SecureNever is refused with a __Host- or
	// __Secure- name and with SameSite=None.
	Secure cookie.SecureMode

	// SameSite is the cookie's SameSite attribute. If zero,
	// http.SameSiteLaxMode. SameSite=None makes the cookie Secure.
	SameSite http.SameSite

	// Logger receives the Store's log lines (Debug: cookies ignored; Error:
	// a logout whose session could not be deleted). They never contain
	// session IDs, cookie values or session contents. If nil,
	// slog.Default().
	Logger *slog.Logger

	// Now returns the current time; tests inject a clock here. If nil,
	// time.Now.
	Now func() time.Time
}

// Store is an identity.SessionStore that keeps sessions in a [Backend]. It
// is safe for concurrent use. Make one with [New]; give it to identity.New
// as Config.Sessions.
type Store struct {
	backend  Backend
	plain    string // the configured name, or identity.DefaultSessionCookie
	host     string // "__Host-" + DefaultSessionCookie for Secure responses; "" unless the name is defaulted
	maxAge   time.Duration
	domain   string
	path     string
	secure   cookie.SecureMode // after promotion: __Host-, __Secure- and SameSite=None make SecureAuto SecureAlways
	sameSite http.SameSite
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Store for cfg. The error names the invalid field.
func New(cfg Config) (*Store, error) {
	s, err := newStore(cfg)
	if err != nil {
		return nil, fmt.Errorf("sessionstore: New: %w", err)
	}
	return s, nil
}

func newStore(cfg Config) (*Store, error) {
	if cfg.Backend == nil {
		return nil, errors.New("Config.Backend is nil")
	}
	s := &Store{backend: cfg.Backend, plain: cfg.Name, maxAge: cfg.MaxAge, domain: cfg.Domain, path: cfg.Path,
		secure: cfg.Secure, sameSite: cfg.SameSite, log: cfg.Logger, now: cfg.Now}
	switch {
	case s.maxAge == 0:
		s.maxAge = DefaultMaxAge
	case s.maxAge < time.Second:
		return nil, fmt.Errorf("Config.MaxAge: %v is under a second", cfg.MaxAge)
	}
	if s.path == "" {
		s.path = "/"
	}
	if s.sameSite == 0 {
		s.sameSite = http.SameSiteLaxMode
	}
	if s.sameSite < http.SameSiteDefaultMode || s.sameSite > http.SameSiteNoneMode {
		return nil, fmt.Errorf("Config.SameSite: unknown value %d", cfg.SameSite)
	}
	switch s.secure {
	case cookie.SecureAuto, cookie.SecureAlways, cookie.SecureNever:
	default:
		return nil, fmt.Errorf("Config.Secure: unknown value %v", cfg.Secure)
	}
	defaulted := s.plain == ""
	if defaulted {
		s.plain = identity.DefaultSessionCookie
	}
	lower := strings.ToLower(s.plain)
	mustSecure := ""
	switch {
	case strings.HasPrefix(lower, "__host-"):
		if s.domain != "" || s.path != "/" {
			return nil, fmt.Errorf("Config.Name: a __Host- cookie requires an empty Domain and Path \"/\"")
		}
		mustSecure = "a __Host- name"
	case strings.HasPrefix(lower, "__secure-"):
		mustSecure = "a __Secure- name"
	case s.sameSite == http.SameSiteNoneMode:
		mustSecure = "SameSite=None"
	}
	if mustSecure != "" {
		if s.secure == cookie.SecureNever {
			return nil, fmt.Errorf("Config.Secure: SecureNever with %s, which browsers drop without Secure", mustSecure)
		}
		s.secure = cookie.SecureAlways
	}
	// http.Cookie.Valid checks the name, Path and Domain as net/http will
	// write them.
	if err := (&http.Cookie{Name: s.plain, Value: "x", Path: s.path, Domain: s.domain}).Valid(); err != nil {
		return nil, fmt.Errorf("Config.Name, Path or Domain: %w", err)
	}
	if defaulted && s.domain == "" && s.path == "/" && s.secure != cookie.SecureNever {
		s.host = "__Host-" + identity.DefaultSessionCookie
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// isSecure reports whether the cookie sent in response to r carries Secure.
func (s *Store) isSecure(r *http.Request) bool {
	switch s.secure {
	case cookie.SecureAlways:
		return true
	case cookie.SecureNever:
		return false
	}
	return r.TLS != nil
}

// name is the cookie's name for a response to r (and the only one read).
func (s *Store) name(r *http.Request) string {
	if s.host != "" && s.isSecure(r) {
		return s.host
	}
	return s.plain
}

// Name returns the session cookie's name: the configured one, or
// identity.DefaultSessionCookie (responses with Secure then use the
// __Host- name; see [Store.Names]).
func (s *Store) Name() string { return s.plain }

// Names returns every name the session cookie may have: Name, and the
// __Host- name when the name is defaulted.
func (s *Store) Names() []string {
	if s.host == "" {
		return []string{s.plain}
	}
	return []string{s.plain, s.host}
}

// idLen is the length of a session ID: 128 random bits, unpadded base64url.
const idLen = 22

var b64 = base64.RawURLEncoding.Strict()

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return b64.EncodeToString(b[:]), nil
}

// key is the backend's key for a session ID: its SHA-256, so that what the
// database holds cannot be replayed as a cookie.
func key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return b64.EncodeToString(sum[:])
}

// requestID returns the well-formed session ID the request carries under
// the name for r, or "".
func (s *Store) requestID(r *http.Request) string {
	c, err := r.Cookie(s.name(r))
	if err != nil {
		return ""
	}
	if len(c.Value) != idLen {
		s.ignored(r, "malformed value")
		return ""
	}
	if b, err := b64.DecodeString(c.Value); err != nil || len(b) != 16 {
		s.ignored(r, "malformed value")
		return ""
	}
	return c.Value
}

func (s *Store) ignored(r *http.Request, reason string) {
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "sessionstore: session cookie ignored",
		slog.String("cookie", s.name(r)), slog.String("reason", reason))
}

// record is the storage format of an identity.SessionInfo in the backend.
// It is private so that the public type can change without breaking stored
// sessions.
type record struct {
	UserName     string         `json:"n,omitempty"`
	CustomUserID string         `json:"u"`
	SSOToken     string         `json:"s,omitempty"`
	Extra        map[string]any `json:"x,omitempty"`
}

func validate(info *identity.SessionInfo) error {
	if info == nil {
		return fmt.Errorf("%w: nil", identity.ErrInvalidSession)
	}
	if info.CustomUserID == "" {
		return fmt.Errorf("%w: CustomUserID is empty", identity.ErrInvalidSession)
	}
	for _, k := range [...]string{"name", "custom_user_id", "sso_token"} {
		if _, ok := info.Extra[k]; ok {
			return fmt.Errorf("%w: Extra key %q is reserved", identity.ErrInvalidSession, k)
		}
	}
	return nil
}

// Session returns the session whose ID the request's cookie carries. A
// missing or malformed cookie is anonymous, and so is an ID the backend
// does not know, a session logged out, or one past its expiry (by
// Config.Now). The only error is a failure of the backend (one read per
// call with a well-formed cookie, none without): identity's Server then
// treats the request as anonymous, or answers 503 with StrictSessions.
func (s *Store) Session(r *http.Request) (*identity.SessionInfo, error) {
	id := s.requestID(r)
	if id == "" {
		return nil, nil
	}
	data, expires, err := s.backend.SessionGet(r.Context(), key(id))
	if err != nil {
		return nil, fmt.Errorf("sessionstore: Config.Backend: %w", err)
	}
	if data == nil {
		s.ignored(r, "unknown or ended session")
		return nil, nil
	}
	if !s.now().Before(expires) {
		s.ignored(r, "expired")
		return nil, nil
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		s.ignored(r, "undecodable session")
		return nil, nil
	}
	info := &identity.SessionInfo{UserName: rec.UserName, CustomUserID: rec.CustomUserID, SSOToken: rec.SSOToken, Extra: rec.Extra}
	if validate(info) != nil {
		s.ignored(r, "undecodable session")
		return nil, nil
	}
	return info, nil
}

// Login starts a session for info under a new random session ID (128 bits
// from crypto/rand: a fresh one on every call, against session fixation),
// deletes the session the request carried, if any, and sets the cookie. It
// returns an error wrapping identity.ErrInvalidSession for unusable info,
// and the backend's failure otherwise; then no cookie is set.
func (s *Store) Login(w http.ResponseWriter, r *http.Request, info *identity.SessionInfo) error {
	if err := validate(info); err != nil {
		return err
	}
	data, err := json.Marshal(record{UserName: info.UserName, CustomUserID: info.CustomUserID, SSOToken: info.SSOToken, Extra: info.Extra})
	if err != nil {
		return fmt.Errorf("%w: %v", identity.ErrInvalidSession, err)
	}
	id, err := newID()
	if err != nil {
		return fmt.Errorf("sessionstore: session ID: %w", err)
	}
	if old := s.requestID(r); old != "" {
		if err := s.backend.SessionDelete(r.Context(), key(old)); err != nil {
			return fmt.Errorf("sessionstore: Config.Backend: %w", err)
		}
	}
	now := s.now()
	if err := s.backend.SessionPut(r.Context(), key(id), data, now.Add(s.maxAge)); err != nil {
		return fmt.Errorf("sessionstore: Config.Backend: %w", err)
	}
	name := s.name(r)
	http.SetCookie(w, s.cookie(r, name, id, now))
	if name != s.plain {
		http.SetCookie(w, s.deletion(r, s.plain))
		cookie.ExpireTossed(w, r, s.plain)
	}
	return nil
}

// Logout ends the request's session: it deletes it from the backend, then
// clears the cookie, so that a copy of the cookie logs nobody in. If the
// backend fails, the failure is logged and the cookie is kept, so that the
// page still shows the user logged in and can retry. [identity.Server]
// calls [Store.End] instead, which returns the failure (its
// LogoutHandler then answers 503).
func (s *Store) Logout(w http.ResponseWriter, r *http.Request) {
	if err := s.End(w, r); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "sessionstore: logout failed: session not deleted",
			slog.String("error", err.Error()))
	}
}

// End is [Store.Logout] that returns the backend's failure (and then writes
// nothing) instead of logging it.
func (s *Store) End(w http.ResponseWriter, r *http.Request) error {
	if id := s.requestID(r); id != "" {
		if err := s.backend.SessionDelete(r.Context(), key(id)); err != nil {
			return fmt.Errorf("sessionstore: Config.Backend: %w", err)
		}
	}
	if name := s.name(r); name != s.plain {
		http.SetCookie(w, s.deletion(r, name))
	}
	http.SetCookie(w, s.deletion(r, s.plain))
	if !strings.HasPrefix(strings.ToLower(s.plain), "__host-") {
		cookie.ExpireTossed(w, r, s.plain)
	}
	return nil
}

// cookie is the session cookie named name carrying id, set at now.
func (s *Store) cookie(r *http.Request, name, id string, now time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    id,
		Path:     s.path,
		Domain:   s.domain,
		Expires:  now.Add(s.maxAge),
		MaxAge:   int(s.maxAge / time.Second),
		HttpOnly: true,
		Secure:   s.isSecure(r) || strings.HasPrefix(name, "__Host-"),
		SameSite: s.sameSite,
	}
}

// deletion is the cookie that makes the browser delete the one named name.
func (s *Store) deletion(r *http.Request, name string) *http.Cookie {
	c := s.cookie(r, name, "", time.Unix(0, 0))
	c.Expires, c.MaxAge = time.Unix(0, 0), -1
	return c
}
