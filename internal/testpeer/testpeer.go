// Package testpeer decides what a test does when a real peer it needs
// (Node.js with npm packages, Chromium, a PostgreSQL server) is missing.
//
// On a developer's machine the test skips and says how to enable it (run
// go test -v to read why a test skipped). In CI (the CI environment variable
// is true, 1 or yes, as .ci/run sets it) a missing peer is a failure, so a
// broken install step can never turn a tier of tests into skips.
package testpeer

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI, where every peer must be present:
// whether the CI environment variable is true, 1 or yes, in any case.
// Anything else, such as CI=false, CI=0 or no CI at all, is a developer's
// machine.
func InCI() bool { return isTrue(os.Getenv("CI")) }

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// Missing stops the test because a peer is absent: t.Skip with the message
// outside CI, t.Fatal inside it. The message should say how to install or
// point to the peer (for example "install Debian's chromium").
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required test peer missing in CI: %s", msg)
	}
	t.Skip(msg)
}
