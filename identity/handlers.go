package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// jwksCacheControl lets clients and proxies keep the key set five minutes:
// short enough for a rotation to reach them before the old key retires.
const jwksCacheControl = "public, max-age=300"

// buildHandlers makes every handler once, in New.
func (s *Server) buildHandlers() {
	s.tokenH = s.route(s.serveToken, http.MethodGet, http.MethodHead, http.MethodPost)
	s.sessionH = s.route(s.serveSession, http.MethodGet, http.MethodHead)
	s.authenticateH, s.logoutH = http.NotFoundHandler(), http.NotFoundHandler()
	if s.store != nil {
		s.logoutH = s.route(s.serveLogout, http.MethodPost)
		if s.cfg.Authenticate != nil {
			s.authenticateH = s.route(s.serveAuthenticate, http.MethodPost)
		}
	}
	s.jwksH = http.HandlerFunc(s.serveJWKS)

	mux := http.NewServeMux()
	handle := func(path string, h http.Handler, methods ...string) {
		for _, m := range methods {
			mux.Handle(m+" "+path, h)
		}
		if s.cors != nil {
			mux.Handle("OPTIONS "+path, h)
		}
	}
	handle("/createJWT", s.tokenH, http.MethodGet, http.MethodPost)
	handle("/session", s.sessionH, http.MethodGet)
	if s.store != nil {
		handle("/logout", s.logoutH, http.MethodPost)
		if s.cfg.Authenticate != nil {
			handle("/authenticate", s.authenticateH, http.MethodPost)
		}
	}
	mux.Handle("GET /.well-known/jwks.json", s.jwksH)
	mux.Handle("GET /webchatid.js", ScriptHandler())
	s.mux = mux
}

// Handler returns the Server's endpoints on one [http.ServeMux], with paths
// relative to where the app mounts it (use [http.StripPrefix] to mount it
// under a prefix):
//
//	GET  /createJWT              a token: text/plain, or JSON {"token", "expires_at"}
//	POST /createJWT              the same
//	POST /authenticate           Config.Authenticate, then a new session cookie: 204 (401 if refused)
//	POST /logout                 clears the session (Config.LogoutPolicy: new anonymous ID?): 204
//	GET  /session                {"logged_in": bool, "name": string} for the page
//	GET  /.well-known/jwks.json  the public signing keys (JWK set)
//	GET  /webchatid.js           the browser helper ([ScriptHandler])
//
// /authenticate is served only when Config.Authenticate is set, and
// /logout only when there is a session store. Wrong methods get 405 with
// Allow; with Config.AllowedOrigins, OPTIONS answers CORS preflights. Each
// endpoint is also available on its own ([Server.TokenHandler] and
// friends) for apps that route themselves.
func (s *Server) Handler() http.Handler { return s.mux }

// ServeHTTP serves the endpoints of [Server.Handler], so a Server can be
// mounted directly.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// TokenHandler returns the token endpoint (GET, HEAD or POST): 200 with the
// token as text/plain, or as {"token": …, "expires_at": RFC 3339} when the
// Accept header prefers application/json. Responses carry Cache-Control:
// no-store, Vary: Cookie (and Origin with CORS) and X-Content-Type-Options:
// nosniff. Errors: 401 (a hook refused), 503 (strict session or ledger
// failure; or, with Retry-After: 1, too many tokens to sign at once, see
// [AdmissionConfig]), 500; the client gets a short fixed text, or RFC 6749 §5.2 JSON
// {"error", "error_description"} when it prefers JSON.
func (s *Server) TokenHandler() http.Handler { return s.tokenH }

// AuthenticateHandler returns the login endpoint (POST): it calls
// Config.Authenticate and stores the session in a fresh session cookie
// (against session fixation), then answers 204; 401 when the credentials
// are refused. It is guarded by [http.CrossOriginProtection]. Without
// Config.Authenticate it answers 404.
func (s *Server) AuthenticateHandler() http.Handler { return s.authenticateH }

