package cookie

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/webchatid/webchatid/internal/headersafe"
	"github.com/webchatid/webchatid/internal/uuidtext"
)

// Defaults of [Config], from IBM's web chat tutorial.
const (
	DefaultName   = "ANONYMOUS-USER-ID"
	DefaultPrefix = "anon-"
	DefaultMaxAge = 45 * 24 * time.Hour
)

// DefaultHostName is the anonymous-ID cookie's name, when Config.Name is
// empty, on responses that carry Secure: the __Host- prefix makes browsers
// refuse the cookie from anywhere but this host over HTTPS, so a sibling
// subdomain cannot set or override it ("cookie tossing").
const DefaultHostName = "__Host-" + DefaultName

// uuidLen is the length of a canonical UUID: 8-4-4-4-12 hex digits.
const uuidLen = uuidtext.Len

// Config describes the anonymous-ID cookie. The zero value gives IBM's
// tutorial defaults: a cookie named ANONYMOUS-USER-ID holding "anon-" and a
// random UUID, for 45 days, HttpOnly, Path=/, SameSite=Lax, Secure on TLS
// requests; over TLS its name carries the __Host- prefix (see Name).
// HttpOnly is always set.
type Config struct {
	// Name is the cookie name. A name starting with __Host- must have an
	// empty Domain and Path "/", and is always Secure; one starting with
	// __Secure- is always Secure (both prefixes are matched ignoring case).
	//
	// If empty, the name depends on the response: [DefaultHostName]
	// (__Host-ANONYMOUS-USER-ID) on responses that carry Secure (over TLS
	// with SecureAuto, always with SecureAlways), provided Domain is empty
	// and Path is "/", and [DefaultName] (ANONYMOUS-USER-ID, the name of
	// IBM's tutorial) otherwise. IBM never reads this cookie, only the
	// token's sub, so the prefix costs no compatibility; the one place the
	// old name still counts is a visitor arriving over TLS with only an
	// ANONYMOUS-USER-ID cookie (set by an earlier version or over plain
	// HTTP): the ID is kept, moved to the __Host- name, and the old cookie
	// expired. A sibling subdomain can therefore still choose the ID of a
	// visitor who has no __Host- cookie yet; with BindingKeys such an ID
	// is not [ID.Proven] unless the sibling holds a bound value this host
	// issued under the old name.
	Name string

	// Prefix starts every generated ID, and the default validator requires
	// it. It must be visible ASCII without ; = , " \ or space, and without
	// '.' when BindingKeys are set. If empty, DefaultPrefix is used.
	Prefix string

	// MaxAge is the cookie lifetime, renewed on every GetOrSet; it is sent as
	// both Max-Age and Expires, in whole seconds. IBM bills monthly active
	// users by ID and advises at least 45 days; browsers cap it at 400 days.
	// Negative values and values under a second are refused. If zero, 45
	// days is used.
	MaxAge time.Duration

	// Domain is the cookie's Domain attribute. If empty, the cookie is
	// host-only, which is the safer choice.
	Domain string

	// Path is the cookie's Path attribute. If empty, "/" is used.
	Path string

	// Secure says when the cookie carries Secure. The default, SecureAuto,
	// sets it on requests that arrived over TLS.
	Secure SecureMode

	// SameSite is the cookie's SameSite attribute. Use http.SameSiteNoneMode
	// (which implies Secure) only when the site itself is embedded cross-site.
	// If zero, http.SameSiteLaxMode is used.
	SameSite http.SameSite

	// Partitioned sets the Partitioned attribute (CHIPS) for sites embedded
	// cross-site; it implies Secure. The default is false.
	Partitioned bool

	// NewID generates an ID, for example to use UUIDv7. The IDs must pass the
	// validator and the header-safety rules (1 to 256 bytes of visible ASCII,
	// none of ; = , " \ or space) and, when BindingKeys are set, contain no
	// '.'. When NewID or Validate is set, NewAnonymous generates one ID to
	// check that. If nil, Prefix followed by a random (version 4) UUID is used.
	NewID func() (string, error)

	// Validate reports whether an ID taken from a request is well formed.
	// The header-safety rules apply in addition to it, always. If nil, an ID
	// must be Prefix followed by a canonical lowercase UUID (any version).
	Validate func(id string) error

	// BindingKeys turns on binding: the cookie then holds the ID, a '.' and
	// an HMAC-SHA256 of the cookie name and the ID (truncated to 128 bits,
	// base64url), so that knowing an ID is not enough to present it. Each
	// key must be at least 32 bytes of secret random data, distinct from any
	// other key. The first key signs; every key verifies, so rotate by
	// putting a new key first and removing the old one after MaxAge. Cookies
	// signed with an older key are re-set with the first. Values with a bad
	// or missing MAC are replaced with fresh IDs (see AcceptUnboundUntil);
	// removing all keys later replaces bound cookies too. If nil, the cookie
	// holds the bare ID.
	BindingKeys [][]byte

	// AcceptUnboundUntil eases the switch to binding: until this time, a
	// well-formed cookie without a MAC is accepted and re-set bound, so
	// returning visitors keep their IDs. Anyone who knows an ID (the sub of
	// every token) can present it in this window, so such an ID is not
	// [ID.Proven], and neither is the cookie it is re-set as: that value
	// carries a MAC marked "adopted" and stays unproven after the window,
	// until the cookie expires (a ledger then neither records nor links
	// it). It requires BindingKeys. If zero, unbound cookies are never
	// accepted when binding is on.
	AcceptUnboundUntil time.Time

	// Now returns the current time; tests inject a clock here. If nil,
	// time.Now is used.
	Now func() time.Time
}

