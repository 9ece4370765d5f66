package ledger

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/webchatid/webchatid/internal/logbuf"
)

// TestPrunerRunPrunesAtOnceThenEveryInterval: with fake time, Run prunes
// at start and then once per Interval, each time with cutoff now-MaxAge,
// logs what it removed, and returns when ctx ends.
func TestPrunerRunPrunesAtOnceThenEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLedger{pruned: 3}
		var logs logbuf.Buffer
		p, err := NewPruner(PrunerConfig{Ledger: l, Interval: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		if got := len(l.pruneCalls()); got != 1 {
			t.Fatalf("prunes at start: got %d, want 1", got)
		}
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		cutoffs := l.pruneCalls()
		if len(cutoffs) != 4 {
			t.Fatalf("prunes after 3 intervals: got %d, want 4", len(cutoffs))
		}
		for i, c := range cutoffs {
			if want := start.Add(time.Duration(i)*time.Hour - DefaultRetention); !c.Equal(want) {
				t.Errorf("prune %d: cutoff %v, want now-45 days = %v", i, c, want)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: got %v, want context.Canceled", err)
		}
		if !strings.Contains(logs.String(), "pruned=3") {
			t.Errorf("log lacks the count:\n%s", logs.String())
		}
	})
}

// TestPrunerKeepsRunningAfterAFailure: a failed prune is logged and tried
// again at the next interval.
func TestPrunerKeepsRunningAfterAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLedger{pruned: 3, pruneErr: errors.New("database down")}
		var logs logbuf.Buffer
		p, err := NewPruner(PrunerConfig{Ledger: l, MaxAge: 24 * time.Hour, Interval: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go p.Run(ctx)
		time.Sleep(2*time.Minute + time.Second)
		synctest.Wait()
		if got := len(l.pruneCalls()); got != 3 {
			t.Errorf("prunes: got %d, want 3 (failures do not stop Run)", got)
		}
		if got := strings.Count(logs.String(), "database down"); got != 3 {
			t.Errorf("failure log lines: got %d, want 3:\n%s", got, logs.String())
		}
	})
}

func TestNewPrunerChecksConfig(t *testing.T) {
	for name, cfg := range map[string]PrunerConfig{
		"no ledger":         {},
		"negative MaxAge":   {Ledger: &fakeLedger{pruned: 3}, MaxAge: -time.Hour},
		"negative Interval": {Ledger: &fakeLedger{pruned: 3}, Interval: -time.Hour},
	} {
		if _, err := NewPruner(cfg); err == nil {
			t.Errorf("%s: got nil error, want one", name)
		}
	}
	p, err := NewPruner(PrunerConfig{Ledger: &fakeLedger{pruned: 3}})
	if err != nil || p.cfg.MaxAge != 45*24*time.Hour || p.cfg.Interval != time.Hour {
		t.Errorf("defaults: got %+v, %v; want 45 days and 1 hour", p.cfg, err)
	}
}
