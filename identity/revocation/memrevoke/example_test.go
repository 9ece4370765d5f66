package memrevoke_test

import (
	"context"
	"fmt"
	"time"

	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
)

// A Server with Config.Revoker calls Revoke at logout and Revoked for each
// logged-in request; this is what the store sees.
func ExampleStore() {
	ctx := context.Background()
	store := memrevoke.New()
	_ = store.Revoke(ctx, "Qb1x7kz0m2R5tN8pW4yV3a", time.Now().Add(24*time.Hour))
	revoked, _ := store.Revoked(ctx, "Qb1x7kz0m2R5tN8pW4yV3a")
	other, _ := store.Revoked(ctx, "another-session")
	fmt.Println(revoked, other)
	// Output: true false
}
