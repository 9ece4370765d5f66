package main

import (
	"context"
	"fmt"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledgerdsn"
)

// ledgerApp names the demo's default ledger file (see ledgerdsn.Default).
const ledgerApp = "webchatid-demo"

// openLedger opens the ledger named by dsn ("memory", "sqlite:PATH",
// "postgres://…"; empty means the demo's default SQLite file). It returns the
// ledger, a printable name (no password) and a function that closes it.
func openLedger(ctx context.Context, dsn string) (identity.Ledger, string, func(), error) {
	if dsn == "" {
		dsn = ledgerdsn.Default(ledgerApp)
	}
	l, closeLedger, err := ledgerdsn.Open(ctx, dsn)
	if err != nil {
		return nil, "", nil, fmt.Errorf("-ledger: %w", err)
	}
	return l, ledgerdsn.Redact(dsn), func() { _ = closeLedger() }, nil
}