// LogoutHandler returns the logout endpoint (POST): it clears the session
// (revoking it first with Config.Revoker: 503 if that fails) and answers
// 204. The anonymous ID, and so sub, stays, unless Config.LogoutPolicy
// rotates it (always, or when the form body carries rotate_anonymous_id=1).
// Over TLS it also expires the unprefixed cookie names a sibling subdomain
// could have set for the whole site ([cookie.ExpireTossed]). It is guarded
// by [http.CrossOriginProtection]. Without a session store it answers 404.
func (s *Server) LogoutHandler() http.Handler { return s.logoutH }

// SessionHandler returns the session endpoint (GET, HEAD):
// {"logged_in": true, "name": "Cade"} or {"logged_in": false}, for pages
// that greet the user (the session cookie is HttpOnly, so scripts cannot
// read it).
func (s *Server) SessionHandler() http.Handler { return s.sessionH }

// JWKSHandler returns the JWKS endpoint (GET, HEAD): the active and
// verify-only public keys as a JWK set (application/json), cacheable for
// five minutes.
func (s *Server) JWKSHandler() http.Handler { return s.jwksH }

// route wraps an endpoint: OPTIONS goes to the CORS preflight (with CORS
// on), other wrong methods get 405, every answer gets the security headers,
// listed origins get CORS headers, and unsafe methods pass
// [http.CrossOriginProtection] first.
func (s *Server) route(h http.HandlerFunc, methods ...string) http.Handler {
	allow := strings.Join(methods, ", ")
	return s.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.recoverPanic(w, r)
		hdr := w.Header()
		s.secure(hdr)
		if s.cors != nil {
			if r.Method == http.MethodOptions {
				s.cors.preflight(w, r, allow)
				return
			}
			s.cors.allow(hdr, r)
		}
		if !slices.Contains(methods, r.Method) {
			hdr.Set("Allow", allow)
			s.writeError(w, r, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
			return
		}
		h(w, r)
	}))
}

