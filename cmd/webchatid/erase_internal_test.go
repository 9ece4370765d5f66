package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
	"github.com/webchatid/webchatid/internal/ibmtest"
	"github.com/webchatid/webchatid/internal/leakcheck"
)

const testAPIKey = "ibm-apikey-Qm7vR2sT9w"

// eraseRun runs webchatid erase with env as its environment.
func eraseRun(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := eraseCommand{open: ledgerdsn.Open, getenv: func(k string) string { return env[k] }}
	code = c.run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// exportRows returns the ledger's rows as "anon/user".
func exportRows(t *testing.T, dsn string) []string {
	t.Helper()
	var rows []string
	var out bytes.Buffer
	if code := runLedger(context.Background(), []string{"-ledger", dsn, "export"}, stdio{out: &out, err: new(bytes.Buffer)}); code != exitOK {
		t.Fatalf("export: exit %d", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		anon, _, _ := strings.Cut(strings.TrimPrefix(line, `{"anonymous_id":"`), `"`)
		_, rest, _ := strings.Cut(line, `"custom_user_id":"`)
		user, _, _ := strings.Cut(rest, `"`)
		rows = append(rows, anon+"/"+user)
	}
	return rows
}

// noSecrets fails t if an output holds the API key, an IAM token or an
// anonymous ID in full (a cookie value).
func noSecrets(t *testing.T, ibm *ibmtest.Server, outputs ...string) {
	t.Helper()
	for _, s := range outputs {
		for _, secret := range append(ibm.Tokens(), testAPIKey, "anon-a", "anon-b", "anon-shared") {
			if strings.Contains(s, secret) {
				t.Errorf("output holds %.10s…:\n%s", secret, s)
			}
		}
	}
}

func standinEnv(ibm *ibmtest.Server) map[string]string {
	return map[string]string{"WEBCHATID_IBM_APIKEY": testAPIKey, "WEBCHATID_IBM_INSTANCE_URL": ibm.InstanceURL()}
}

// fast are flags that make a test's erasure quick: no 15 s pace, no 30 s
// backoff. Retry-After still holds.
func fast(ibm *ibmtest.Server, args ...string) []string {
	return append([]string{"-iam-url", ibm.IAMURL(), "-interval", "1ms", "-backoff", "1ms"}, args...)
}

func TestEraseDeletesEveryIDAtIBMAndForgetsThem(t *testing.T) {
	ibm := ibmtest.New(t, testAPIKey)
	ibm.SetSlow(10 * time.Millisecond)
	dsn := seedSQLite(t)
	code, stdout, stderr := eraseRun(t, standinEnv(ibm), fast(ibm, "-ledger", dsn, "customer-1")...)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	if got, want := ibm.Deleted(), []string{"anon-a", "anon-b", "anon-shared"}; !slices.Equal(got, want) {
		t.Errorf("deleted at IBM: got %q, want %q", got, want)
	}
	if got, want := exportRows(t, dsn), []string{"anon-shared/customer-2", "anon-unlinked/"}; !slices.Equal(got, want) {
		t.Errorf("ledger after erase: got %q, want %q (the shared ID kept for customer-2)", got, want)
	}
	if !strings.Contains(stdout, `erased 3 of 3 customer_id(s) of "customer-1" at IBM`) {
		t.Errorf("stdout: got %q, want the summary", stdout)
	}
	for _, want := range []string{"1/3 deleted at IBM: customer_id " + shortID("anon-a"), "3/3 deleted at IBM: customer_id " + shortID("anon-shared")} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr: got\n%s\nwant a line with %q", stderr, want)
		}
	}
	noSecrets(t, ibm, stdout, stderr)
}

