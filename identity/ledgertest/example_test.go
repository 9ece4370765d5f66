package ledgertest_test

import (
	"testing"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/ledgertest"
	"github.com/webchatid/webchatid/identity/memstore"
)

// ExampleRun shows a store's conformance test. (Not run: it needs a
// *testing.T; put the function body in a TestXxx.)
func ExampleRun() {
	testLedgerConformance := func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T) identity.Ledger {
			return memstore.New() // a new, empty ledger per subtest
		})
	}
	_ = testLedgerConformance
}
