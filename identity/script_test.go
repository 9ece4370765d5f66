package identity_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/internal/testpeer"
)

func TestScriptHandler(t *testing.T) {
	want, err := os.ReadFile("webchatid.js")
	if err != nil {
		t.Fatal(err)
	}
	h := identity.ScriptHandler()
	etag := serveScript(t, h, http.MethodGet, nil).Header().Get("ETag")
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]{16,}"$`).MatchString(etag) {
		t.Fatalf("got ETag %q, want a quoted strong validator", etag)
	}

	tests := []struct {
		name       string
		method     string
		header     http.Header
		wantStatus int
		wantBody   []byte
	}{
		{"GET serves the embedded script", http.MethodGet, nil, http.StatusOK, want},
		{"HEAD serves headers without a body", http.MethodHead, nil, http.StatusOK, nil},
		{"matching If-None-Match gets 304", http.MethodGet, http.Header{"If-None-Match": {etag}}, http.StatusNotModified, nil},
		{"weak form of the ETag matches", http.MethodGet, http.Header{"If-None-Match": {"W/" + etag}}, http.StatusNotModified, nil},
		{"ETag in a list matches", http.MethodGet, http.Header{"If-None-Match": {`"old", ` + etag}}, http.StatusNotModified, nil},
		{"star matches", http.MethodGet, http.Header{"If-None-Match": {"*"}}, http.StatusNotModified, nil},
		{"stale ETag gets the script", http.MethodGet, http.Header{"If-None-Match": {`"old"`}}, http.StatusOK, want},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveScript(t, h, tc.method, tc.header)
			if rec.Code != tc.wantStatus {
				t.Fatalf("got status %d, want %d", rec.Code, tc.wantStatus)
			}
			if !bytes.Equal(rec.Body.Bytes(), tc.wantBody) {
				t.Errorf("got a body of %d bytes, want %d", rec.Body.Len(), len(tc.wantBody))
			}
			wantHeaders := map[string]string{
				"ETag":                   etag,
				"X-Content-Type-Options": "nosniff",
				"Cache-Control":          "public, max-age=300",
			}
			if tc.wantStatus == http.StatusOK {
				wantHeaders["Content-Type"] = "text/javascript; charset=utf-8"
				wantHeaders["Content-Length"] = fmt.Sprint(len(want))
			}
			for k, v := range wantHeaders {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("got %s %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestScriptHandlerRefusesOtherMethods(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		t.Run(method+" gets 405", func(t *testing.T) {
			rec := serveScript(t, identity.ScriptHandler(), method, nil)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("got status %d, want 405", rec.Code)
			}
			if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("got Allow %q, want %q", got, "GET, HEAD")
			}
		})
	}
}

func TestScriptHandlerETagIsStable(t *testing.T) {
	a := serveScript(t, identity.ScriptHandler(), http.MethodGet, nil).Header().Get("ETag")
	b := serveScript(t, identity.ScriptHandler(), http.MethodGet, nil).Header().Get("ETag")
	if a != b {
		t.Fatalf("got ETags %q and %q, want the same", a, b)
	}
}

// The helper must run under script-src 'self': no string evaluation and no
// DOM writes that a CSP would block.
func TestScriptUsesNoEval(t *testing.T) {
	src, err := os.ReadFile("webchatid.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"eval(", "new Function", "innerHTML", "document.write", "setTimeout('", `setTimeout("`} {
		if bytes.Contains(src, []byte(banned)) {
			t.Errorf("webchatid.js contains %q, want none (strict CSP)", banned)
		}
	}
}

// TestScriptBehaviour runs testdata/webchatid.test.js (fake fetch and web chat
// instance: shared in-flight request, retries with backoff, refusal handling,
// login and logout) with node's built-in test runner.
func TestScriptBehaviour(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testpeer.Missing(t, "install Node.js 20 or later (Debian: apt-get install nodejs) to run the webchatid.js unit tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", filepath.Join("testdata", "webchatid.test.js"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test reported failures:\n%s", out)
	}
}

func serveScript(t *testing.T, h http.Handler, method string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/webchatid.js", nil)
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func ExampleScriptHandler() {
	mux := http.NewServeMux()
	// identity's Server.Handler already serves the script at /webchatid.js;
	// mount it yourself only when you route the endpoints one by one.
	mux.Handle("GET /static/webchatid.js", identity.ScriptHandler())

	// The script finds the endpoints relative to its own URL: from
	// /static/webchatid.js it would call /static/createJWT. The endpoints are
	// at the root here, so the page's script tag says where they are:
	const tag = `<script src="/static/webchatid.js" data-base-path="/"></script>`

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/webchatid.js", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(tag)
	// Output:
	// 200 text/javascript; charset=utf-8
	// <script src="/static/webchatid.js" data-base-path="/"></script>
}
