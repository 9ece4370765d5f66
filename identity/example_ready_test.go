package identity_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// A replica tells its load balancer whether it can reach its ledger. The
// app mounts the probe where it likes; here /readyz.
func ExampleServer_ReadyHandler() {
	// This test key is public; never use it for anything else.
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ready-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(filepath.Join(dir, "ledger.db")) // a fleet: postgres.Open
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		// The ledger records only IDs bound to their cookie: 32 random bytes.
		Anonymous: cookie.Config{BindingKeys: [][]byte{[]byte("binding-key-binding-key-binding!")}},
		Ledger:    store,
		Revoker:   store, // one database for both
		// Sessions in a sealed cookie: use 32 random bytes.
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Logger:      quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("GET /readyz", srv.ReadyHandler())

	probe := func() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	probe()
	store.Close() // the database goes away
	probe()
	// Output:
	// 200 ok
	// 503 unavailable: ledger
}