// Anonymous issues and reads the anonymous-ID cookie. Create one with
// [NewAnonymous]; it is immutable and safe for concurrent use.
type Anonymous struct {
	plain         variant  // the configured name, or DefaultName
	host          *variant // DefaultHostName for Secure responses; nil unless Name is defaulted
	prefix        string
	newID         func() (string, error) // nil: prefix + UUIDv4
	validate      func(string) error     // nil: prefix + canonical UUID
	bindKeys      [][]byte               // nil: binding off
	unboundBefore time.Time
	now           func() time.Time
}

// variant is the cookie under one name: its attributes and, with binding,
// the binders for that name (the MAC covers the name).
type variant struct {
	attrs attributes
	bind  *binder // nil: binding off
	adopt *binder // MACs of IDs accepted unbound in the AcceptUnboundUntil window
}

func newVariant(attrs attributes, keys [][]byte) variant {
	v := variant{attrs: attrs}
	if len(keys) > 0 {
		v.bind = newBinder(attrs.name, bindContext, keys)
		v.adopt = newBinder(attrs.name, adoptContext, keys)
	}
	return v
}

// An ID is an anonymous ID with what the server knows of where it came
// from, as [Anonymous.GetOrSetID] and [Anonymous.PeekID] return it.
type ID struct {
	// Value is the ID: the token's sub.
	Value string

	// New reports that the ID was generated for this response.
	New bool

	// Proven reports that this server issued the ID to this browser: it
	// was generated now, or it came in a cookie whose binding MAC (see
	// Config.BindingKeys) verified. Without binding only new IDs are
	// proven; a bare ID in a cookie may have been made up or copied from
	// someone's token. IDs accepted in the AcceptUnboundUntil window are
	// not proven.
	Proven bool
}

