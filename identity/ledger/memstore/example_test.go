package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

func Example() {
	ctx := context.Background()
	store := memstore.New()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

	// A visitor chats anonymously, then logs in as customer-42.
	_ = store.Record(ctx, "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11", day)
	_ = store.Link(ctx, "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11", "customer-42", day.Add(time.Hour))

	// Their privacy request: which customer_ids does IBM know them by?
	entries, _ := store.Lookup(ctx, "customer-42")
	for _, e := range entries {
		fmt.Println(e.AnonymousID, e.FirstSeen.Format(time.RFC3339))
	}

	// After IBM confirmed the deletion:
	_ = store.Forget(ctx, "customer-42")
	_ = store.Export(ctx, func(e ledger.Entry) error {
		fmt.Println("still stored:", e.AnonymousID)
		return nil
	})
	fmt.Println("done")
	// Output:
	// anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11 2026-05-01T10:00:00Z
	// done
}
