package identity

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// parseOrigin checks that s is an origin as browsers send it in the Origin
// header, scheme://host[:port] with an http or https scheme, and returns it
// in that serialized form: scheme and host lowercased, a default port
// dropped. "*", "null", paths (even "/"), queries, fragments and user info
// are refused.
func parseOrigin(s string) (string, error) {
	switch s {
	case "":
		return "", errors.New("origin is empty")
	case "*":
		return "", errors.New(`"*" is not allowed: list each origin, since credentials (cookies) are involved`)
	case "null":
		return "", errors.New(`"null" is not an origin that can be trusted`)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("invalid origin: not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", errors.New("invalid origin: scheme must be http or https (scheme://host[:port])")
	case u.Opaque != "" || u.Host == "":
		return "", errors.New("invalid origin: host is required (scheme://host[:port])")
	case u.User != nil:
		return "", errors.New("invalid origin: user info is not allowed")
	case u.Path != "" || u.RawPath != "":
		return "", errors.New("invalid origin: path is not allowed (remove any trailing slash)")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return "", errors.New("invalid origin: query and fragment are not allowed")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("invalid origin: host is required (scheme://host[:port])")
	}
	if strings.HasPrefix(u.Host, "[") {
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", errors.New("invalid origin: bad IPv6 literal")
		}
	} else if strings.IndexFunc(host, notHostChar) >= 0 {
		return "", errors.New("invalid origin: host must be ASCII letters, digits, '-', '_' and '.' (punycode for IDNs)")
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", errors.New("invalid origin: port must be 1 to 65535")
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", errors.New("invalid origin: empty port")
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"):
		host = "[" + host + "]" // IPv6 literal
	}
	return scheme + "://" + host, nil
}

// corsPolicy answers CORS for the listed origins: credentialed responses and
// preflights. Requests from other origins get no CORS headers, so browsers
// keep the responses from their pages.
type corsPolicy struct {
	origins map[string]bool
}

func newCORSPolicy(origins []string) *corsPolicy {
	if len(origins) == 0 {
		return nil
	}
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		p.origins[o] = true
	}
	return p
}

// corsAllowHeaders are the request headers a listed origin may send beyond
// the CORS-safelisted ones: a JSON login body and a bearer credential.
const corsAllowHeaders = "Authorization, Content-Type"

// corsExposeHeaders are the response headers a listed origin's scripts may
// read beyond the CORS-safelisted ones: webchatid.js learns the server's
// clock from Date, to renew tokens before exp, and honours Retry-After.
const corsExposeHeaders = "Date, Retry-After"

// corsMaxAge lets browsers cache a preflight answer for ten minutes.
const corsMaxAge = "600"

// allow sets the response headers for an actual (non-preflight) request and
// reports whether the origin is listed.
func (p *corsPolicy) allow(h http.Header, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if !p.origins[origin] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return true
}

// preflight answers an OPTIONS request for a route accepting methods.
func (p *corsPolicy) preflight(w http.ResponseWriter, r *http.Request, methods string) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	if r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		// Not a CORS preflight: say what the route accepts.
		h.Set("Allow", methods+", OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !p.allow(h, r) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// notHostChar reports a rune that cannot appear in a lower-cased origin
// host. '_' is allowed: it is not valid in DNS host names, but browsers
// send origins with it (internal hosts such as my_app.corp).
func notHostChar(r rune) bool {
	return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_')
}
