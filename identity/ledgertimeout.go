package identity

import (
	"context"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

// timeoutLedger gives each write its own deadline (Config.LedgerTimeout) on
// a context detached from the request's cancellation; the request's values
// (trace IDs) are kept. It sits under the Recorder, so the requests that
// have nothing to write pay nothing for it.
type timeoutLedger struct {
	ledger.Ledger
	timeout time.Duration
}

// withLedgerTimeout wraps l; a nil l stays nil (no ledger).
func withLedgerTimeout(l ledger.Ledger, d time.Duration) ledger.Ledger {
	if l == nil {
		return nil
	}
	return timeoutLedger{Ledger: l, timeout: d}
}

func (t timeoutLedger) Record(ctx context.Context, anonID string, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	defer cancel()
	return t.Ledger.Record(ctx, anonID, at)
}

func (t timeoutLedger) Link(ctx context.Context, anonID, customUserID string, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	defer cancel()
	return t.Ledger.Link(ctx, anonID, customUserID, at)
}
