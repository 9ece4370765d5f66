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
//	webchatid.attach(instance);          // first token, renewals, identityTokenExpired
//	await webchatid.login({ ... });      // POST /authenticate, then a new token
//	await webchatid.logout();            // POST /logout, destroySession, page reload
//	await webchatid.logout({ destroy: true });           // or: destroy, destroySession, no reload
//	await webchatid.logout({ rotateAnonymousID: true }); // ask for a new anonymous ID
//
// The endpoints are found relative to the script's own URL (a script at
// /auth/webchatid.js uses /auth/createJWT), or under the path given in the
// script tag's data-base-path attribute (see the example). Settings go to
// attach(instance, opts) or webchatid.configure(opts), or on the script tag
// as data-session-end, data-renew, data-renew-before-ms and
// data-renew-jitter-ms; the full list is in the comment at the top of the
// script.
//
// Renewal: after handing web chat a token, the helper renews it before its
// exp, by renewBeforeMs (60 s) plus a random jitter of up to renewJitterMs
// (30 s), both capped at a fifth and a tenth of the token's lifetime for short
// Config.TTLs, so web chat never has to use an expired token first. It learns
// the server's clock offset from the responses' Date header (exposed to
// Config.AllowedOrigins), does not renew while the tab is hidden and catches
// up when it becomes visible. Web chat's identityTokenExpired (and, for
// watsonx Orchestrate, authTokenNeeded and identityTokenExpired, which IBM's
// Orchestrate pages name differently) stays the fallback, for a tab that slept
// through the expiry.
//
// One token request runs at a time (renewals and web chat's events share it);
// failures (network, 408, 429, 5xx) are retried a few times with exponential
// backoff, never before a 429's or 503's Retry-After, and then reported with
// one console error instead of a loop. When web chat asks for new tokens again
// and again right after getting one (IBM refuses them: a wrong key in the
// Security tab), the helper logs why and pauses. login, logout and refresh
// run one after the other, in call order, and read the 204 bodies of
// /authenticate and /logout, so browsers do not list them as aborted.
//
// Ending web chat's session follows IBM's rules: a session cannot change its
// sub, and on logout "you must destroy the web chat". The helper ends the
// session on logout and whenever a new token's sub differs from the one web
// chat holds (Config.Subject choosing another sub at login, another tab
// logging in), before web chat sees the new sub, in one of IBM's two
// documented ways. The default, sessionEnd "reload", calls destroySession()
// and reloads the page: any page works with it, at the cost of a page load.
// sessionEnd "destroy" calls destroy() then destroySession() without a
// reload and calls the app's onDestroy to build a new web chat: a
// single-page app keeps its state, but must be able to create web chat again.
//
// logout({rotateAnonymousID: true}) asks the server for a new anonymous ID,
// honoured when Config.LogoutPolicy is [RotateAnonymousIDOnRequest]
// ([RotateAnonymousID] rotates on every logout; the default keeps the ID).
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
