package userdata_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/userdata"
	"github.com/webchatid/webchatid/internal/ibmtest"
	"github.com/webchatid/webchatid/internal/leakcheck"
)

const apiKey = "test-apikey-Zq8xP3"

// newDeleter returns a Deleter for the stand-in ibm, logging into log.
func newDeleter(t *testing.T, ibm *ibmtest.Server, log *bytes.Buffer) *userdata.Deleter {
	t.Helper()
	d, err := userdata.NewDeleter(userdata.Config{
		APIKey:      apiKey,
		InstanceURL: ibm.InstanceURL(),
		IAMURL:      ibm.IAMURL(),
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// secretsIn fails t if s holds the API key or any token the stand-in issued.
func secretsIn(t *testing.T, ibm *ibmtest.Server, what, s string) {
	t.Helper()
	for _, secret := range append(ibm.Tokens(), apiKey) {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds a secret (%.8s…): %s", what, secret, s)
		}
	}
}

func TestDeleteUserDataDeletesAtIBMWithOneCachedToken(t *testing.T) {
	leakcheck.Check(t)
	ibm := ibmtest.New(t, apiKey)
	var log bytes.Buffer
	d := newDeleter(t, ibm, &log)
	ids := []string{"anon-1", "anon-2", "anon+3 x"}
	for _, id := range ids {
		if err := d.DeleteUserData(context.Background(), id); err != nil {
			t.Fatalf("DeleteUserData(%q): %v", id, err)
		}
	}
	if got := ibm.Deleted(); !slices.Equal(got, ids) {
		t.Errorf("deleted at IBM: got %q, want %q", got, ids)
	}
	if n := ibm.TokenFetches(); n != 1 {
		t.Errorf("IAM tokens fetched: got %d, want 1 (cached)", n)
	}
	if !strings.Contains(log.String(), "IAM token fetched") {
		t.Errorf("log: got %q, want a line for the token fetched", log.String())
	}
	secretsIn(t, ibm, "log", log.String())
}

func TestTokenWithoutLifetimeIsNotCached(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	ibm.SetExpiresIn(0)
	d := newDeleter(t, ibm, new(bytes.Buffer))
	for _, id := range []string{"anon-1", "anon-2"} {
		if err := d.DeleteUserData(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if n := ibm.TokenFetches(); n != 2 {
		t.Errorf("IAM tokens fetched: got %d, want 2 (a token due for renewal is renewed)", n)
	}
}

func TestRefusedTokenIsRenewed(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	d := newDeleter(t, ibm, new(bytes.Buffer))
	if err := d.DeleteUserData(context.Background(), "anon-1"); err != nil {
		t.Fatal(err)
	}
	ibm.RevokeTokens()
	err := d.DeleteUserData(context.Background(), "anon-2")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("with a revoked token: got %v, want a 401 error", err)
	}
	if err := d.DeleteUserData(context.Background(), "anon-2"); err != nil {
		t.Fatalf("after the 401: got %v, want a fresh token and success", err)
	}
	if n := ibm.TokenFetches(); n != 2 {
		t.Errorf("IAM tokens fetched: got %d, want 2", n)
	}
}

func TestErrorsNeverHoldSecretsOrTheCustomerID(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	var log bytes.Buffer
	d := newDeleter(t, ibm, &log)
	const id = "anon-c00k1e-value"
	ibm.Script(id, ibmtest.Answer{Status: http.StatusInternalServerError}, ibmtest.Answer{Status: http.StatusBadRequest})
	for _, want := range []string{"500 Internal Server Error", "400 Bad Request"} {
		err := d.DeleteUserData(context.Background(), id)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error with %q", err, want)
		}
		if strings.Contains(err.Error(), id) {
			t.Errorf("error quotes the customer_id: %v", err)
		}
		secretsIn(t, ibm, "error", err.Error())
	}
	if got := ibm.Deleted(); len(got) != 0 {
		t.Errorf("deleted at IBM: got %q, want nothing", got)
	}

	wrong, err := userdata.NewDeleter(userdata.Config{APIKey: "wrong-" + apiKey, InstanceURL: ibm.InstanceURL(), IAMURL: ibm.IAMURL()})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.DeleteUserData(context.Background(), id)
	if err == nil || !strings.Contains(err.Error(), "BXNIM0415E") {
		t.Fatalf("wrong key: got %v, want IAM's error code", err)
	}
	if strings.Contains(err.Error(), "wrong-") || strings.Contains(err.Error(), id) {
		t.Errorf("error holds the key or the customer_id: %v", err)
	}
	secretsIn(t, ibm, "log", log.String())

	// A transport error (*url.Error) quotes the URL, customer_id and all.
	ibm.Close()
	err = d.DeleteUserData(context.Background(), id)
	if err == nil || strings.Contains(err.Error(), id) || strings.Contains(err.Error(), "customer_id=") {
		t.Errorf("with IBM down: got %v, want an error without the URL", err)
	}
}

// A 429's Retry-After reaches the Eraser, which then waits that long, even
// with a pace and a backoff far shorter.
func TestThrottlingHoldsTheEraser(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	ibm.Script("anon-1", ibmtest.Answer{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	l := memstore.New()
	for _, id := range []string{"anon-1", "anon-2"} {
		if err := l.Link(context.Background(), id, "user-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e, err := ledger.NewEraser(ledger.EraserConfig{
		Ledger: l, Deleter: newDeleter(t, ibm, new(bytes.Buffer)),
		Interval: time.Millisecond, Backoff: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Erase(context.Background(), "user-1"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	calls := ibm.Calls()
	if len(calls) != 3 || calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("IBM calls: got %+v, want a 429 and two deletions", calls)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("the call after the 429 came %v later, want at least Retry-After's 1s", gap)
	}
	if got := ibm.Deleted(); len(got) != 2 {
		t.Errorf("deleted at IBM: got %q, want both IDs", got)
	}
}

func TestThrottlingWithoutRetryAfterIsAPlainError(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	ibm.Script("anon-1", ibmtest.Answer{Status: http.StatusTooManyRequests})
	err := newDeleter(t, ibm, new(bytes.Buffer)).DeleteUserData(context.Background(), "anon-1")
	if err == nil || !strings.Contains(err.Error(), "429") {
		t.Errorf("got %v, want a 429 error", err)
	}
}

func TestNewDeleterRefusesBadConfig(t *testing.T) {
	ok := userdata.Config{APIKey: apiKey, InstanceURL: "https://api.us-south.assistant.watson.cloud.ibm.com/instances/abc"}
	for _, tc := range []struct {
		name  string
		edit  func(*userdata.Config)
		field string
	}{
		{"no API key", func(c *userdata.Config) { c.APIKey = "" }, "APIKey is required"},
		{"API key with a trailing newline", func(c *userdata.Config) { c.APIKey += "\n" }, "APIKey contains"},
		{"no instance URL", func(c *userdata.Config) { c.InstanceURL = "" }, "InstanceURL is required"},
		{"instance URL over http", func(c *userdata.Config) { c.InstanceURL = "http://api.example.com/instances/x" }, "InstanceURL"},
		{"instance URL not a URL", func(c *userdata.Config) { c.InstanceURL = "api.example.com" }, "InstanceURL"},
		{"instance URL with a query", func(c *userdata.Config) { c.InstanceURL += "?version=1" }, "InstanceURL"},
		{"IAM URL over http", func(c *userdata.Config) { c.IAMURL = "http://iam.example.com/identity/token" }, "IAMURL"},
		{"version not a date", func(c *userdata.Config) { c.Version = "2024-8-25" }, "Version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := userdata.NewDeleter(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want an error naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error holds the API key: %v", err)
			}
		})
	}
	if _, err := userdata.NewDeleter(ok); err != nil {
		t.Errorf("a good config: got %v", err)
	}
	loop := ok
	loop.InstanceURL, loop.IAMURL = "http://127.0.0.1:8080/instances/x", "http://localhost:8080/identity/token"
	if _, err := userdata.NewDeleter(loop); err != nil {
		t.Errorf("http on loopback (a stand-in): got %v, want it allowed", err)
	}
}

func TestEmptyCustomerIDIsRefused(t *testing.T) {
	ibm := ibmtest.New(t, apiKey)
	if err := newDeleter(t, ibm, new(bytes.Buffer)).DeleteUserData(context.Background(), ""); err == nil {
		t.Error("got nil, want an error")
	}
	if n := len(ibm.Calls()); n != 0 {
		t.Errorf("IBM calls: got %d, want none", n)
	}
}

// A nil Logger is slog.Default at each call, as everywhere in the module:
// an app that sets its default logger after NewDeleter gets the lines there.
func TestNilLoggerIsTheDefaultAtEachCall(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	// A default of the app's own (not the initial one, which forwards to
	// whatever is set later) when the value is made.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	ibm := ibmtest.New(t, apiKey)
	d, err := userdata.NewDeleter(userdata.Config{APIKey: apiKey, InstanceURL: ibm.InstanceURL(), IAMURL: ibm.IAMURL()})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := d.DeleteUserData(context.Background(), "anon-1"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "IAM token fetched") {
		t.Errorf("the default logger set after NewDeleter got %q, want the token fetch's line", logs.String())
	}
}
