package identity

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

// readyTimeout bounds one readiness check of [Server.ReadyHandler], so a
// database that hangs fails the probe instead of piling up requests.
const readyTimeout = 5 * time.Second

// Ready reports whether the Server can serve tokens as configured: it pings
// Config.Ledger and Config.Revoker when they implement [ledger.Pinger] (the
// SQL and memory stores of this module do; one store serving as both is
// pinged once), and returns the first failure, wrapped with the name of the
// store ("ledger" or "revoker"). With neither configured, or neither a
// Pinger, it returns nil: signing needs nothing outside the process. The
// error may carry the database driver's message; log it, do not send it to
// clients ([Server.ReadyHandler] does not).
func (s *Server) Ready(ctx context.Context) error {
	_, err := s.ready(ctx)
	return err
}

// ready is Ready, also naming the store that failed.
func (s *Server) ready(ctx context.Context) (store string, err error) {
	lp, _ := s.cfg.Ledger.(ledger.Pinger)
	rp, _ := s.cfg.Revoker.(ledger.Pinger)
	if lp != nil {
		if err := lp.Ping(ctx); err != nil {
			return "ledger", fmt.Errorf("identity: ledger not ready: %w", err)
		}
	}
	if rp != nil && !samePinger(lp, rp) {
		if err := rp.Ping(ctx); err != nil {
			return "revoker", fmt.Errorf("identity: revoker not ready: %w", err)
		}
	}
	return "", nil
}

// samePinger reports whether a and b are one store (the ledger's database
// keeping revocations too); values of types that cannot be compared are
// taken as different.
func samePinger(a, b ledger.Pinger) bool {
	if a == nil || b == nil || !reflect.TypeOf(a).Comparable() || reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	return a == b
}

// ReadyHandler returns a readiness probe for load balancers and
// orchestrators (a Kubernetes readinessProbe, say): it answers 200 with the
// body "ok" when [Server.Ready] succeeds within 5 seconds, and otherwise 503
// with "unavailable: ledger" or "unavailable: revoker", never the error
// itself (a driver's message may name hosts or users). Answers are never
// cached. The first failure after success, and the recovery, are logged
// with the error; failures in between are not, so a probe every few seconds
// does not flood the log.
//
// [Server.Handler] does not mount it: the app chooses its path (the demo
// uses /readyz) and whether it is reachable from outside.
func (s *Server) ReadyHandler() http.Handler {
	var failing atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		store, err := s.ready(ctx)
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		if err != nil {
			if !failing.Swap(true) {
				s.log().LogAttrs(r.Context(), slog.LevelWarn, "identity: not ready", slog.String("store", store),
					requestAttr("error", err.Error()))
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unavailable: %s\n", store)
			return
		}
		if failing.Swap(false) {
			s.log().LogAttrs(r.Context(), slog.LevelInfo, "identity: ready again")
		}
		fmt.Fprint(w, "ok\n")
	})
}