// IBM fails (500) and throttles (429 with Retry-After): the throttled and
// flaky IDs are retried and deleted, the call after the 429 waits as IBM
// asked, the ID that keeps failing stays in the ledger, and the exit status
// is 1.
func TestEraseRetriesHonoursThrottlingAndKeepsFailures(t *testing.T) {
	leakcheck.Check(t)
	ibm := ibmtest.New(t, testAPIKey)
	ibm.Script("anon-a", ibmtest.Answer{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	ibm.Script("anon-b", ibmtest.Answer{Status: http.StatusInternalServerError})
	ibm.Script("anon-shared", ibmtest.Answer{Status: 500}, ibmtest.Answer{Status: 500}, ibmtest.Answer{Status: 500})
	dsn := seedSQLite(t)
	code, stdout, stderr := eraseRun(t, standinEnv(ibm), fast(ibm, "-ledger", dsn, "-max-attempts", "3", "customer-1")...)
	if code != exitFail {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if got, want := ibm.Deleted(), []string{"anon-a", "anon-b"}; !slices.Equal(got, want) {
		t.Errorf("deleted at IBM: got %q, want %q", got, want)
	}
	// Only what IBM confirmed is forgotten.
	if got, want := exportRows(t, dsn), []string{"anon-shared/customer-1", "anon-shared/customer-2", "anon-unlinked/"}; !slices.Equal(got, want) {
		t.Errorf("ledger after erase: got %q, want %q", got, want)
	}
	calls := ibm.Calls()
	if len(calls) != 7 || calls[0].CustomerID != "anon-a" || calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("IBM calls: got %+v, want 7 starting with anon-a's 429", calls)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Errorf("the call after the 429 came %v later, want at least Retry-After's 1s", gap)
	}
	if !strings.Contains(stdout, "erased 2 of 3") || !strings.Contains(stdout, "1 failed and stay in the ledger") {
		t.Errorf("stdout: got %q, want the summary with the failure", stdout)
	}
	if !strings.Contains(stderr, "3/3 FAILED: customer_id "+shortID("anon-shared")) || !strings.Contains(stderr, "500 Internal Server Error") {
		t.Errorf("stderr: got\n%s\nwant the failed ID (short) and IBM's answer", stderr)
	}
	noSecrets(t, ibm, stdout, stderr)
}

func TestEraseDryRunCallsNothing(t *testing.T) {
	ibm := ibmtest.New(t, testAPIKey)
	dsn := seedSQLite(t)
	code, stdout, stderr := eraseRun(t, nil, "-ledger", dsn, "-dry-run", "customer-1")
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (no key needed); stderr: %s", code, stderr)
	}
	want := "would delete 3 customer_id(s) of \"customer-1\" at IBM, about 30s at 1 every 15s: " +
		shortID("anon-a") + " " + shortID("anon-b") + " " + shortID("anon-shared") + "\n"
	if stdout != want {
		t.Errorf("stdout: got %q, want %q", stdout, want)
	}
	if n := len(ibm.Calls()) + ibm.TokenFetches(); n != 0 {
		t.Errorf("calls at IBM: got %d, want none", n)
	}
	if got := exportRows(t, dsn); len(got) != 5 {
		t.Errorf("ledger after a dry run: got %q, want it unchanged", got)
	}
	noSecrets(t, ibm, stdout, stderr)
}

func TestEraseUsageAndFailures(t *testing.T) {
	ibm := ibmtest.New(t, testAPIKey)
	dsn := seedSQLite(t)
	env := standinEnv(ibm)
	noKey := map[string]string{"WEBCHATID_IBM_INSTANCE_URL": ibm.InstanceURL()}
	noURL := map[string]string{"WEBCHATID_IBM_APIKEY": testAPIKey}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no user", env, []string{"-ledger", dsn}, exitUsage, "want one CUSTOM_USER_ID"},
		{"empty user", env, []string{"-ledger", dsn, ""}, exitUsage, "want one CUSTOM_USER_ID"},
		{"no -ledger", env, []string{"customer-1"}, exitUsage, "-ledger is required"},
		{"no API key", noKey, []string{"-ledger", dsn, "customer-1"}, exitUsage, "$WEBCHATID_IBM_APIKEY is empty"},
		{"the key as a flag", noKey, []string{"-apikey", testAPIKey, "-ledger", dsn, "customer-1"}, exitUsage, "there is no -apikey flag"},
		{"the key as -apikey=", noKey, []string{"--api-key=" + testAPIKey, "-ledger", dsn, "customer-1"}, exitUsage, "there is no -apikey flag"},
		{"the key pasted as -apikey-env", noKey, []string{"-apikey-env", "AbCdEf0123456789xyz", "-ledger", dsn, "customer-1"}, exitUsage, "the variable -apikey-env names is empty"},
		{"the key pasted as -apikey-env, with a dash", noKey, []string{"-apikey-env", "x-" + testAPIKey, "-ledger", dsn, "customer-1"}, exitUsage, "the NAME of an environment variable"},
		{"no instance URL", noURL, []string{"-ledger", dsn, "customer-1"}, exitUsage, "no instance URL"},
		{"instance URL over http", noURL, []string{"-instance-url", "http://example.com/instances/x", "-ledger", dsn, "customer-1"}, exitUsage, "want https"},
		{"zero interval", env, []string{"-interval", "0s", "-ledger", dsn, "customer-1"}, exitUsage, "must be above zero"},
		{"missing SQLite file", env, []string{"-ledger", dsn + ".typo", "customer-1"}, exitFail, "no ledger at"},
		{"a user the ledger does not know", env, fast(ibm, "-ledger", dsn, "nobody"), exitOK, ""},
		{"IAM refuses the key", map[string]string{"WEBCHATID_IBM_APIKEY": "wrong-key", "WEBCHATID_IBM_INSTANCE_URL": ibm.InstanceURL()},
			fast(ibm, "-ledger", dsn, "-max-attempts", "1", "customer-1"), exitFail, "BXNIM0415E"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := eraseRun(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr: got\n%s\nwant it to contain %q", stderr, tc.stderr)
			}
			noSecrets(t, ibm, stdout, stderr)
			if strings.Contains(stdout+stderr, "AbCdEf0123456789xyz") {
				t.Errorf("output echoes the -apikey-env value, maybe a key: %s", stderr)
			}
		})
	}
	if got := ibm.Deleted(); len(got) != 0 {
		t.Errorf("deleted at IBM: got %q, want nothing", got)
	}
	if got := exportRows(t, dsn); len(got) != 5 {
		t.Errorf("ledger: got %q, want it unchanged", got)
	}
}

