package memrevoke_test

import (
	"testing"

	"github.com/webchatid/webchatid/identity/revocation/memrevoke"
	"github.com/webchatid/webchatid/identity/revocation/revocationtest"
)

func TestConformance(t *testing.T) {
	revocationtest.Run(t, func(*testing.T) revocationtest.Store { return memrevoke.New() })
}