// NewAnonymous validates cfg, fills in its defaults and returns the
// [Anonymous] it describes. The error names the first bad field, as in
// "cookie: Config.Name: …". cfg is not modified.
func NewAnonymous(cfg Config) (*Anonymous, error) {
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	attrs, err := newAttributes(attributeSpec{cfg: "Config", name: name, domain: cfg.Domain, path: cfg.Path, secure: cfg.Secure, sameSite: cfg.SameSite, partitioned: cfg.Partitioned, maxAge: cfg.MaxAge, defaultMaxAge: DefaultMaxAge})
	if err != nil {
		return nil, err
	}
	a := &Anonymous{
		prefix:        cfg.Prefix,
		newID:         cfg.NewID,
		validate:      cfg.Validate,
		unboundBefore: cfg.AcceptUnboundUntil,
		now:           cfg.Now,
	}
	if a.prefix == "" {
		a.prefix = DefaultPrefix
	}
	if err := headersafe.Check(a.prefix); err != nil {
		return nil, cfgError("Config", "Prefix", "%v", err)
	}
	if len(a.prefix) > headersafe.MaxLen-uuidLen {
		return nil, cfgError("Config", "Prefix", "longer than %d bytes, leaving no room for a UUID", headersafe.MaxLen-uuidLen)
	}
	for i, key := range cfg.BindingKeys {
		if len(key) < minBindingKeyLen {
			return nil, cfgError("Config", fmt.Sprintf("BindingKeys[%d]", i), "%d bytes, want at least %d", len(key), minBindingKeyLen)
		}
	}
	if len(cfg.BindingKeys) > 0 {
		if strings.IndexByte(a.prefix, bindSep) >= 0 {
			return nil, cfgError("Config", "Prefix", "must not contain %q when BindingKeys are set", bindSep)
		}
		a.bindKeys = cfg.BindingKeys
	} else if !cfg.AcceptUnboundUntil.IsZero() {
		return nil, cfgError("Config", "AcceptUnboundUntil", "set without BindingKeys")
	}
	a.plain = newVariant(attrs, a.bindKeys)
	if cfg.Name == "" && attrs.domain == "" && attrs.path == "/" && attrs.secure != SecureNever {
		hostAttrs, err := newAttributes(attributeSpec{cfg: "Config", name: DefaultHostName, path: "/", secure: SecureAlways, sameSite: cfg.SameSite, partitioned: cfg.Partitioned, maxAge: cfg.MaxAge, defaultMaxAge: DefaultMaxAge})
		if err != nil {
			return nil, err
		}
		host := newVariant(hostAttrs, a.bindKeys)
		a.host = &host
	}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.NewID != nil || cfg.Validate != nil {
		if _, err := a.generate(); err != nil {
			return nil, fmt.Errorf("cookie: Config.NewID: %w", err)
		}
	}
	return a, nil
}

// defaultAnonymous serves [GetOrSetAnonymousID]. It is never modified.
var defaultAnonymous = func() *Anonymous {
	a, err := NewAnonymous(Config{})
	if err != nil {
		panic("cookie: default Config is invalid: " + err.Error())
	}
	return a
}()

// GetOrSetAnonymousID is [Anonymous.GetOrSet] with the zero [Config]: IBM's
// tutorial cookie ANONYMOUS-USER-ID holding "anon-" and a random UUID
// (__Host-ANONYMOUS-USER-ID over TLS).
func GetOrSetAnonymousID(w http.ResponseWriter, r *http.Request) (id string, isNew bool, err error) {
	return defaultAnonymous.GetOrSet(w, r)
}

// Name returns the cookie name: the configured one, or [DefaultName] when
// Config.Name is empty (responses with Secure then use [DefaultHostName];
// see [Anonymous.NameFor]).
func (a *Anonymous) Name() string { return a.plain.attrs.name }

// Names returns every name the cookie may have: Name, and DefaultHostName
// when the name is defaulted.
func (a *Anonymous) Names() []string {
	if a.host == nil {
		return []string{a.plain.attrs.name}
	}
	return []string{a.plain.attrs.name, a.host.attrs.name}
}

// NameFor returns the name of the cookie a response to r carries.
func (a *Anonymous) NameFor(r *http.Request) string { return a.variant(r).attrs.name }

// variant chooses the cookie for a response to r: the __Host- one when the
// response carries Secure and the name is defaulted.
func (a *Anonymous) variant(r *http.Request) *variant {
	if a.host != nil && a.plain.attrs.isSecure(r) {
		return a.host
	}
	return &a.plain
}

