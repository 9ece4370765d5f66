package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// BenchmarkTokenWithLedger compares token endpoint throughput without a
// ledger and with the SQLite ledger (a file in a temp dir, WAL), for a
// returning visitor (the recorder has nothing to write), a new visitor
// (every request writes a new ID: the worst case) and a logged-in visitor
// (the link is written once). Run:
//
//	go test -run '^$' -bench TokenWithLedger -benchtime 3s ./examples/webchat/
func BenchmarkTokenWithLedger(b *testing.B) {
	key, err := keys.LoadPrivateFile(filepath.Join("testdata", "signing-key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	for _, visitor := range []string{"returning", "new", "logged-in"} {
		for _, store := range []string{"none", "sqlite"} {
			b.Run(visitor+"/"+store, func(b *testing.B) {
				cfg := identity.Config{
					SigningKeys: []identity.SigningKey{{Key: key}},
					Logger:      slog.New(slog.DiscardHandler),
					SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
					Authenticate: func(*http.Request) (*identity.SessionInfo, error) {
						return &identity.SessionInfo{UserName: "Bench", CustomUserID: "customer-42"}, nil
					},
				}
				if store == "sqlite" {
					s, err := sqlite.Open(filepath.Join(b.TempDir(), "ledger.db"))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { s.Close() })
					cfg.Ledger = s
					cfg.Anonymous.BindingKeys = [][]byte{[]byte("bench binding key: never use it!")}
				}
				srv, err := identity.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				var cookies []*http.Cookie
				if visitor != "new" {
					cookies = benchDo(b, srv, "GET", "/createJWT", nil).Result().Cookies()
				}
				if visitor == "logged-in" {
					cookies = append(cookies, benchDo(b, srv, "POST", "/authenticate", cookies).Result().Cookies()...)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if rec := benchDo(b, srv, "GET", "/createJWT", cookies); rec.Code != http.StatusOK {
							b.Errorf("GET /createJWT: got status %d, want 200", rec.Code)
							return
						}
					}
				})
				if st := srv.Stats(); st.LedgerErrors != 0 {
					b.Errorf("got %d ledger errors, want 0", st.LedgerErrors)
				}
			})
		}
	}
}

func benchDo(b *testing.B, h http.Handler, method, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://example.com"+path, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if method == "POST" && rec.Code >= 300 {
		b.Fatalf("%s %s: got status %d", method, path, rec.Code)
	}
	return rec
}
