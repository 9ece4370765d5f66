package main

import (
	"bytes"
	"strings"
	"testing"
)

// A short soak, bounded by request count: every answer as expected, and
// goroutines and heap back at the baseline. CI runs it with -race.
func TestSoakReturnsToBaseline(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-n", "1500", "-c", "16", "-d", "5m"}, &out, &errOut); code != 0 {
		t.Fatalf("soak exited %d:\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "soak: ok") {
		t.Errorf("got %q, want soak: ok", out.String())
	}
}

func TestSoakRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-d", "0s"}, {"-d", "2h"}, {"-c", "0"}, {"-n", "-1"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%q: exited %d, want 2", args, code)
		}
	}
}