// GetOrSet returns the anonymous ID of the visitor who sent r and (re-)sets
// the cookie on w with a fresh expiry. It takes the ID from the first cookie
// of that name that is well formed (and, with binding, authentic); otherwise
// it generates a new ID and reports isNew. A malformed value is never
// returned. Calling GetOrSet again for the same response returns the ID the
// first call set and replaces its Set-Cookie line instead of adding one.
//
// Set the cookie before the response header is written. The only error is a
// failure to generate an ID, in which case nothing is written.
func (a *Anonymous) GetOrSet(w http.ResponseWriter, r *http.Request) (id string, isNew bool, err error) {
	v, err := a.GetOrSetID(w, r)
	return v.Value, v.New, err
}

// GetOrSetID is [Anonymous.GetOrSet] that also says whether the ID is
// [ID.Proven]: use that before trusting the ID for anything beyond this
// browser's token (recording it, linking it to an account).
func (a *Anonymous) GetOrSetID(w http.ResponseWriter, r *http.Request) (ID, error) {
	now := a.now()
	v := a.variant(r)
	// After an earlier call for this response, keep its ID and its one
	// Set-Cookie line.
	lines := w.Header()["Set-Cookie"]
	for i, line := range lines {
		val, ok := strings.CutPrefix(line, v.attrs.nameEq)
		if !ok {
			continue
		}
		val, _, _ = strings.Cut(val, ";")
		if id, value, ok := a.parse(v, val, now); ok {
			lines[i] = v.attrs.line(r, value, now)
			id.New = false
			return id, nil
		}
	}
	id, value, ok := a.fromCookies(v, r, now)
	legacy := false
	if !ok && v != &a.plain {
		// Over TLS, a visitor whose cookie predates the __Host- name.
		if id, _, ok = a.fromCookies(&a.plain, r, now); ok {
			value, legacy = a.valueFor(v, id), true
		}
	}
	if !ok {
		gen, err := a.generate()
		if err != nil {
			return ID{}, fmt.Errorf("cookie: %w", err)
		}
		id = ID{Value: gen, New: true, Proven: true}
		value = a.valueFor(v, id)
	}
	setLine(w.Header(), v.attrs.line(r, value, now))
	if legacy {
		http.SetCookie(w, a.plain.attrs.deletion(r))
	}
	return id, nil
}

// valueFor is the cookie value that carries id under v: bare without
// binding, else MACed, and marked adopted when id is not proven.
func (a *Anonymous) valueFor(v *variant, id ID) string {
	switch {
	case v.bind == nil:
		return id.Value
	case id.Proven:
		return v.bind.sign(id.Value)
	default:
		return adoptedValue(v.adopt, id.Value)
	}
}

// Peek returns the valid ID carried by r, if any, and writes nothing. It
// applies the same checks as GetOrSet, so ok is false where GetOrSet would
// generate a new ID.
func (a *Anonymous) Peek(r *http.Request) (id string, ok bool) {
	v, ok := a.PeekID(r)
	return v.Value, ok
}

// PeekID is [Anonymous.Peek] that also says whether the ID is
// [ID.Proven].
func (a *Anonymous) PeekID(r *http.Request) (ID, bool) {
	now := a.now()
	v := a.variant(r)
	id, _, ok := a.fromCookies(v, r, now)
	if !ok && v != &a.plain {
		id, _, ok = a.fromCookies(&a.plain, r, now)
	}
	return id, ok
}

// fromCookies returns the ID from the first usable cookie of v's name in r
// and the value to set for it.
func (a *Anonymous) fromCookies(v *variant, r *http.Request, now time.Time) (id ID, value string, ok bool) {
	for _, c := range r.CookiesNamed(v.attrs.name) {
		if id, value, ok := a.parse(v, c.Value, now); ok {
			return id, value, true
		}
	}
	return ID{}, "", false
}

