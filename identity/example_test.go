package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

// quiet keeps the examples' output to what they print.
var quiet = slog.New(slog.DiscardHandler)

// A site mounts the endpoints under /auth/ beside its own pages. The
// browser helper is then /auth/webchatid.js and web chat's tokens come from
// /auth/createJWT.
func ExampleServer_Handler() {
	// In production: keys.LoadPrivateFile or keys.PrivateFromEnv.
	// This test key is public; never use it for anything else.
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, // use 32 random bytes
		Authenticate: func(r *http.Request) (*identity.SessionInfo, error) {
			// Check the credentials in r here.
			return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
		},
		Logger: quiet,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", srv.Handler()))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<script src="/auth/webchatid.js"></script>`)
	})

	ts := httptest.NewServer(mux) // http.ListenAndServe(":3001", mux) in a real program
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/auth/createJWT")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	token, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	fmt.Println("dots in the token:", strings.Count(string(token), "."))
	fmt.Println("cookie:", resp.Cookies()[0].Name)
	// Output:
	// 200 OK text/plain; charset=utf-8 no-store
	// dots in the token: 2
	// cookie: ANONYMOUS-USER-ID
}

// An app that answers web chat in its own format calls Token from its own
// handler. Token sets the anonymous-ID cookie, so it runs before the body is
// written.
func ExampleServer_Token() {
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // test key
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{SigningKeys: []identity.SigningKey{{Key: key}}, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}

	handler := func(w http.ResponseWriter, r *http.Request) {
		token, expires, err := srv.Token(w, r)
		if err != nil {
			log.Printf("token: %v", err)
			http.Error(w, "no token", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"identityToken": token,
			"expiresIn":     int(time.Until(expires).Round(time.Minute).Seconds()),
		})
	}

	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/token", nil))
	var answer struct {
		IdentityToken string `json:"identityToken"`
		ExpiresIn     int    `json:"expiresIn"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	tok, err := claims.Verify(answer.IdentityToken, srv.PublicKeys()[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("expires in", answer.ExpiresIn, "s; sub is the cookie:", tok.Subject() == rec.Result().Cookies()[0].Value)
	// Output:
	// expires in 3600 s; sub is the cookie: true
}

// Config.Claims adds claims to every token, here the context claim (context
// variables, which watsonx Orchestrate's embed chat gives its agents) taken
// from the request.
func ExampleConfig_claims() {
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // test key
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		Claims: func(r *http.Request, b *claims.Builder, s *identity.SessionInfo) error {
			b.Context(map[string]any{"page": r.URL.Query().Get("page")})
			return nil
		},
		Logger: quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/createJWT?page=checkout", nil))
	tok, err := claims.Verify(rec.Body.String(), srv.PublicKeys()[0])
	if err != nil {
		log.Fatal(err)
	}
	ctx, _ := tok.Get(claims.ContextClaim)
	out, _ := json.Marshal(ctx)
	fmt.Printf("context: %s\n", out)
	// Output:
	// context: {"page":"checkout"}
}

// An app whose own middleware already knows the user (here from a header set
// by a trusted authenticating proxy) plugs it in as a SessionSource. After
// login the token keeps the anonymous sub; the user goes into user_payload.
func ExampleSessionSourceFunc() {
	fromProxy := identity.SessionSourceFunc(func(r *http.Request) (*identity.SessionInfo, error) {
		user := r.Header.Get("X-Forwarded-User")
		if user == "" {
			return nil, nil // anonymous
		}
		return &identity.SessionInfo{UserName: user, CustomUserID: "u-" + strings.ToLower(user)}, nil
	})

	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // test key
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		Sessions:    fromProxy,
		Logger:      quiet,
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, user := range []string{"", "Ada"} {
		req := httptest.NewRequest("GET", "/createJWT", nil)
		if user != "" {
			req.Header.Set("X-Forwarded-User", user)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		tok, err := claims.Verify(rec.Body.String(), srv.PublicKeys()[0])
		if err != nil {
			log.Fatal(err)
		}
		p, _ := tok.Get(claims.UserPayloadClaim)
		out, _ := json.Marshal(p)
		fmt.Println(strings.ReplaceAll(string(out), tok.Subject(), "<sub>"))
	}
	// Output:
	// {"custom_user_id":"<sub>","name":"Anonymous"}
	// {"custom_user_id":"u-ada","name":"Ada"}
}

// Key rotation at run time: sign with the new key and keep publishing the
// old one until the tokens it signed have expired (Config.TTL), then drop
// it. With a restart instead, list the same keys in Config.SigningKeys.
func ExampleServer_RotateKeys() {
	oldKey, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem") // test keys
	if err != nil {
		log.Fatal(err)
	}
	newKey, err := keys.LoadPrivateFile("testdata/rsa2048-b.pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: oldKey, KeyID: "2026-10"}},
		Logger:      quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signing with", srv.KeyID())

	// Paste newKey's public half into IBM's Security tab, then:
	if err := srv.RotateKeys(
		identity.SigningKey{Key: newKey, KeyID: "2026-11"},
		identity.SigningKey{Key: oldKey, KeyID: "2026-10"}, // verify-only
	); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signing with", srv.KeyID(), "- keys published:", len(srv.PublicKeys()))

	// An hour later (Config.TTL), retire the old key.
	if err := srv.RotateKeys(identity.SigningKey{Key: newKey, KeyID: "2026-11"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("signing with", srv.KeyID(), "- keys published:", len(srv.PublicKeys()))
	// Output:
	// signing with 2026-10
	// signing with 2026-11 - keys published: 2
	// signing with 2026-11 - keys published: 1
}

// serverFromFiles returns a Server whose keys follow the files in dir, and
// the source that watches them (call its Reload on SIGHUP).
func serverFromFiles(ctx context.Context, dir string) (*identity.Server, *keys.FileSource, error) {
	file := func(name string) string { return filepath.Join(dir, name) }
	var srv *identity.Server
	src, err := keys.NewFileSource(keys.FileSourceConfig{
		SigningKeyFiles: []string{file("signing.pem"), file("previous.pem")}, // the first signs
		SessionKeyFiles: []string{file("session.key"), file("session-previous.key")},
		BindingKeyFiles: []string{file("binding.key"), file("binding-previous.key")},
		OnChange:        func(m keys.Material) error { return srv.Rotate(identity.KeysFrom(m)) },
	})
	if err != nil {
		return nil, nil, err
	}
	m := src.Material()
	srv, err = identity.New(identity.Config{
		SigningKeys: identity.KeysFrom(m).SigningKeys,
		SessionKeys: m.SessionKeys,
		Anonymous:   cookie.Config{BindingKeys: m.BindingKeys},
	})
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = src.Watch(ctx) }() // returns when ctx is done
	return srv, src, nil
}

// Keys that rotate without a restart: a keys.FileSource reads them from
// files (mounted secrets, say) and hands every change to Server.Rotate.
// Watch polls the files; Reload (on SIGHUP) reads them at once. The names
// are fixed: the key in use and the previous one; the same key in both is
// listed once.
func ExampleServer_Rotate() {
	dir, err := os.MkdirTemp("", "webchatid-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	install := func(name string, data []byte) { // write beside, then rename over
		if err := os.WriteFile(filepath.Join(dir, name+".tmp"), data, 0o600); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, name+".tmp"), filepath.Join(dir, name)); err != nil {
			log.Fatal(err)
		}
	}
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			log.Fatal(err)
		}
		return b
	}
	oldKey, newKey := read("testdata/rsa2048-a.pem"), read("testdata/rsa2048-b.pkcs8.pem") // test keys
	// Fixed secrets for the example; never use them (openssl rand -hex 32).
	install("signing.pem", oldKey)
	install("previous.pem", oldKey)
	for _, name := range []string{"session.key", "session-previous.key"} {
		install(name, []byte(strings.Repeat("5e", 32)))
	}
	for _, name := range []string{"binding.key", "binding-previous.key"} {
		install(name, []byte(strings.Repeat("b1", 32)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, src, err := serverFromFiles(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("keys published:", len(srv.PublicKeys()))

	// The new key signs, the old one still verifies.
	install("signing.pem", newKey)
	if err := src.Reload(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("keys published:", len(srv.PublicKeys()))

	// Once the old key's tokens have expired (Config.TTL), it goes.
	install("previous.pem", newKey)
	if err := src.Reload(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("keys published:", len(srv.PublicKeys()), "- reloads:", src.Stats().Reloads)
	// Output:
	// keys published: 1
	// keys published: 2
	// keys published: 1 - reloads: 2
}
