package postgres_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
)

// ExampleOpen shares one ledger between app servers: pass the store as
// identity.Config.Ledger on each. (Not run: it needs a PostgreSQL server.)
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ledger, err := postgres.Open(ctx, os.Getenv("LEDGER_DSN")) // postgres://app:…@db:5432/app?sslmode=verify-full
	if err != nil {
		log.Fatal(err)
	}
	defer ledger.Close()

	entries, err := ledger.Lookup(ctx, "customer-42")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("customer-42 chatted under %d anonymous IDs", len(entries))
}
