package sessionstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/identity/sessionstore"
)

// Sessions kept in the ledger's SQLite database: the browser holds only a
// random ID, and logging out ends the session on the server, so a cookie
// copied before the logout logs nobody in. Give the Store to identity.New
// as Config.Sessions (with Config.Ledger the same *sqlstore.Store).
func Example() {
	dir, err := os.MkdirTemp("", "sessionstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(filepath.Join(dir, "ledger.db")) // postgres.Open(ctx, dsn) for a fleet
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	sessions, err := sessionstore.New(sessionstore.Config{Backend: db})
	if err != nil {
		log.Fatal(err)
	}
	// What identity's /authenticate does once Config.Authenticate accepted
	// the user:
	w := httptest.NewRecorder()
	if err := sessions.Login(w, httptest.NewRequest("POST", "/authenticate", nil),
		&identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}); err != nil {
		log.Fatal(err)
	}
	sessionCookie := w.Result().Cookies()[0]
	withCookie := func() *http.Request {
		r := httptest.NewRequest("GET", "/createJWT", nil)
		r.AddCookie(sessionCookie)
		return r
	}

	info, _ := sessions.Session(withCookie())
	fmt.Println("cookie:", sessionCookie.Name, "ID length", len(sessionCookie.Value))
	fmt.Println("logged in:", info.CustomUserID)
	sessions.Logout(httptest.NewRecorder(), withCookie())
	info, _ = sessions.Session(withCookie())
	fmt.Println("replayed after logout:", info)
	// Output:
	// cookie: WEBCHATID-SESSION ID length 22
	// logged in: cade-id
	// replayed after logout: <nil>
}
