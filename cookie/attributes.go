package cookie

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// SecureMode says when a cookie carries the Secure attribute.
type SecureMode int

const (
	// SecureAuto sets Secure when the request arrived over TLS (r.TLS != nil).
	// It is the zero value. Behind a proxy that terminates TLS, r.TLS is nil,
	// so use SecureAlways there. Names with the __Host- or __Secure- prefix,
	// SameSite=None and Partitioned turn SecureAuto into SecureAlways, because
	// browsers drop those cookies without Secure.
	SecureAuto SecureMode = iota

	// SecureAlways always sets Secure.
	SecureAlways

	// SecureNever never sets Secure. It is refused at construction for names
	// with the __Host- or __Secure- prefix, for SameSite=None and for
	// Partitioned. Meant for plain-HTTP development only.
	SecureNever
)

// String returns the constant's name.
func (m SecureMode) String() string {
	switch m {
	case SecureAuto:
		return "SecureAuto"
	case SecureAlways:
		return "SecureAlways"
	case SecureNever:
		return "SecureNever"
	}
	return fmt.Sprintf("SecureMode(%d)", int(m))
}

const (
	// maxCookieSize is the limit browsers put on one cookie (RFC 6265bis §5.7:
	// name plus value). Sealer applies it to the whole Set-Cookie value, which
	// is stricter and so also safe for older browsers that counted attributes.
	maxCookieSize = 4096
	// maxAttributeValue is RFC 6265bis's limit for a Path or Domain value.
	maxAttributeValue = 1024
)

// attributes is the validated, immutable set of attributes of one cookie.
type attributes struct {
	name        string
	nameEq      string // name + "=", to find our cookie in Set-Cookie lines
	domain      string
	path        string
	secure      SecureMode // SecureAuto, SecureAlways or SecureNever after promotion
	sameSite    http.SameSite
	partitioned bool
	maxAge      time.Duration // whole seconds, at least one

	lines *lineCache // Set by newAttributes, for line
}

// lineCache holds, for the second last asked for, the Set-Cookie line's
// text after the value ("; Path=/; Expires=…"), one for each value of
// Secure: it only changes with the second, and formatting it (and the
// http.Cookie behind it) is most of the cost of renewing a cookie.
type lineCache struct {
	tail [2]atomic.Pointer[lineTail] // by Secure
}

type lineTail struct {
	unix int64 // now.Unix()
	text string
}

