package identity

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity/ledger"
)

// minRSABits is the smallest RSA key accepted for signing or for payload
// encryption, as IBM's examples and NIST advise.
const minRSABits = 2048

// minTTL is the shortest token lifetime New accepts. IBM's own refresh demo
// uses 10 seconds; anything under a second only produces expired tokens.
const minTTL = time.Second

// SigningKey is one RSA key of a [Server]: the active one signs tokens, the
// others are published in the JWKS so that tokens they signed still verify
// after a rotation.
type SigningKey struct {
	// Key is the private key: an *rsa.PrivateKey of at least 2048 bits, or
	// any crypto.Signer whose Public method returns such an *rsa.PublicKey
	// (a key held in a KMS or HSM). Tokens are signed RS256, the only
	// algorithm IBM's web chat verifies. There is no default.
	Key crypto.Signer

	// KeyID is the kid header of the tokens the key signs and of its JWK. It
	// must be 1 to 256 bytes of visible ASCII without ; = , " \ or space. If
	// empty, the key's RFC 7638 thumbprint ([claims.KeyID]) is used.
	KeyID string
}

// Config configures a [Server]. The zero value of every field except
// SigningKeys is a safe default; [New] checks every field once and reports
// the first invalid one by name.
type Config struct {
	// SigningKeys are the keys tokens are signed with. The first one signs;
	// the others are only published by the JWKS endpoint, so that tokens
	// they signed before a rotation keep verifying until they expire (see
	// also [Server.Rotate]). Key IDs must be distinct. At least one key
	// is required; there is no default.
	SigningKeys []SigningKey

	// IBMPublicKey is the "IBM-provided public key" from the web chat's
	// Security tab (an *rsa.PublicKey of at least 2048 bits, for example
	// from [keys.ParsePublicPEM]). When set, user_payload is encrypted with it
	// using PayloadScheme, so only IBM can read it. If nil, user_payload is
	// sent in clear: signed, but readable by the browser.
	IBMPublicKey crypto.PublicKey

	// PayloadScheme is how user_payload is encrypted when IBMPublicKey is
	// set. If zero, [claims.NodeRSA] (IBM's documented scheme) is used.
	PayloadScheme claims.Scheme

	// Target is the IBM product the tokens are for. If zero, [WebChat] is
	// used.
	Target Target

	// TTL is how long a token is valid after it is issued. It must be at
	// least one second and at most the target's limit (24 hours for
	// [WebChat], [OrchestrateMaxTTL] for [Orchestrate]). iat is backdated by
	// up to [claims.DefaultSkew] for verifiers whose clock runs behind, but
	// never so far that exp − iat exceeds the target's limit. If zero, one
	// hour ([claims.DefaultTTL]) is used, as IBM suggests.
	TTL time.Duration

	// Issuer, if not empty, becomes the iss claim of every token. It must be
	// valid UTF-8 without control characters. The default is no iss claim.
	Issuer string

	// Anonymous configures the anonymous-ID cookie whose value becomes the
	// token's sub. The zero value is the cookie of IBM's tutorial:
	// ANONYMOUS-USER-ID = anon-<uuid>, HttpOnly, 45 days, renewed on every
	// token request, named __Host-ANONYMOUS-USER-ID over TLS. Its Secure
	// also governs the session cookie SessionKeys makes (see SessionCookie).
	// If its Now is nil, Config.Now is used. Its Name must differ from the
	// session cookie's.
	Anonymous cookie.Config

	// Sessions tells the token endpoint who is logged in. If it is also a
	// [SessionStore] (such as [*CookieSessions]), the /authenticate and
	// /logout endpoints keep sessions in it. If nil, SessionKeys decides;
	// if both are unset, every visitor is anonymous. If it also has a
	// Names() []string method listing its cookie's names (as
	// [*CookieSessions], *sessionstore.Store and a [Chain] of them do),
	// none of them may be the anonymous cookie's.
	Sessions SessionSource

	// SessionKeys, when Sessions is nil, makes the Server keep sessions in a
	// sealed cookie (a [CookieSessions]) set up by SessionCookie: each key
	// is 32 random bytes, the first seals and all open, for rotation
	// (also at run time: [Server.Rotate]).
	// Setting both Sessions and SessionKeys is an error. The default is no
	// session cookie.
	SessionKeys [][]byte

	// SessionCookie sets the attributes of the session cookie SessionKeys
	// makes: Name, MaxAge (24 hours if zero), Domain, Path, Secure,
	// SameSite and Partitioned; its Keys and Now must be left empty
	// (SessionKeys and Config.Now give them), and it requires SessionKeys.
	// If its Name is empty, the cookie is __Host-WEBCHATID-SESSION on
	// responses that carry Secure and [DefaultSessionCookie] otherwise (see
	// [CookieSessions]). If its Secure is zero and Anonymous.Secure is
	// [cookie.SecureAlways], SecureAlways is used: behind a proxy that
	// terminates TLS, that one setting makes both cookies Secure (and
	// __Host-). (Anonymous.Secure = SecureNever does not carry over: the
	// session cookie then stays Secure over TLS.) The zero value gives
	// those defaults.
	SessionCookie cookie.SealerConfig

	// Revoker, if set, makes logout revoke the session on the server: a
	// copy of the session cookie taken before /logout then logs nobody in,
	// where by default it keeps working until it expires (24 hours). It
	// works on the sealed session cookie (SessionKeys, or a *CookieSessions
	// in Sessions), whose sessions carry a random ID: each token or /session
	// request with a session costs one Revoked read (anonymous requests
	// none), and /logout one Revoke. It fails closed: when Revoked fails the
	// session is not honoured (the token is anonymous, or 503 with
	// StrictSessions; counted as a session error), and when Revoke fails
	// /logout answers 503 and leaves the cookie, so the page can retry.
	// Sessions sealed without an ID (by an older version) are refused while
	// it is set. Use the ledger's database for a fleet (sqlstore's Store is
	// a Revoker) and memrevoke for one process. If nil, nothing is revoked.
	Revoker Revoker

	// Authenticate checks a POST /authenticate request (credentials in its
	// body or headers, as the app likes) and returns the user's info. It
	// returns nil info or an error wrapping [ErrUnauthenticated] when the
	// credentials are wrong (the client gets 401), and any other error when
	// it failed (500). The request body is limited to 1 MiB (reading more
	// fails, and an error wrapping that failure gives 413). It requires a
	// session store: Sessions implementing [SessionStore], or SessionKeys.
	// If nil, /authenticate is not served (404).
	Authenticate func(r *http.Request) (*SessionInfo, error)

	// Subject chooses the token's sub, for apps whose users always log in
	// before chatting and that want their own user ID there (IBM allows it;
	// it must never be shared by two people, and IBM advises against e-mail
	// addresses). It receives the anonymous ID and the session (nil when
	// anonymous); its result must be 1 to 256 bytes of visible ASCII
	// without ; = , " \ or space, since IBM copies sub into an HTTP header.
	// An error wrapping [ErrUnauthenticated] gives the client 401. The
	// Ledger records and links the sub it returns, since that is the
	// customer_id IBM bills and deletes by. If nil, sub is the anonymous ID,
	// which stays the same across login and logout as IBM requires within a
	// chat session.
	Subject func(r *http.Request, anonID string, s *SessionInfo) (string, error)

	// Claims, if set, is called for every token after the Server has set
	// sub, iat, exp, iss and user_payload, to add claims such as context
	// (b.Context). It must not change sub. An error wrapping
	// [ErrUnauthenticated] gives the client 401; any other error 500. If
	// nil, no claims are added.
	Claims func(r *http.Request, b *claims.Builder, s *SessionInfo) error

	// Ledger, if set, records every anonymous ID the Server issues and links
	// it to the custom user ID on login and on each token issued while
	// logged in, through a [ledger.Recorder] so the hot path writes rarely.
	// Only proven IDs ([cookie.ID.Proven]: generated by this Server, or in
	// a cookie whose binding verified) are recorded and linked, so it
	// requires Anonymous.BindingKeys (or LedgerWithoutBinding). An ID
	// accepted without a MAC during Anonymous.AcceptUnboundUntil still gets
	// a token but is neither recorded nor linked, then or later (its
	// cookie is re-set marked adopted); those visitors get linked once
	// their cookie expires and they get a fresh ID. A sub chosen by
	// Config.Subject that differs from the anonymous ID is the app's word
	// and is recorded and linked. A failing ledger is logged and counted
	// ([Server.Stats]) and does not stop token issuing unless StrictLedger
	// is set. If nil, nothing is recorded.
	Ledger ledger.Ledger

	// LedgerWithoutBinding lets a Ledger run without Anonymous.BindingKeys.
	// The ledger then takes every well-formed ID a cookie carries at its
	// word: it records IDs a client made up, and links to the logged-in
	// user any ID a client presents, including someone else's (sub is in
	// every token the page sees), so an [ledger.Eraser] would delete that
	// person's data at IBM and an export would hand it over. Set it only
	// when that risk is acceptable (a ledger only counting visitors, say).
	// The default is false: [New] refuses a Ledger without BindingKeys.
	LedgerWithoutBinding bool

	// LedgerTimeout bounds each ledger write of a request. The write runs
	// on a context detached from the request's cancellation with this
	// deadline of its own, so a ledger that hangs (a black-holed database,
	// a locked file) delays a token by at most LedgerTimeout, provided it
	// gives up when its context is done (this module's stores do), and,
	// unless StrictLedger is set, the token is still issued; and a client that
	// disconnects does not abort a write already under way. If zero, 250
	// ms is used ([DefaultLedgerTimeout]); negative values are refused.
	LedgerTimeout time.Duration

	// LogoutPolicy says whether POST /logout keeps the anonymous ID (and so
	// sub) or gives the browser a new one, for shared devices; see
	// [LogoutPolicy] for the trade-off. If zero, [KeepAnonymousID] is used.
	LogoutPolicy LogoutPolicy

	// StrictSessions makes a failing session source an error (the client
	// gets 503) instead of an anonymous token. The default is false.
	StrictSessions bool

	// StrictLedger makes a failing ledger an error (the client gets 503)
	// instead of a logged warning. The default is false.
	StrictLedger bool

	// AllowedOrigins lists the other origins (scheme://host[:port], exact
	// matches; "*" is refused) whose pages may call the endpoints with the
	// user's cookies: they get Access-Control-Allow-Origin with
	// credentials, preflight answers, and are trusted by the cross-origin
	// protection. Other origins get no CORS headers. If empty, CORS is off.
	AllowedOrigins []string

	// TrustedOrigins lists origins whose cross-origin POST requests are
	// accepted by the [net/http.CrossOriginProtection] that guards the
	// state-changing endpoints (a login form on another origin of the same
	// site), without granting them CORS. The default is none.
	TrustedOrigins []string

	// Admission bounds how many tokens are signed at once, queueing a few
	// more briefly and refusing the rest at once with 503 and Retry-After,
	// so that a burst does not slow every request down; see
	// [AdmissionConfig]. The zero value is on: GOMAXPROCS signatures at
	// once, a queue of 64 per slot, 100 ms of waiting at most.
	Admission AdmissionConfig

	// Reuse hands a visitor the token it was given before, instead of
	// signing a new one, while the claims are the same and most of its
	// lifetime is left; see [ReuseConfig]. The zero value is on: up to
	// 10 000 tokens, reused while 80 % of their lifetime is left.
	Reuse ReuseConfig

	// Logger receives the Server's logs: one Info line per signing key at
	// start, refused and failed requests with their causes as attributes.
	// Tokens, keys, cookie values and payloads are never logged. If nil,
	// [slog.Default] is used at each call.
	Logger *slog.Logger

	// Now is the clock for iat and exp and the ledger. If nil, [time.Now] is
	// used.
	Now func() time.Time
}