// On a terminal the progress is one line, redrawn in place; a failure and
// a log line go above it.
func TestEraseProgressOnATerminal(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, tty: true, interval: 15 * time.Second, total: 12}
	p.start()
	for range 3 {
		p.result("anon-x", nil)
	}
	p.result("anon-secret", errIn("IBM answered 500 for anon-secret"))
	p.Write([]byte("level=WARN msg=\"ledger: erasure: IBM deletion failed\"\n"))
	p.finish()
	got := b.String()
	for _, want := range []string{
		"\r\033[Kerased 0/12 · 1 every 15s · about 3m0s left",
		"\r\033[Kerased 3/12 · 1 every 15s · about 2m15s left",
		"\r\033[Kfailed: customer_id " + shortID("anon-secret") + ": IBM answered 500 for " + shortID("anon-secret") + "\n",
		"\r\033[Kerased 3/12, 1 failed · 1 every 15s · about 2m0s left\r\033[Klevel=WARN",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output: got %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "anon-secret") || !strings.HasSuffix(got, "left\n") {
		t.Errorf("terminal output: got %q, want no full ID and a final newline", got)
	}
	if strings.Count(got, "\n") != 3 {
		t.Errorf("terminal output: got %d lines, want 3 (failure, log, end): %q", strings.Count(got, "\n"), got)
	}
}

type errIn string

func (e errIn) Error() string { return string(e) }
