package main

import (
	"expvar"
	"flag"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// tokenPathFlags are the -admission-* and -reuse-* flags: the two
// Config fields that keep the token endpoint fast under load.
type tokenPathFlags struct {
	admission identity.AdmissionConfig
	reuse     identity.ReuseConfig
}

func (t *tokenPathFlags) register(fs *flag.FlagSet) {
	fs.BoolFunc("no-admission", "sign every token at once however many arrive (default: at most -admission-max-concurrent at a time, then a short queue, then 503 with Retry-After)", func(string) error {
		t.admission.Disabled = true
		return nil
	})
	fs.IntVar(&t.admission.MaxConcurrent, "admission-max-concurrent", 0, "tokens signed at once (0: GOMAXPROCS)")
	fs.IntVar(&t.admission.MaxQueue, "admission-max-queue", 0, "requests waiting to sign beyond that (0: 64 per slot)")
	fs.DurationVar(&t.admission.MaxWait, "admission-max-wait", 0, "longest wait to sign before 503 (0: 100ms)")
	fs.BoolFunc("no-reuse", "sign a new token on every request (default: hand a visitor its earlier token while the claims are the same and -reuse-min-remaining of its lifetime is left)", func(string) error {
		t.reuse.Disabled = true
		return nil
	})
	fs.IntVar(&t.reuse.Size, "reuse-size", 0, "tokens the reuse cache keeps (0: 10000)")
	fs.Float64Var(&t.reuse.MinRemaining, "reuse-min-remaining", 0, "share of its lifetime a token needs left to be reused (0: 0.8)")
}

// The demo publishes the Server's counters as the expvar "webchatid"
// (GET /debug/vars, from loopback only): Stats is all a metrics system
// needs, and the library itself depends on none.
//
// The SQL ledgers' write counters (sqlstore.Stats: group-commit batches,
// rows, the largest batch, failed batches, errors) are the expvar
// "webchatid_ledger"; it is null with -ledger memory.
var (
	statsServer  atomic.Pointer[identity.Server]
	statsLedger  atomic.Pointer[sqlstore.Store]
	publishStats sync.Once
)

// debugVars returns the /debug/vars handler showing srv's Stats and, if
// led is a SQL ledger, its write counters. expvar's names are
// process-wide, so a later run (the tests start several) replaces the
// Server and ledger shown.
func debugVars(srv *identity.Server, led ledger.Ledger) http.Handler {
	statsServer.Store(srv)
	sql, _ := led.(*sqlstore.Store) // nil for -ledger memory
	statsLedger.Store(sql)
	publishStats.Do(func() {
		expvar.Publish("webchatid_ledger", expvar.Func(func() any {
			if st := statsLedger.Load(); st != nil {
				return st.Stats()
			}
			return nil
		}))
		start := time.Now()
		expvar.Publish("webchatid", expvar.Func(func() any {
			s := statsServer.Load()
			if s == nil {
				return nil
			}
			return s.Stats()
		}))
		expvar.Publish("uptime_seconds", expvar.Func(func() any { return time.Since(start).Seconds() }))
	})
	return loopbackOnly(expvar.Handler())
}

// loopbackOnly serves h to loopback clients and 404 to everyone else: the
// command line and memory stats expvar shows are for the operator.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
