package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/identity/sessionstore"
)

// The ledger's SQL stores also keep revoked sessions.
var _ identity.Revoker = (*sqlstore.Store)(nil)

// revokerFor returns where the demo keeps revoked sessions: the ledger's
// database when it is a SQL one (one DSN for both), else memory.
func revokerFor(l ledger.Ledger) identity.Revoker {
	if rv, ok := l.(identity.Revoker); ok {
		return rv
	}
	return memrevoke.New()
}

// serverSessions keeps logins in the ledger's database when it is a SQL
// one (-sessions server), else in memory.
func serverSessions(l ledger.Ledger, log *slog.Logger) (*sessionstore.Store, error) {
	b, ok := l.(sessionstore.Backend)
	if !ok {
		b = sessionstore.NewMemory()
	}
	return sessionstore.New(sessionstore.Config{Backend: b, Logger: log})
}

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

// startPruner runs a ledger.Pruner on l in the background (at once, then
// hourly) when retention is positive, and returns a function that stops it
// and waits for it, to be called before the ledger is closed.
func startPruner(ctx context.Context, l ledger.Ledger, retention time.Duration, log *slog.Logger) (stop func(), err error) {
	if retention == 0 {
		log.LogAttrs(ctx, slog.LevelInfo, "ledger retention off: never-linked anonymous IDs are kept")
		return func() {}, nil
	}
	p, err := ledger.NewPruner(ledger.PrunerConfig{Ledger: l, MaxAge: retention, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("-ledger-retention: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx) // returns ctx's error once stopped
	}()
	return func() { cancel(); <-done }, nil
}
