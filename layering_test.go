package webchatid_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/internal/testpeer"
)

// TestCorePackagesImportNoDatabaseDriver enforces the layering in DESIGN.md:
// cookie, claims and identity import no database driver (the ledger stores
// under identity/ do), so an app that uses no store links none; and cookie
// and claims never import each other or identity. (database/sql itself
// arrives through gofrs/uuid's Scanner support and is allowed.)
func TestCorePackagesImportNoDatabaseDriver(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testpeer.Missing(t, "the go command is not on PATH")
	}
	const mod = "github.com/webchatid/webchatid/"
	forbidden := map[string][]string{
		"cookie":   {"modernc.org/", "github.com/jackc/", mod + "claims", mod + "identity", "github.com/lestrrat-go/jwx", "gonum.org/"},
		"claims":   {"modernc.org/", "github.com/jackc/", mod + "cookie", mod + "identity", "gonum.org/"},
		"identity": {"modernc.org/", "github.com/jackc/", mod + "identity/", "github.com/chromedp/", "gonum.org/"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command(goTool, "list", "-deps", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b) {
					t.Errorf("package %s depends on %s; DESIGN.md forbids %s there", pkg, dep, b)
				}
			}
		}
	}
}
