package identity

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// scriptSource is the browser helper served by [ScriptHandler].
//
//go:embed webchatid.js
var scriptSource []byte

// scriptETag is a strong validator derived from the embedded script, computed
// once: the script cannot change while the process runs.
var scriptETag = func() string {
	sum := sha256.Sum256(scriptSource)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}()

// scriptCacheControl keeps browsers from asking on every page view while letting a
// new release reach them within minutes; revalidation is cheap (304).
const scriptCacheControl = "public, max-age=300"

// ScriptHandler returns a handler serving webchatid.js, the browser helper
// that connects IBM's web chat instance to the token endpoints. [Server.Handler]
// mounts it at GET /webchatid.js; apps that route themselves can mount it
// anywhere, typically beside the token endpoint.
//
// The script has no dependencies and runs under a strict Content-Security-Policy
// (script-src 'self'): it has no inline code and never evaluates strings. Load
// it with a plain script tag, then attach it to the web chat instance:
//
//	<script src="/webchatid.js"></script>
//	<!-- in your own script file, e.g. in web chat's onLoad: -->
//	webchatid.attach(instance);          // answers identityTokenExpired
//	await webchatid.login({ ... });      // POST /authenticate, then a new token
//	await webchatid.logout();            // POST /logout, destroySession, a new token
//	await webchatid.logout({ reload: true });  // or: destroySession, then reload the page
//	await webchatid.logout({ destroy: true }); // or: destroy, destroySession; make a new web chat
//
// The two logout options are the ways IBM's "Authenticating users in web chat"
// documents ending a session on logout; without them the helper keeps the web
// chat instance and hands it an anonymous token, as IBM's mid-session tutorial
// does. login, logout and refresh run one after the other, in call order.
//
// The endpoints are found relative to the script's own URL (a script at
// /auth/webchatid.js uses /auth/createJWT), or under the path given in the
// script tag's data-base-path attribute. The helper fetches one token at a
// time, retries failures a few times with exponential backoff and then logs a
// console error instead of looping; when web chat asks for new tokens again
// and again right after getting one (IBM refuses them: a wrong key in the
// Security tab), it logs why and pauses.
//
// Responses carry Content-Type text/javascript, X-Content-Type-Options nosniff,
// a short Cache-Control max-age and an ETag; a matching If-None-Match gets 304.
// Methods other than GET and HEAD get 405. The handler is safe for concurrent use.
func ScriptHandler() http.Handler {
	return http.HandlerFunc(scriptServe)
}

func scriptServe(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", scriptCacheControl)
	h.Set("ETag", scriptETag)
	if scriptETagMatches(r.Header.Values("If-None-Match"), scriptETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(scriptSource)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(scriptSource)
}

// scriptETagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2):
// "*" matches, and W/"x" matches "x".
func scriptETagMatches(headers []string, etag string) bool {
	for _, v := range headers {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