// recoverPanic turns a panic in an app hook (a session source,
// Config.Authenticate, Subject or Claims) into a 500 and one log line with
// the panic's value, cut short, and the stack, instead of a dropped
// connection. http.ErrAbortHandler keeps its meaning.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.panics.Add(1)
	s.log().LogAttrs(r.Context(), slog.LevelError, "identity: panic while serving a request; answered 500",
		requestAttr("method", r.Method), requestAttr("path", r.URL.Path),
		requestAttr("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
	s.writeError(w, r, http.StatusInternalServerError, "server_error", "internal error")
}

// secure sets the headers every answer of the token, login, logout and
// session endpoints carries: never cached, never sniffed, and varying by
// cookie (and origin, with CORS).
func (s *Server) secure(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if s.cors != nil {
		h.Set("Vary", "Cookie, Origin")
	} else {
		h.Set("Vary", "Cookie")
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	token, exp, err := s.Token(w, r)
	if err != nil {
		s.fail(w, r, "token", err)
		return
	}
	if prefersJSON(r.Header.Get("Accept")) {
		body, err := marshalToken(token, exp)
		if err != nil {
			s.fail(w, r, "token", err)
			return
		}
		writeBody(w, "application/json", body)
		return
	}
	writeBody(w, "text/plain; charset=utf-8", []byte(token))
}

// maxLoginBody bounds what Config.Authenticate can be made to read.
const maxLoginBody = 1 << 20

func (s *Server) serveAuthenticate(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > maxLoginBody {
		s.fail(w, r, "authenticate", &http.MaxBytesError{Limit: maxLoginBody})
		return
	}
	body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, maxLoginBody)}
	r.Body = body
	info, err := s.cfg.Authenticate(r)
	switch {
	case body.tooLarge != nil:
		// r.PostFormValue and friends drop the error: whatever
		// Authenticate decided, it saw a truncated body.
		err = body.tooLarge
	case err != nil && !errors.Is(err, ErrUnauthenticated):
		err = fmt.Errorf("identity: Config.Authenticate: %w", err)
	case err == nil && info == nil:
		err = fmt.Errorf("%w: Config.Authenticate returned no session", ErrUnauthenticated)
	case err == nil:
		err = info.validate()
	}
	if err != nil {
		s.fail(w, r, "authenticate", err)
		return
	}
	// Link before the session exists: in strict mode a ledger failure must
	// not leave a login the ledger does not know.
	if id, ok := s.anon.Load().PeekID(r); ok {
		sub, err := s.subject(r, id.Value, info)
		if err == nil && s.ledgerTrusts(id, sub) {
			err = s.record(r.Context(), sub, false, info)
		}
		if err != nil {
			s.fail(w, r, "authenticate", err)
			return
		}
	}
	if err := s.store.Login(w, r, info); err != nil {
		s.fail(w, r, "authenticate", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.logout(w, r); err != nil { // logout.go
		s.fail(w, r, "logout", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sessionJSON is the /session answer.
type sessionJSON struct {
	LoggedIn bool   `json:"logged_in"`
	Name     string `json:"name,omitempty"`
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	info, err := s.Session(r)
	if err != nil {
		s.fail(w, r, "session", err)
		return
	}
	var v sessionJSON
	if info != nil {
		v = sessionJSON{LoggedIn: true, Name: info.UserName}
	}
	body, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, "session", err)
		return
	}
	writeBody(w, "application/json", body)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		s.writeError(w, r, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
		return
	}
	h.Set("Cache-Control", jwksCacheControl)
	writeBody(w, "application/json", s.keys.Load().jwks)
}

func writeBody(w http.ResponseWriter, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// limitedBody remembers that its reader hit the size limit, for callers
// that ignore read errors.
type limitedBody struct {
	io.ReadCloser
	tooLarge *http.MaxBytesError
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		b.tooLarge = tooLarge
	}
	return n, err
}

// fail answers a failed request with a status chosen from err and logs the
// cause. err never holds a token, key, cookie value or payload.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	status, code, desc, level := http.StatusInternalServerError, "server_error", "internal error", slog.LevelError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		status, code, desc, level = http.StatusRequestEntityTooLarge, "invalid_request", "request body too large", slog.LevelInfo
	case errors.Is(err, ErrUnauthenticated):
		status, code, desc, level = http.StatusUnauthorized, "access_denied", "authentication failed", slog.LevelInfo
	case errors.Is(err, ErrOverloaded):
		// Logged once per burst by Server.refused, not per request.
		w.Header().Set("Retry-After", "1")
		s.writeError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "server busy, retry later")
		return
	case errors.Is(err, ErrSessionUnavailable), errors.Is(err, ErrLedgerUnavailable):
		status, code, desc = http.StatusServiceUnavailable, "temporarily_unavailable", "service temporarily unavailable"
	}
	s.log().LogAttrs(r.Context(), level, "identity: request failed",
		slog.String("op", op), requestAttr("method", r.Method), requestAttr("path", r.URL.Path),
		slog.Int("status", status), requestAttr("error", err.Error()))
	s.writeError(w, r, status, code, desc)
}

// denyCrossOrigin answers a request refused by the cross-origin protection.
func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log().LogAttrs(r.Context(), slog.LevelInfo, "identity: cross-origin request refused",
		requestAttr("method", r.Method), requestAttr("path", r.URL.Path),
		requestAttr("origin", r.Header.Get("Origin")), requestAttr("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
	s.writeError(w, r, http.StatusForbidden, "access_denied", "cross-origin request refused")
}

// errorJSON is the RFC 6749 §5.2 error shape.
type errorJSON struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// writeError writes a short fixed error text, or its RFC 6749 §5.2 JSON
// form when the client prefers JSON.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, code, desc string) {
	h := w.Header()
	s.secure(h)
	h.Del("Content-Length")
	if prefersJSON(r.Header.Get("Accept")) {
		body, _ := json.Marshal(errorJSON{Error: code, Description: desc}) // plain strings: cannot fail
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, desc+"\n")
}
