package logbuf_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/webchatid/webchatid/internal/logbuf"
)

func TestConcurrentWritesAreKeptWhole(t *testing.T) {
	var b logbuf.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				b.Logger().Info("line", "writer", i, "n", j)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, "msg=line") {
			t.Fatalf("torn line %q", l)
		}
	}
}

func ExampleBuffer() {
	var b logbuf.Buffer
	fmt.Fprint(&b, "hello")
	fmt.Println(b.String())
	// Output: hello
}
