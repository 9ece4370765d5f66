package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
)

// openSQLite opens a real SQLite store in a directory whose name stands in
// for a DSN's secret: it must never reach a probe's answer.
func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "secret-dsn-marker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func probe(t *testing.T, srv *identity.Server) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.ReadyHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
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
	if code, body := probe(t, srv); code != http.StatusOK || body != "ok\n" {
		t.Errorf("probe: %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestReadyPingsTheLedger(t *testing.T) {
	store := openSQLite(t)
	logs := &logBuffer{}
	srv := newServer(t, identity.Config{Ledger: store, Revoker: memrevoke.New(), Logger: logs.logger()})
	if err := srv.Ready(context.Background()); err != nil {
		t.Fatalf("Ready with a working ledger: %v", err)
	}
	h := srv.ReadyHandler()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("probe with a working ledger: %d %q", code, body)
	}

	store.Close() // the database is gone
	err := srv.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ledger") {
		t.Fatalf("Ready with a closed ledger: %v, want an error naming the ledger", err)
	}
	for range 3 {
		code, body := get()
		if code != http.StatusServiceUnavailable || body != "unavailable: ledger\n" {
			t.Errorf("probe with a closed ledger: %d %q, want 503 \"unavailable: ledger\\n\"", code, body)
		}
		if strings.Contains(body, "secret-dsn-marker") || strings.Contains(body, "closed") {
			t.Errorf("probe answer %q carries the error's detail", body)
		}
	}
	if n := strings.Count(logs.String(), "identity: not ready"); n != 1 {
		t.Errorf("three failed probes logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "store=ledger") || !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("the log lacks the store or the error:\n%s", logs)
	}
}

func TestReadyPingsTheRevoker(t *testing.T) {
	revocations := openSQLite(t)
	srv := newServer(t, identity.Config{Ledger: memstore.New(), Revoker: revocations})
	if code, body := probe(t, srv); code != http.StatusOK {
		t.Fatalf("probe with working stores: %d %q", code, body)
	}
	revocations.Close()
	if code, body := probe(t, srv); code != http.StatusServiceUnavailable || body != "unavailable: revoker\n" {
		t.Errorf("probe with a closed revocation store: %d %q, want 503 \"unavailable: revoker\\n\"", code, body)
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
