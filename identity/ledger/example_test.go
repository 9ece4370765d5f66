package ledger_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

// writeCounter wraps a Ledger and counts its writes.
type writeCounter struct {
	ledger.Ledger
	writes int
}

func (c *writeCounter) Record(ctx context.Context, id string, at time.Time) error {
	c.writes++
	return c.Ledger.Record(ctx, id, at)
}

func (c *writeCounter) Link(ctx context.Context, id, user string, at time.Time) error {
	c.writes++
	return c.Ledger.Link(ctx, id, user, at)
}

func ExampleRecorder() {
	ctx := context.Background()
	store := &writeCounter{Ledger: memstore.New()}
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	rec := ledger.NewRecorder(store, func() time.Time { return now })

	const id = "anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11"
	_ = rec.Seen(ctx, id, true) // first token: the new ID is written
	for range 100 {             // 100 more tokens the same day: nothing to write
		_ = rec.Seen(ctx, id, false)
	}
	_ = rec.Linked(ctx, id, "customer-42") // login: the link is written once
	_ = rec.Linked(ctx, id, "customer-42")
	fmt.Println("writes on day 1:", store.writes)

	now = now.Add(24 * time.Hour)
	_ = rec.Seen(ctx, id, false) // a new UTC day: last seen moves once
	_ = rec.Seen(ctx, id, false)
	fmt.Println("writes by day 2:", store.writes)
	// Output:
	// writes on day 1: 2
	// writes by day 2: 3
}

// ExampleEraser erases a user who chatted under two anonymous IDs. The
// Deleter here stands in for IBM; a real app wraps the IBM Go SDK's
// assistantv2 DeleteUserData (see [ledger.UserDataDeleter]).
func ExampleEraser() {
	ctx := context.Background()
	store := memstore.New()
	day := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	_ = store.Link(ctx, "anon-1111", "customer-42", day)
	_ = store.Link(ctx, "anon-2222", "customer-42", day.Add(48*time.Hour))

	ibm := ledger.UserDataDeleterFunc(func(ctx context.Context, customerID string) error {
		fmt.Println("DELETE /v2/user_data?customer_id=" + customerID)
		return nil
	})
	eraser, err := ledger.NewEraser(ledger.EraserConfig{
		Ledger:  store,
		Deleter: ibm,
		// Interval defaults to 15 s (IBM allows about 4 calls a minute);
		// this example does not wait that long.
		Interval: time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	report, err := eraser.Erase(ctx, "customer-42")
	if err != nil {
		fmt.Println("incomplete:", err)
	}
	fmt.Println("deleted:", report.Deleted, "failed:", len(report.Failed))
	left, _ := store.Lookup(ctx, "customer-42")
	fmt.Println("left in the ledger:", len(left))
	// Output:
	// DELETE /v2/user_data?customer_id=anon-1111
	// DELETE /v2/user_data?customer_id=anon-2222
	// deleted: [anon-1111 anon-2222] failed: 0
	// left in the ledger: 0
}

// ExampleNewPruner keeps never-linked anonymous IDs for 45 days after they
// were last seen (the anonymous cookie's lifetime); linked IDs stay until a
// privacy request forgets them. A server runs p.Run(ctx) in a goroutine.
func ExampleNewPruner() {
	ctx := context.Background()
	store := memstore.New()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	_ = store.Record(ctx, "anon-old", now.AddDate(0, 0, -50))
	_ = store.Record(ctx, "anon-recent", now.AddDate(0, 0, -10))
	_ = store.Link(ctx, "anon-linked", "customer-42", now.AddDate(0, 0, -90))

	p, err := ledger.NewPruner(ledger.PrunerConfig{Ledger: store, Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	n, err := p.Prune(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pruned:", n)
	_ = store.Export(ctx, func(e ledger.Entry) error {
		fmt.Println("kept:", e.AnonymousID)
		return nil
	})
	// Output:
	// pruned: 1
	// kept: anon-linked
	// kept: anon-recent
}
