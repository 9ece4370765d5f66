package main

import (
	"context"
	"fmt"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

// ledgerApp names the demo's default ledger file (see ledgerdsn.Default).
const ledgerApp = "webchatid-demo"

// openLedger opens the ledger named by name ("memory", "sqlite:PATH",
// "postgres://…"; empty means the demo's default SQLite file). It returns the
// ledger, a printable name (no password) and a function that closes it.
func openLedger(ctx context.Context, name string) (ledger.Ledger, string, func(), error) {
	if name == "" {
		name = ledgerdsn.Default(ledgerApp)
	}
	l, closeLedger, err := ledgerdsn.Open(ctx, name)
	if err != nil {
		return nil, "", nil, fmt.Errorf("-ledger: %w", err)
	}
	return l, ledgerdsn.Redact(name), func() { _ = closeLedger() }, nil
}