// DefaultLedgerTimeout is the [Config.LedgerTimeout] used when it is zero:
// short beside a token request's budget, long beside a healthy ledger write
// (a group commit takes a few milliseconds).
const DefaultLedgerTimeout = 250 * time.Millisecond

// validate fills the defaults of a copy of the caller's Config and checks
// every field except SigningKeys (see newKeyState) and the parts checked by
// the cookie package.
func (cfg *Config) validate() error {
	if !cfg.Target.valid() {
		return fmt.Errorf("identity: Config.Target: unknown target %d", int(cfg.Target))
	}
	switch {
	case cfg.TTL == 0:
		cfg.TTL = claims.DefaultTTL
	case cfg.TTL < minTTL:
		return fmt.Errorf("identity: Config.TTL: %v is shorter than %v", cfg.TTL, minTTL)
	}
	if max := cfg.Target.maxTTL(); cfg.TTL > max {
		return fmt.Errorf("identity: Config.TTL: %v is longer than %v, the most the %v target accepts", cfg.TTL, max, cfg.Target)
	}
	if !cfg.LogoutPolicy.valid() {
		return fmt.Errorf("identity: Config.LogoutPolicy: unknown policy %d", int(cfg.LogoutPolicy))
	}
	if cfg.PayloadScheme != claims.NodeRSA && cfg.PayloadScheme != claims.OAEPSHA256 {
		return fmt.Errorf("identity: Config.PayloadScheme: unknown scheme %d", int(cfg.PayloadScheme))
	}
	if cfg.IBMPublicKey != nil {
		pub, ok := cfg.IBMPublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("identity: Config.IBMPublicKey: is a %T, need an *rsa.PublicKey", cfg.IBMPublicKey)
		}
		if bits := pub.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("identity: Config.IBMPublicKey: RSA key is %d bits, need at least %d", bits, minRSABits)
		}
		if _, err := cfg.PayloadScheme.Encrypt(pub, map[string]any{"self_test": true}); err != nil {
			return fmt.Errorf("identity: Config.IBMPublicKey: encryption self-test failed: %w", err)
		}
	}
	if !utf8.ValidString(cfg.Issuer) || strings.ContainsFunc(cfg.Issuer, unicode.IsControl) {
		return fmt.Errorf("identity: Config.Issuer: must be UTF-8 text without control characters")
	}
	if cfg.Sessions != nil && len(cfg.SessionKeys) > 0 {
		return fmt.Errorf("identity: Config.SessionKeys: set either Sessions or SessionKeys, not both")
	}
	switch src := cfg.Sessions.(type) {
	case *CookieSessions:
		if src == nil || src.sealers == nil {
			return fmt.Errorf("identity: Config.Sessions: a *CookieSessions must be made by NewCookieSessions")
		}
	case SessionSourceFunc:
		if src == nil {
			return fmt.Errorf("identity: Config.Sessions: nil SessionSourceFunc")
		}
	}
	if sc := cfg.SessionCookie; sc.Keys != nil || sc.Now != nil {
		return fmt.Errorf("identity: Config.SessionCookie: leave Keys and Now empty; SessionKeys and Config.Now give them")
	} else if len(cfg.SessionKeys) == 0 && (sc.Name != "" || sc.MaxAge != 0 || sc.Domain != "" || sc.Path != "" || sc.Secure != 0 || sc.SameSite != 0 || sc.Partitioned) {
		return fmt.Errorf("identity: Config.SessionCookie: set without SessionKeys (configure a Sessions store's cookie with NewCookieSessions)")
	}
	for i, k := range cfg.SessionKeys {
		if err := checkSessionKey(k); err != nil {
			return fmt.Errorf("identity: Config.SessionKeys[%d]: %w", i, err)
		}
	}
	for i, k := range cfg.SessionKeys {
		for j, b := range cfg.Anonymous.BindingKeys {
			if subtle.ConstantTimeCompare(k, b) == 1 {
				return fmt.Errorf("identity: Config.SessionKeys[%d]: is also Config.Anonymous.BindingKeys[%d]: use a separate random key for each purpose", i, j)
			}
		}
	}
	if cfg.Revoker != nil && len(cfg.SessionKeys) == 0 {
		if _, ok := cfg.Sessions.(*CookieSessions); !ok {
			return fmt.Errorf("identity: Config.Revoker: revokes sealed session cookies: set SessionKeys, or Sessions to a *CookieSessions (a session source of your own revokes its sessions itself)")
		}
	}
	switch {
	case cfg.LedgerTimeout < 0:
		return fmt.Errorf("identity: Config.LedgerTimeout: %v is negative", cfg.LedgerTimeout)
	case cfg.LedgerTimeout == 0:
		cfg.LedgerTimeout = DefaultLedgerTimeout
	}
	if cfg.Ledger != nil && len(cfg.Anonymous.BindingKeys) == 0 && !cfg.LedgerWithoutBinding {
		return fmt.Errorf("identity: Config.Ledger: needs Config.Anonymous.BindingKeys, so that only IDs this server issued are recorded and linked (without them anyone can present a made-up ID, or someone else's: sub is in every token); set BindingKeys to 32 or more random bytes kept across restarts (openssl rand 32), or set Config.LedgerWithoutBinding to accept that risk")
	}
	if cfg.Authenticate != nil && len(cfg.SessionKeys) == 0 {
		if _, ok := cfg.Sessions.(SessionStore); !ok {
			if cfg.Sessions != nil {
				return fmt.Errorf("identity: Config.Authenticate: Config.Sessions (type %T) cannot keep a login: drop Authenticate if your app logs users in itself, or make Sessions a SessionStore such as *CookieSessions", cfg.Sessions)
			}
			return fmt.Errorf("identity: Config.Authenticate: needs a session store to keep the login: set SessionKeys, or Sessions to a SessionStore such as *CookieSessions")
		}
	}
	for i, o := range cfg.AllowedOrigins {
		n, err := parseOrigin(o)
		if err != nil {
			return fmt.Errorf("identity: Config.AllowedOrigins[%d]: %w", i, err)
		}
		cfg.AllowedOrigins[i] = n
	}
	for i, o := range cfg.TrustedOrigins {
		n, err := parseOrigin(o)
		if err != nil {
			return fmt.Errorf("identity: Config.TrustedOrigins[%d]: %w", i, err)
		}
		cfg.TrustedOrigins[i] = n
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Anonymous.Now == nil {
		cfg.Anonymous.Now = cfg.Now
	}
	return nil
}

