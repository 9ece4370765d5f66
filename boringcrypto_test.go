//go:build boringcrypto

package webchatid_test

import (
	"crypto/boring"
	"testing"
)

// TestBoringCryptoInEffect guards CI's GOEXPERIMENT=boringcrypto run of the
// suite: BoringCrypto needs cgo, and a build without it falls back to Go's
// own crypto without a word, which would make that run a copy of the
// ordinary one. (This file builds only with the experiment.)
func TestBoringCryptoInEffect(t *testing.T) {
	if !boring.Enabled() {
		t.Fatal("built with GOEXPERIMENT=boringcrypto, but crypto/boring is not in effect: enable cgo (CGO_ENABLED=1 and a C compiler)")
	}
}
