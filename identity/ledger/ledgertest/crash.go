package ledgertest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

// crashEnv marks the re-executed test binary as the crash child.
const crashEnv = "WEBCHATID_LEDGERTEST_CRASH_CHILD"

// Crash settings: the parent kills the child once it has read killAfter
// acknowledgements; childTimeout only guards against a child that hangs.
const (
	killAfter    = 400
	crashWriters = 4
	childTimeout = 2 * time.Minute
)

// IsCrashChild reports whether this test binary was started by [Crash] as
// its child. The child test should skip when it is not.
func IsCrashChild() bool { return os.Getenv(crashEnv) == "1" }

// CrashChild is the body of the child test named in [Crash]: it links new
// anonymous IDs to users from several goroutines, forever, and prints
// "ack ANON USER" on stdout after each Link that returned nil. Call it only
// when [IsCrashChild] is true; it never returns (the parent kills the
// process).
func CrashChild(l ledger.Ledger) {
	var mu sync.Mutex
	for w := range crashWriters {
		go func() {
			for i := 0; ; i++ {
				anon := fmt.Sprintf("anon-crash-%d-%06d", w, i)
				user := fmt.Sprintf("user-crash-%d", i%10)
				if err := l.Link(context.Background(), anon, user, time.Now()); err != nil {
					fmt.Fprintf(os.Stderr, "link: %v\n", err)
					continue
				}
				mu.Lock()
				// One write of less than PIPE_BUF bytes: never torn.
				os.Stdout.WriteString("ack " + anon + " " + user + "\n")
				mu.Unlock()
			}
		}()
	}
	select {}
}

// Crash re-executes the test binary running only the test named child (which
// must call [CrashChild] when [IsCrashChild]), with env added to its
// environment. It reads the child's acknowledgements, kills it with SIGKILL
// in the middle of the load, then opens the store again with reopen and
// fails t unless every acknowledged link is there and the store still
// accepts writes.
func Crash(t *testing.T, child string, env []string, reopen func(t *testing.T) ledger.Ledger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), crashEnv+"=1"), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}

	acked := make(map[string][]string) // user → anonymous IDs
	n := 0
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue // the test framework's own output
		}
		acked[f[2]] = append(acked[f[2]], f[1])
		n++
		if n == killAfter {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
		// Keep reading: lines written before the kill are acknowledged too.
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acknowledgements, before being killed (%v); its stderr:\n%s", n, werr, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("child timed out after %d acknowledgements", n)
	}
	if cmd.ProcessState.ExitCode() != -1 { // -1: ended by a signal, the kill
		t.Fatalf("child exited by itself (%v) after %d acknowledgements, not killed in the middle of the load; its stderr:\n%s", werr, n, stderr.String())
	}
	t.Logf("child killed (%v) after %d acknowledged links", werr, n)

	l := reopen(t)
	missing := 0
	for user, ids := range acked {
		got, err := l.Lookup(context.Background(), user)
		if err != nil {
			t.Fatalf("Lookup(%s) after crash: %v", user, err)
		}
		have := make(map[string]bool, len(got))
		for _, e := range got {
			have[e.AnonymousID] = true
		}
		for _, id := range ids {
			if !have[id] {
				missing++
				if missing <= 5 {
					t.Errorf("acknowledged link %s → %s lost in the crash", id, user)
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("got %d of %d acknowledged links lost, want none", missing, n)
	}
	if err := l.Link(context.Background(), "anon-after-crash", "user-after-crash", time.Now()); err != nil {
		t.Errorf("Link after crash: %v", err)
	}
	if got, err := l.Lookup(context.Background(), "user-after-crash"); err != nil || len(got) != 1 {
		t.Errorf("Lookup after crash: got %v, %v; want one entry", got, err)
	}
}
