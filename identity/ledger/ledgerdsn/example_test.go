package ledgerdsn_test

import (
	"context"
	"fmt"
	"log"

	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

func ExampleOpen() {
	// In a program: dsn := flag.String("ledger", ledgerdsn.Default("myapp"), "…")
	ledger, closeLedger, err := ledgerdsn.Open(context.Background(), "memory")
	if err != nil {
		log.Fatal(err)
	}
	defer closeLedger()
	entries, err := ledger.Lookup(context.Background(), "customer-42")
	fmt.Println(len(entries), err)
	// Output: 0 <nil>
}

func ExampleRedact() {
	fmt.Println(ledgerdsn.Redact("postgres://app:s3cret@db.internal:5432/ledger?sslmode=require"))
	// Output: postgres://app:xxxxx@db.internal:5432/ledger?sslmode=require
}
