package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/internal/logbuf"
)

// ledgerRevoker is one store serving as both, as sqlstore's Store does.
type ledgerRevoker struct {
	*fakeLedger
	identity.Revoker
}

func (lr ledgerRevoker) Ping(ctx context.Context) error { return lr.fakeLedger.Ping(ctx) }

func probe(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: %q, want no-store", cc)
	}
	return rec.Code, rec.Body.String()
}

func TestReadyWithoutStoresIsReady(t *testing.T) {
	srv := newServer(t, identity.Config{})
	if err := srv.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v, want nil", err)
	}
	if code, body := probe(t, srv.ReadyHandler()); code != http.StatusOK || body != "ok\n" {
		t.Errorf("probe: %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestReadyPingsTheLedger(t *testing.T) {
	store := &fakeLedger{}
	logs := &logbuf.Buffer{}
	srv := newServer(t, identity.Config{Ledger: store, Revoker: memrevoke.New(), Logger: logs.Logger()})
	if err := srv.Ready(context.Background()); err != nil {
		t.Fatalf("Ready with a working ledger: %v", err)
	}
	h := srv.ReadyHandler()
	if code, body := probe(t, h); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("probe with a working ledger: %d %q", code, body)
	}

	store.down.Store(true)
	err := srv.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ledger") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Ready with the ledger down: %v, want an error naming the ledger and wrapping the cause", err)
	}
	for range 3 {
		code, body := probe(t, h)
		if code != http.StatusServiceUnavailable || body != "unavailable: ledger\n" {
			t.Errorf("probe with the ledger down: %d %q, want 503 \"unavailable: ledger\\n\"", code, body)
		}
		if strings.Contains(body, "secret-dsn-marker") || strings.Contains(body, "refused") {
			t.Errorf("probe answer %q carries the error's detail", body)
		}
	}
	if n := strings.Count(logs.String(), "identity: not ready"); n != 1 {
		t.Errorf("three failed probes logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "store=ledger") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the log lacks the store or the error:\n%s", logs)
	}

	store.down.Store(false)
	if code, body := probe(t, h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("probe after the ledger came back: %d %q", code, body)
	}
	if !strings.Contains(logs.String(), "identity: ready again") {
		t.Errorf("the recovery was not logged:\n%s", logs)
	}
}

func TestReadyPingsTheRevoker(t *testing.T) {
	revocations := newFakeRevoker()
	srv := newServer(t, identity.Config{Ledger: memstore.New(), Revoker: revocations})
	if code, body := probe(t, srv.ReadyHandler()); code != http.StatusOK {
		t.Fatalf("probe with working stores: %d %q", code, body)
	}
	revocations.down.Store(true)
	if code, body := probe(t, srv.ReadyHandler()); code != http.StatusServiceUnavailable || body != "unavailable: revoker\n" {
		t.Errorf("probe with the revocation store down: %d %q, want 503 \"unavailable: revoker\\n\"", code, body)
	}
}

func TestReadyPingsOneStoreOnce(t *testing.T) {
	store := ledgerRevoker{fakeLedger: &fakeLedger{}, Revoker: memrevoke.New()}
	srv := newServer(t, identity.Config{Ledger: store, Revoker: store})
	if err := srv.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := store.pings.Load(); n != 1 {
		t.Errorf("one store as Ledger and Revoker pinged %d times, want once", n)
	}
}

func TestReadyHonoursTheContext(t *testing.T) {
	srv := newServer(t, identity.Config{Ledger: memstore.New()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Ready(ctx); err == nil {
		t.Error("Ready with a cancelled context: got nil, want the ledger's error")
	}
}

func TestHandlerDoesNotMountReady(t *testing.T) {
	srv := newServer(t, identity.Config{Ledger: memstore.New()})
	for _, path := range []string{"/readyz", "/ready", "/healthz"} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s on Handler(): %d, want 404 (the app mounts ReadyHandler)", path, rec.Code)
		}
	}
}