// parse returns the ID in the cookie value val of v's name and the value to
// set for it, or ok == false when val is malformed or (with binding) not
// authentic.
func (a *Anonymous) parse(v *variant, val string, now time.Time) (id ID, value string, ok bool) {
	if v.bind == nil {
		if a.check(val) != nil {
			return ID{}, "", false
		}
		return ID{Value: val}, val, true
	}
	if len(val) > headersafe.MaxLen+2+tagLen {
		return ID{}, "", false
	}
	raw, tag, bound := strings.Cut(val, string(bindSep))
	if a.check(raw) != nil {
		return ID{}, "", false
	}
	if !bound {
		if !now.Before(a.unboundBefore) {
			return ID{}, "", false
		}
		return ID{Value: raw}, adoptedValue(v.adopt, raw), true
	}
	b, proven := v.bind, true
	if t, ok := strings.CutPrefix(tag, adoptMark); ok {
		b, proven, tag = v.adopt, false, t
	}
	key, ok := b.verify(raw, tag)
	switch {
	case !ok:
		return ID{}, "", false
	case key == 0:
		return ID{Value: raw, Proven: proven}, val, true
	case proven:
		return ID{Value: raw, Proven: true}, v.bind.sign(raw), true
	default:
		return ID{Value: raw}, adoptedValue(v.adopt, raw), true
	}
}

// Reasons an ID is refused. Internal: callers only learn "new ID".
var (
	errNoPrefix  = errors.New("does not start with the prefix")
	errNotUUID   = errors.New("prefix not followed by a canonical lowercase UUID")
	errSeparator = fmt.Errorf("contains %q, which separates the ID from its MAC", bindSep)
)

// check applies every rule an ID must pass: header safety, the validator and,
// with binding, the absence of the separator.
func (a *Anonymous) check(id string) error {
	if err := headersafe.Check(id); err != nil {
		return err
	}
	if a.validate != nil {
		if err := a.validate(id); err != nil {
			return err
		}
	} else if err := a.validateDefault(id); err != nil {
		return err
	}
	if a.bindKeys != nil && strings.IndexByte(id, bindSep) >= 0 {
		return errSeparator
	}
	return nil
}

// validateDefault accepts prefix followed by a canonical lowercase UUID.
func (a *Anonymous) validateDefault(id string) error {
	u, ok := strings.CutPrefix(id, a.prefix)
	if !ok {
		return errNoPrefix
	}
	if _, ok := uuidtext.Decode(u); !ok {
		return errNotUUID
	}
	return nil
}

// generate returns a new ID and checks it against every rule, so that a
// misbehaving NewID cannot put a bad value into a cookie or a token. Its
// errors lack the "cookie: " prefix; callers add it with context.
func (a *Anonymous) generate() (string, error) {
	var id string
	if a.newID != nil {
		var err error
		if id, err = a.newID(); err != nil {
			return "", fmt.Errorf("generating an ID: %w", err)
		}
	} else {
		u, err := uuid.NewV4()
		if err != nil {
			return "", fmt.Errorf("generating an ID: %w", err)
		}
		var buf [uuidLen]byte
		uuidtext.Encode(&buf, u)
		var sb strings.Builder
		sb.Grow(len(a.prefix) + uuidLen)
		sb.WriteString(a.prefix)
		sb.Write(buf[:])
		id = sb.String()
	}
	if err := a.check(id); err != nil {
		return "", fmt.Errorf("generated ID is refused (check Config.NewID and Config.Validate): %w", err)
	}
	return id, nil
}

// Rotate replaces the visitor's anonymous ID: it generates a new ID (bound,
// when BindingKeys are set) and sets it on w, whatever cookie r carries, so
// the next token's sub is no longer the previous visitor's. Use it on logout
// from a shared device. A Set-Cookie line for this cookie already on w is
// replaced, so GetOrSet and Rotate for one response leave one line, with the
// new ID. Set the cookie before the response header is written. The only
// error is a failure to generate an ID, in which case nothing is written.
func (a *Anonymous) Rotate(w http.ResponseWriter, r *http.Request) (id string, err error) {
	if id, err = a.generate(); err != nil {
		return "", fmt.Errorf("cookie: %w", err)
	}
	v := a.variant(r)
	value := a.valueFor(v, ID{Value: id, New: true, Proven: true})
	line := v.attrs.cookie(r, value, a.now()).String()
	h := w.Header()
	lines := h["Set-Cookie"]
	for i := range lines {
		if strings.HasPrefix(lines[i], v.attrs.nameEq) {
			lines[i] = line
			return id, nil
		}
	}
	h.Add("Set-Cookie", line)
	return id, nil
}
