package webchatid_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/internal/testpeer"
)

const mod = "github.com/webchatid/webchatid"

// deps returns the packages pkg depends on (go list -deps, tests excluded)
// and whether each is in the standard library.
func deps(t *testing.T, goTool, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	m := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, std, _ := strings.Cut(sc.Text(), " ")
		if path != pkg {
			m[path] = std == "true"
		}
	}
	return m
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		testpeer.Missing(t, "the go command is not on PATH")
	}
	return p
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

// TestLayering enforces the arrows in DESIGN.md: cookie and claims never
// import each other or identity; identity imports its contract packages
// (identity/keys, identity/ledger, identity/internal/...) but no store and no
// database driver, so an app that uses no store links none; nothing under
// identity/ledger or identity/revocation imports identity, jwx or net/http,
// and the ledger contract, the in-memory stores and the conformance suites
// use only the standard library. (database/sql itself arrives through
// gofrs/uuid's Scanner support and is allowed in cookie and identity.)
func TestLayering(t *testing.T) {
	goTool := goTool(t)
	drivers := []string{"modernc.org", "github.com/jackc", "github.com/chromedp", "gonum.org"} // and chart libraries
	forbidden := map[string][]string{
		"cookie":   append([]string{mod + "/claims", mod + "/identity", "github.com/lestrrat-go/jwx/v2"}, drivers...),
		"claims":   append([]string{mod + "/cookie", mod + "/identity"}, drivers...),
		"identity": append([]string{mod + "/identity/ledger/memstore", mod + "/identity/ledger/sqlstore", mod + "/identity/ledger/ledgerdsn", mod + "/identity/ledger/ledgertest"}, drivers...),
	}
	for pkg, bad := range forbidden {
		for dep := range deps(t, goTool, mod+"/"+pkg) {
			for _, b := range bad {
				if under(dep, b) {
					t.Errorf("package %s depends on %s; DESIGN.md forbids %s there", pkg, dep, b)
				}
			}
		}
	}

	// The stores' rooms: the ledger's, and the revocation stores' (whose
	// contract, identity.Revoker, takes plain types so they need not import
	// identity).
	for _, room := range []struct {
		dir string
		min int // packages expected, so that a typo cannot pass
	}{{"identity/ledger", 5}, {"identity/revocation", 2}} {
		out, err := exec.Command(goTool, "list", mod+"/"+room.dir+"/...").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		pkgs := strings.Fields(string(out))
		if len(pkgs) < room.min {
			t.Fatalf("go list %s/%s/...: got %d packages, want the contract and its stores", mod, room.dir, len(pkgs))
		}
		for _, pkg := range pkgs {
			for dep := range deps(t, goTool, pkg) {
				for _, b := range []string{mod + "/identity", "github.com/lestrrat-go/jwx/v2", "net/http", "github.com/chromedp"} {
					if dep == b || b != mod+"/identity" && under(dep, b) {
						t.Errorf("package %s depends on %s; nothing under %s may", pkg, dep, room.dir)
					}
				}
			}
		}
	}

	// Standard library only, apart from the module's own stdlib-only packages.
	stdlibOnly := []string{"identity/ledger", "identity/ledger/internal/anonkey", "identity/ledger/memstore", "identity/ledger/ledgertest", "identity/revocation/memrevoke", "identity/revocation/revocationtest", "identity/keys", "internal/headersafe", "internal/leakcheck", "internal/uuidtext"}
	allowed := map[string]bool{}
	for _, p := range stdlibOnly {
		allowed[mod+"/"+p] = true
	}
	for _, p := range stdlibOnly {
		for dep, std := range deps(t, goTool, mod+"/"+p) {
			if !std && !allowed[dep] {
				t.Errorf("package %s depends on %s; it must use only the standard library", p, dep)
			}
		}
	}
}
