package cookie

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// maxTossedDomains bounds the deletions ExpireTossed writes for one name.
const maxTossedDomains = 4

// ExpireTossed writes Set-Cookie lines on w that delete any cookie called
// name that a sibling subdomain could have set for this host ("cookie
// tossing"): one with Domain set to r's host and one for each parent domain
// of it (for chat.shop.example.com: that name, shop.example.com and
// example.com; at most four), each with Path=/. A browser ignores the lines
// for domains it would not have accepted, so sending them for a public
// suffix is harmless. An IP-literal host gets none. The host-only cookie of
// that name is not touched: delete it with [Sealer.Clear] (or keep it).
//
// Use it on logout for the names a tossed cookie would still be sent under.
func ExpireTossed(w http.ResponseWriter, r *http.Request, name string) {
	expire := func(domain string) {
		http.SetCookie(w, &http.Cookie{
			Name: name, Path: "/", Domain: domain,
			Expires: time.Unix(0, 0), MaxAge: -1,
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
		})
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || net.ParseIP(host) != nil || (&http.Cookie{Name: name, Domain: host}).Valid() != nil {
		return
	}
	for n := 0; n < maxTossedDomains && strings.Contains(host, "."); n++ {
		expire(host)
		_, host, _ = strings.Cut(host, ".")
	}
}

// Secure reports whether a cookie this Sealer writes in response to r
// carries the Secure attribute.
func (s *Sealer) Secure(r *http.Request) bool { return s.attrs.isSecure(r) }
