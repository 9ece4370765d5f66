package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// debugStats reads the demo's /debug/vars and returns its "webchatid" var.
func debugStats(t *testing.T, url string) map[string]float64 {
	t.Helper()
	var st map[string]float64
	debugVar(t, url, "webchatid", &st)
	return st
}

// debugVar reads the demo's /debug/vars and decodes its var name into v.
func debugVar(t *testing.T, url, name string, v any) {
	t.Helper()
	res, err := http.Get(url + "debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/vars: got %d", res.StatusCode)
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(body, &vars); err != nil {
		t.Fatalf("GET /debug/vars: %v in %s", err, body)
	}
	raw, ok := vars[name]
	if !ok {
		t.Fatalf("GET /debug/vars: no var %q in %s", name, body)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET /debug/vars %s: %v in %s", name, err, raw)
	}
}

func TestDebugVarsShowsTokenPathCounters(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		hits, admitted float64
	}{
		{"defaults reuse", nil, 2, 1},
		{"-no-reuse signs each time", []string{"-no-reuse"}, 0, 3},
		{"-no-admission counts nothing admitted", []string{"-no-admission"}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", "memory"}, tc.args...)
			url, _ := startDemo(t, args...)
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			browser := &http.Client{Jar: jar}
			var first string
			for i := range 3 {
				res, err := browser.Get(url + "createJWT")
				if err != nil {
					t.Fatal(err)
				}
				tok, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET /createJWT: got %d", res.StatusCode)
				}
				if i == 0 {
					first = string(tok)
				} else if same := string(tok) == first; same != (tc.hits > 0) {
					t.Errorf("page load %d: got the first token again %v, want %v", i+1, same, tc.hits > 0)
				}
			}
			st := debugStats(t, url)
			if st["ReuseHits"] != tc.hits || st["Admitted"] != tc.admitted {
				t.Errorf("/debug/vars webchatid: got %v, want ReuseHits %v, Admitted %v", st, tc.hits, tc.admitted)
			}
		})
	}
}

// With a SQL ledger, /debug/vars also shows its group-commit counters as
// "webchatid_ledger"; with -ledger memory that var is null.
func TestDebugVarsShowsLedgerCounters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger string
		rows   bool
	}{
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "ledger.db"), true},
		{"memory", "memory", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := startDemo(t, "-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", tc.ledger)
			for range 3 { // three new visitors: three rows
				res, err := http.Get(url + "createJWT")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET /createJWT: got %d", res.StatusCode)
				}
			}
			var ledger *sqlstore.Stats
			debugVar(t, url, "webchatid_ledger", &ledger)
			switch {
			case !tc.rows && ledger != nil:
				t.Errorf("webchatid_ledger: got %+v, want null", *ledger)
			case tc.rows && ledger == nil:
				t.Error("webchatid_ledger: got null, want the SQL ledger's counters")
			case tc.rows && (ledger.Rows != 3 || ledger.Batches < 1 || ledger.Batches > 3 || ledger.Errors != 0):
				t.Errorf("webchatid_ledger: got %+v, want 3 rows in 1-3 batches, no errors", *ledger)
			}
		})
	}
}

func TestTokenPathFlags(t *testing.T) {
	c, err := parseFlags([]string{"-admission-max-concurrent", "3", "-admission-max-queue", "7", "-admission-max-wait", "50ms",
		"-reuse-size", "99", "-reuse-min-remaining", "0.5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, r := c.tokenPath.admission, c.tokenPath.reuse
	if a.MaxConcurrent != 3 || a.MaxQueue != 7 || a.MaxWait.Milliseconds() != 50 || a.Disabled || r.Size != 99 || r.MinRemaining != 0.5 || r.Disabled {
		t.Errorf("got %+v %+v", a, r)
	}
}

// /debug/vars answers loopback clients only: a request from any other
// address gets 404 and never reaches the handler.
func TestDebugVarsLoopbackOnly(t *testing.T) {
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "vars")
	}))
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:4321", http.StatusOK},
		{"[::1]:4321", http.StatusOK},
		{"192.0.2.7:4321", http.StatusNotFound},
		{"[2001:db8::7]:4321", http.StatusNotFound},
		{"not-an-address", http.StatusNotFound},
	} {
		r := httptest.NewRequest("GET", "/debug/vars", nil)
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want || (tc.want == http.StatusOK) != (w.Body.String() == "vars") {
			t.Errorf("from %s: got %d %q, want %d", tc.remote, w.Code, w.Body.String(), tc.want)
		}
	}
}
