// Package testpeer decides what a test does when a real peer it needs
// (Node.js with npm packages, Chromium, a PostgreSQL server) is missing.
//
// On a developer's machine the test skips and says how to enable it. In CI
// (the CI environment variable is set, as .ci/run runs) a missing peer is a
// failure, so a broken install step can never turn a tier of tests into skips.
package testpeer

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where every peer must be present.
func InCI() bool { return os.Getenv("CI") != "" }

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
