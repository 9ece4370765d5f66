package revocationtest_test

import (
	"testing"

	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/identity/revocation/revocationtest"
)

// ExampleRun shows a revocation store's conformance test. (Not run: it
// needs a *testing.T; put the function body in a TestXxx.)
func ExampleRun() {
	testRevocationConformance := func(t *testing.T) {
		revocationtest.Run(t, func(t *testing.T) revocationtest.Store {
			return memrevoke.New() // a new, empty store per subtest
		})
	}
	_ = testRevocationConformance
}
