package identity

import (
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// maxLoggedValue is the most of one request value (a header, the method, the
// path, an error text that may quote them) a log line carries: enough to
// recognise an origin or a path, too little for a client to make log lines
// of its own size.
const maxLoggedValue = 256

// requestAttr is the one way the identity package puts a value taken from a
// request into a log line: cut to maxLoggedValue bytes (on a UTF-8
// boundary), followed by "…(N bytes)" giving the full length when cut.
func requestAttr(key, value string) slog.Attr {
	return slog.String(key, truncate(value))
}

// truncate cuts s to maxLoggedValue bytes, as requestAttr does.
func truncate(s string) string {
	if len(s) <= maxLoggedValue {
		return s
	}
	cut := maxLoggedValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