// cfgError returns "cookie: <cfg>.<field>: <msg>".
func cfgError(cfg, field, format string, args ...any) error {
	return fmt.Errorf("cookie: %s.%s: %s", cfg, field, fmt.Sprintf(format, args...))
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case, the
// way RFC 6265bis matches cookie-name prefixes.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// attributeSpec is what [Config] and [SealerConfig] say about their cookie.
type attributeSpec struct {
	cfg           string // the config type's name, for error messages
	name          string
	domain, path  string
	secure        SecureMode
	sameSite      http.SameSite
	partitioned   bool
	maxAge        time.Duration
	defaultMaxAge time.Duration // used when maxAge is zero
}

// newAttributes validates the cookie attributes shared by [Config] and
// [SealerConfig] and fills defaults.
func newAttributes(spec attributeSpec) (attributes, error) {
	cfg, name, maxAge, defaultMaxAge := spec.cfg, spec.name, spec.maxAge, spec.defaultMaxAge
	a := attributes{name: name, nameEq: name + "=", domain: spec.domain, path: spec.path, secure: spec.secure, sameSite: spec.sameSite, partitioned: spec.partitioned, maxAge: maxAge}

	if name == "" {
		return a, cfgError(cfg, "Name", "required")
	}
	if (&http.Cookie{Name: name}).Valid() != nil {
		return a, cfgError(cfg, "Name", "%q is not a valid cookie name (an RFC 7230 token)", name)
	}
	hostPrefix := hasPrefixFold(name, "__Host-")
	securePrefix := hasPrefixFold(name, "__Secure-")

	if a.path == "" {
		a.path = "/"
	}
	if a.path[0] != '/' {
		return a, cfgError(cfg, "Path", "must start with /")
	}
	if len(a.path) > maxAttributeValue {
		return a, cfgError(cfg, "Path", "longer than %d bytes", maxAttributeValue)
	}
	if (&http.Cookie{Name: "x", Path: a.path}).Valid() != nil {
		return a, cfgError(cfg, "Path", "contains a control character or ;")
	}
	if hostPrefix && a.path != "/" {
		return a, cfgError(cfg, "Path", "must be / for a __Host- cookie")
	}

	if a.domain != "" {
		if len(a.domain) > maxAttributeValue {
			return a, cfgError(cfg, "Domain", "longer than %d bytes", maxAttributeValue)
		}
		if (&http.Cookie{Name: "x", Domain: a.domain}).Valid() != nil {
			return a, cfgError(cfg, "Domain", "%q is not a valid cookie domain", a.domain)
		}
		if hostPrefix {
			return a, cfgError(cfg, "Domain", "must be empty for a __Host- cookie")
		}
	}

	switch a.sameSite {
	case 0:
		a.sameSite = http.SameSiteLaxMode
	case http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
	default:
		return a, cfgError(cfg, "SameSite", "unknown mode %d", int(a.sameSite))
	}

	var needSecure string
	switch {
	case hostPrefix:
		needSecure = "a __Host- cookie"
	case securePrefix:
		needSecure = "a __Secure- cookie"
	case a.sameSite == http.SameSiteNoneMode:
		needSecure = "SameSite=None"
	case a.partitioned:
		needSecure = "Partitioned"
	}
	switch a.secure {
	case SecureAuto:
		if needSecure != "" {
			a.secure = SecureAlways
		}
	case SecureAlways:
	case SecureNever:
		if needSecure != "" {
			return a, cfgError(cfg, "Secure", "SecureNever is not allowed for %s (browsers require Secure)", needSecure)
		}
	default:
		return a, cfgError(cfg, "Secure", "unknown mode %d", int(a.secure))
	}

	switch {
	case a.maxAge == 0:
		a.maxAge = defaultMaxAge
	case a.maxAge < 0:
		return a, cfgError(cfg, "MaxAge", "negative")
	case a.maxAge < time.Second:
		return a, cfgError(cfg, "MaxAge", "shorter than one second")
	}
	a.maxAge = a.maxAge.Truncate(time.Second)
	a.lines = &lineCache{}
	return a, nil
}

// isSecure reports whether a cookie sent in response to r carries Secure.
func (a *attributes) isSecure(r *http.Request) bool {
	switch a.secure {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	return r != nil && r.TLS != nil
}

// cookie returns the cookie to set in response to r, expiring maxAge after now.
func (a *attributes) cookie(r *http.Request, value string, now time.Time) *http.Cookie {
	return &http.Cookie{
		Name:        a.name,
		Value:       value,
		Path:        a.path,
		Domain:      a.domain,
		Expires:     now.Add(a.maxAge),
		MaxAge:      int(a.maxAge / time.Second),
		HttpOnly:    true,
		Secure:      a.isSecure(r),
		SameSite:    a.sameSite,
		Partitioned: a.partitioned,
	}
}

// line returns the Set-Cookie line of a.cookie(r, value, now), as
// [http.Cookie.String] writes it, without making the cookie each time:
// value follows the name, then the tail of the line for now's second. A
// value that String would quote or trim (none that this package makes)
// takes the slow way.
func (a *attributes) line(r *http.Request, value string, now time.Time) string {
	if a.lines == nil || !plainCookieValue(value) || now.Unix() < 0 {
		return a.cookie(r, value, now).String()
	}
	secure := a.isSecure(r)
	slot := &a.lines.tail[0]
	if secure {
		slot = &a.lines.tail[1]
	}
	unix := now.Unix()
	t := slot.Load()
	if t == nil || t.unix != unix {
		full := a.cookie(r, "", time.Unix(unix, 0)).String()
		t = &lineTail{unix: unix, text: full[len(a.nameEq):]}
		slot.Store(t)
	}
	return a.nameEq + value + t.text
}

// plainCookieValue reports whether http.Cookie.String writes v as it is:
// non-empty, and only cookie-octets (RFC 6265) other than the space and
// comma it would quote.
func plainCookieValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// setLine adds a Set-Cookie line to h, as http.SetCookie does.
func setLine(h http.Header, line string) {
	h["Set-Cookie"] = append(h["Set-Cookie"], line)
}

// deletion returns the cookie that makes the browser delete this one: same
// name, Path and Domain, empty value, Max-Age=0 and an Expires in the past.
func (a *attributes) deletion(r *http.Request) *http.Cookie {
	c := a.cookie(r, "", time.Unix(0, 0))
	c.Expires = time.Unix(0, 0)
	c.MaxAge = -1
	return c
}
