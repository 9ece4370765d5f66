package identity_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

// A replica tells its load balancer whether it can reach its ledger (a
// fleet's is postgres.Open's Store, which is also its Revoker). The app
// mounts the probe where it likes; here /readyz. It answers 503
// "unavailable: ledger" while the ledger's database is unreachable.
func ExampleServer_ReadyHandler() {
	// This test key is public; never use it for anything else.
	key, err := keys.LoadPrivateFile("testdata/rsa2048-a.pem")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{
		SigningKeys: []identity.SigningKey{{Key: key}},
		// The ledger records only IDs bound to their cookie: 32 random bytes.
		Anonymous: cookie.Config{BindingKeys: [][]byte{[]byte("binding-key-binding-key-binding!")}},
		Ledger:    memstore.New(),
		Logger:    quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("GET /readyz", srv.ReadyHandler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 ok
}
