package ledgertest_test

import (
	"testing"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgertest"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
)

// ExampleRun shows a store's conformance test. (Not run: it needs a
// *testing.T; put the function body in a TestXxx.)
func ExampleRun() {
	testLedgerConformance := func(t *testing.T) {
		ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
			return memstore.New() // a new, empty ledger per subtest
		})
	}
	_ = testLedgerConformance
}
