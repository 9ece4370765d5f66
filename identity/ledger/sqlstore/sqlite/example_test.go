package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "ledger")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ledger, err := sqlite.Open(filepath.Join(dir, "ledger.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer ledger.Close()

	ctx := context.Background()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	if err := ledger.Link(ctx, "anon-1111", "customer-42", at); err != nil {
		log.Fatal(err)
	}
	entries, err := ledger.Lookup(ctx, "customer-42")
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.AnonymousID, e.FirstSeen)
	}
	// Output: anon-1111 2026-05-01 09:00:00 +0000 UTC
}
