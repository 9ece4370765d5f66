package identity

import (
	"strconv"
	"strings"
)

// prefersJSON reports whether an Accept header value (RFC 9110 §12.5.1)
// ranks application/json above text/plain: its quality must be positive
// and higher than text/plain's. A missing header, */* and ties mean
// text/plain, the tutorial's answer. Each media type's quality comes from
// its most specific matching range (type/subtype over type/* over */*).
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	var jsonQ, textQ quality
	for len(accept) > 0 {
		var mr string
		mr, accept, _ = strings.Cut(accept, ",")
		mtype, params, _ := strings.Cut(mr, ";")
		mtype = strings.ToLower(strings.TrimSpace(mtype))
		typ, sub, ok := strings.Cut(mtype, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := parseQ(params)
		jsonQ.match(typ, sub, "application", "json", q)
		textQ.match(typ, sub, "text", "plain", q)
	}
	return jsonQ.q > 0 && jsonQ.q > textQ.q
}

// quality tracks the q of the most specific range matching one media type.
type quality struct {
	spec int // 0 none, 1 */*, 2 type/*, 3 type/subtype
	q    float64
}

func (m *quality) match(typ, sub, wantTyp, wantSub string, q float64) {
	spec := 0
	switch {
	case typ == wantTyp && sub == wantSub:
		spec = 3
	case typ == wantTyp && sub == "*":
		spec = 2
	case typ == "*" && sub == "*":
		spec = 1
	}
	if spec > m.spec || (spec == m.spec && spec > 0 && q > m.q) {
		m.spec, m.q = spec, q
	}
}

// parseQ returns the q parameter of a media range's parameters, 1 when
// absent, and 0 when malformed or out of range (a range the client did not
// mean cannot win).
func parseQ(params string) float64 {
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
			return 0
		}
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
