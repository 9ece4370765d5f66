package postgres_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
)

// ExampleOpen shares one ledger between app servers. (Not run: it needs a
// PostgreSQL server.)
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ledger, err := postgres.Open(ctx, os.Getenv("LEDGER_DSN")) // postgres://app:…@db:5432/app?sslmode=verify-full
	if err != nil {
		log.Fatal(err)
	}
	defer ledger.Close()

	srv, err := identity.New(identity.Config{
		// SigningKeys, sessions, … as usual. The ledger needs binding keys
		// (32+ random bytes, the same on every replica), so that it records
		// and links only IDs the server issued.
		Anonymous: cookie.Config{BindingKeys: [][]byte{[]byte(os.Getenv("BINDING_KEY"))}},
		Ledger:    ledger,
	})
	_, _ = srv, err
}
