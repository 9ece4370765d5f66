package testpeer

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		value string
		set   bool
		want  bool
	}{
		{set: false, want: false},
		{value: "", set: true, want: false},
		{value: "true", set: true, want: true},
		{value: "TRUE", set: true, want: true},
		{value: "True", set: true, want: true},
		{value: "1", set: true, want: true},
		{value: "yes", set: true, want: true},
		{value: "YES", set: true, want: true},
		{value: " true\n", set: true, want: true},
		{value: "false", set: true, want: false},
		{value: "FALSE", set: true, want: false},
		{value: "0", set: true, want: false},
		{value: "no", set: true, want: false},
		{value: "off", set: true, want: false},
		{value: "2", set: true, want: false},
		{value: "truthy", set: true, want: false},
	} {
		name := fmt.Sprintf("CI=%q", tc.value)
		if !tc.set {
			name = "CI unset"
		}
		t.Run(name, func(t *testing.T) {
			t.Setenv("CI", tc.value) // restored after the test, even when unset below
			if !tc.set {
				if err := os.Unsetenv("CI"); err != nil {
					t.Fatal(err)
				}
			}
			if got := InCI(); got != tc.want {
				t.Errorf("InCI() = %v, want %v", got, tc.want)
			}
		})
	}
}

// recorder is a testing.TB whose Skip and Fatalf record their message and
// then stop the calling goroutine, as the real ones do, but without ending
// the test that checks Missing's choice.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// missing runs Missing on r in its own goroutine, which r's Skip or Fatalf ends.
func missing(r *recorder, format string, args ...any) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Missing(r, format, args...)
	}()
	<-done
}

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		ci        string
		wantSkip  string
		wantFatal string
	}{
		{ci: "", wantSkip: "install x (see y)"},
		{ci: "false", wantSkip: "install x (see y)"},
		{ci: "0", wantSkip: "install x (see y)"},
		{ci: "true", wantFatal: "required test peer missing in CI: install x (see y)"},
		{ci: "1", wantFatal: "required test peer missing in CI: install x (see y)"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			missing(r, "install %s (see %s)", "x", "y")
			if r.skipped != tc.wantSkip || r.fatal != tc.wantFatal {
				t.Errorf("Missing under CI=%q: skipped %q, failed %q; want skipped %q, failed %q",
					tc.ci, r.skipped, r.fatal, tc.wantSkip, tc.wantFatal)
			}
		})
	}
}
