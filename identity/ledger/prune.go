package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of [PrunerConfig].
const (
	// DefaultRetention is how long a never-linked anonymous ID is kept
	// after it was last seen: the anonymous cookie's default lifetime (45
	// days, IBM's advice), after which the browser no longer holds it.
	DefaultRetention = 45 * 24 * time.Hour

	// DefaultPruneInterval is how often a [Pruner] prunes.
	DefaultPruneInterval = time.Hour
)

// PrunerConfig configures a [Pruner].
type PrunerConfig struct {
	// Ledger is the ledger to prune. It is required.
	Ledger Ledger

	// MaxAge is how long after it was last seen a never-linked anonymous
	// ID is kept. Set it to at least the anonymous cookie's lifetime, so
	// that no ID still held by a browser is pruned (it would only be
	// recorded afresh, with a later first-seen time). If zero,
	// [DefaultRetention] (45 days) is used.
	MaxAge time.Duration

	// Interval is the time between two prunes of [Pruner.Run]. If zero,
	// [DefaultPruneInterval] (1 hour) is used.
	Interval time.Duration

	// Logger receives one Info line per prune that removed IDs and one
	// Warn line per failed prune. If nil, [slog.Default] is used.
	Logger *slog.Logger

	// Now is the clock. If nil, [time.Now] is used.
	Now func() time.Time
}

// A Pruner keeps a [Ledger] from growing without bound: it removes the
// anonymous IDs that were never linked to a user and have not been seen
// for longer than MaxAge ([Ledger.Prune]). Linked IDs stay until a privacy
// request forgets them. It is safe for concurrent use.
type Pruner struct {
	cfg PrunerConfig
}

// NewPruner checks cfg, fills its defaults, and returns a Pruner.
func NewPruner(cfg PrunerConfig) (*Pruner, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, errors.New("ledger: PrunerConfig.Ledger is nil")
	case cfg.MaxAge < 0:
		return nil, fmt.Errorf("ledger: PrunerConfig.MaxAge: %v is negative", cfg.MaxAge)
	case cfg.Interval < 0:
		return nil, fmt.Errorf("ledger: PrunerConfig.Interval: %v is negative", cfg.Interval)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultRetention
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultPruneInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pruner{cfg: cfg}, nil
}

// Prune prunes once: it removes the never-linked IDs last seen more than
// MaxAge ago and returns how many.
func (p *Pruner) Prune(ctx context.Context) (int, error) {
	return p.cfg.Ledger.Prune(ctx, p.cfg.Now().Add(-p.cfg.MaxAge))
}

// Run prunes at once and then every Interval until ctx ends, and returns
// ctx's error. A failed prune is logged and tried again at the next
// interval. Start it in its own goroutine.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.pruneAndLog(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *Pruner) pruneAndLog(ctx context.Context) {
	n, err := p.Prune(ctx)
	log := p.cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down.
	case err != nil:
		log.LogAttrs(ctx, slog.LevelWarn, "ledger: prune failed", slog.Int("pruned", n), slog.String("error", err.Error()))
	case n > 0:
		log.LogAttrs(ctx, slog.LevelInfo, "ledger: pruned never-linked anonymous IDs", slog.Int("pruned", n), slog.Duration("max_age", p.cfg.MaxAge))
	}
}
