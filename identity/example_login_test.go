package identity_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

// A visitor logs in in the middle of a chat. The server keeps the login in a
// sealed cookie; the next token has the same sub (IBM forbids changing it
// within a session) and carries the user in user_payload.
func ExampleConfig_authenticate() {
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // a test key: never use it
	if err != nil {
		log.Fatal(err)
	}
	// In production load a fixed 32-byte key, so logins survive a restart.
	sessionKey := make([]byte, 32)
	if _, err := rand.Read(sessionKey); err != nil {
		log.Fatal(err)
	}

	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		SessionKeys: [][]byte{sessionKey},
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			// PostFormValue reads the body only: credentials in the URL
			// would end up in access logs and browser history.
			if r.PostFormValue("user") != "cade" || r.PostFormValue("password") != "let-me-in" {
				return nil, identity.ErrUnauthenticated // 401
			}
			return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	payload := func() (sub, userPayload string) {
		resp, err := client.Get(ts.URL + "/createJWT")
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		token, _ := io.ReadAll(resp.Body)
		tok, err := claims.Verify(string(token), srv.PublicKeys()[0])
		if err != nil {
			log.Fatal(err)
		}
		p, _ := tok.Get(claims.UserPayloadClaim)
		out, _ := json.Marshal(p)
		return tok.Subject(), strings.ReplaceAll(string(out), tok.Subject(), "<sub>")
	}

	before, anonymous := payload()
	// Credentials in the URL end up in access logs and browser history, so
	// Authenticate reads only the body (PostFormValue), and this is refused.
	resp, err := client.Post(ts.URL+"/authenticate?user=cade&password=let-me-in", "application/x-www-form-urlencoded", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("credentials in the URL:", resp.Status)
	resp, err = client.PostForm(ts.URL+"/authenticate", url.Values{"user": {"cade"}, "password": {"let-me-in"}})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	after, loggedIn := payload()

	fmt.Println("before login:", anonymous)
	fmt.Println("login:", resp.Status)
	fmt.Println("after login: ", loggedIn)
	fmt.Println("same sub:", before == after)
	// Output:
	// credentials in the URL: 401 Unauthorized
	// before login: {"custom_user_id":"<sub>","name":"Anonymous"}
	// login: 204 No Content
	// after login:  {"custom_user_id":"cade-id","name":"Cade"}
	// same sub: true
}

// An app that logs users in itself: its middleware puts the user in the
// request context, and wraps the identity handlers too, so that the token
// endpoint sees the login.
func ExampleContextSessions() {
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // a test key: never use it
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		Sessions:    identity.ContextSessions{},
		Logger:      quiet,
	})
	if err != nil {
		log.Fatal(err)
	}

	// The app's own authentication, here a stand-in that trusts a header.
	// It marks every request, anonymous ones with nil: a Server that sees a
	// request without the mark logs a warning, since the middleware then
	// does not wrap it.
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var info *identity.SessionInfo // nil: anonymous
			if user := r.Header.Get("X-Demo-User"); user != "" {
				info = &identity.SessionInfo{UserName: user, CustomUserID: "id-" + user}
			}
			next.ServeHTTP(w, r.WithContext(identity.WithSession(r.Context(), info)))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", srv.Handler()))
	handler := auth(mux) // wraps the identity handlers as well as the app's pages

	req := httptest.NewRequest("GET", "/chat/session", nil)
	req.Header.Set("X-Demo-User", "ada")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Print(rec.Body.String())
	// Output:
	// {"logged_in":true,"name":"ada"}
}

// An app with its own login mounts the identity handlers under /chat/ and
// tells them who is logged in with a SessionSourceFunc that reads its own
// session, so nothing has to wrap the mounted handler. The page loads the
// helper from /chat/webchatid.js, which then calls /chat/createJWT.
func ExampleSessionSourceFunc_ownLogin() {
	// The app's own sessions, here a map from its session cookie's value.
	appSessions := map[string]*identity.SessionInfo{
		"session-1": {UserName: "Cade", CustomUserID: "cade-id"},
	}
	sessions := identity.SessionSourceFunc(func(r *http.Request) (*identity.SessionInfo, error) {
		c, err := r.Cookie("app-session")
		if err != nil {
			return nil, nil // no session: anonymous
		}
		return appSessions[c.Value], nil // nil when unknown: anonymous
	})

	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // a test key: never use it
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{SigningKeys: []identity.SigningKey{{Key: key}}, Sessions: sessions, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", srv.Handler()))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<script src="/chat/webchatid.js"></script>`)
	})

	for _, session := range []string{"", "session-1"} {
		req := httptest.NewRequest("GET", "/chat/session", nil)
		if session != "" {
			req.AddCookie(&http.Cookie{Name: "app-session", Value: session})
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// {"logged_in":false}
	// {"logged_in":true,"name":"Cade"}
}