// clone gives cfg its own copies of the caller's slices, so that New never
// writes to, and the Server never sees later changes of, the caller's
// arrays.
func (cfg *Config) clone() {
	cfg.SigningKeys = slices.Clone(cfg.SigningKeys)
	cfg.SessionKeys = slices.Clone(cfg.SessionKeys)
	for i, k := range cfg.SessionKeys {
		cfg.SessionKeys[i] = slices.Clone(k)
	}
	cfg.AllowedOrigins = slices.Clone(cfg.AllowedOrigins)
	cfg.TrustedOrigins = slices.Clone(cfg.TrustedOrigins)
}

// checkSessionKey refuses a session key that is not 32 bytes of key
// material, pointing out the usual slip of passing the hex or base64 text
// that openssl printed instead of the bytes it stands for.
func checkSessionKey(k []byte) error {
	switch {
	case len(k) == 64 && isHex(k):
		return errors.New("key is 64 hex characters: decode it (hex.DecodeString) to the 32 bytes it stands for")
	case len(k) == 44 && k[43] == '=':
		return errors.New("key is 44 characters of base64: decode it (base64.StdEncoding) to the 32 bytes it stands for")
	case len(k) != 32:
		return fmt.Errorf("key is %d bytes, need 32 random bytes", len(k))
	case !slices.ContainsFunc(k, func(b byte) bool { return b != 0 }):
		return errors.New("key is all zeros: use 32 random bytes (crypto/rand, or openssl rand 32)")
	}
	return nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
