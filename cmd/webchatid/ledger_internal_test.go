package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// seedLedger fills l with two users sharing one anonymous ID, and an ID
// linked to nobody.
func seedLedger(t *testing.T, l ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []struct {
		anon, user string
		at         time.Duration
	}{
		{"anon-a", "customer-1", 0},
		{"anon-b", "customer-1", time.Hour},
		{"anon-shared", "customer-1", 2 * time.Hour},
		{"anon-shared", "customer-2", 3 * time.Hour},
	} {
		if err := l.Link(ctx, k.anon, k.user, t0.Add(k.at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, "anon-unlinked", t0); err != nil {
		t.Fatal(err)
	}
}

// seedSQLite creates a seeded SQLite ledger and returns its DSN.
func seedSQLite(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seedLedger(t, s)
	return "sqlite:" + path
}

// transcript runs each command line (after "webchatid") with cmd and
// returns a transcript of them: the line, exit status, stdout and stderr,
// with each of the replace pairs applied (a temporary path, say).
func transcript(t *testing.T, cmd func(ctx context.Context, args []string, std stdio) int, lines [][]string, replace ...string) string {
	t.Helper()
	var b strings.Builder
	r := strings.NewReplacer(replace...)
	for _, args := range lines {
		var out, errb bytes.Buffer
		code := cmd(context.Background(), args[1:], stdio{in: strings.NewReader(""), out: &out, err: &errb})
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = a
			if a == "" || strings.ContainsAny(a, " '\"") {
				quoted[i] = fmt.Sprintf("%q", a)
			}
		}
		fmt.Fprintf(&b, "$ webchatid %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s\n", strings.Join(quoted, " "), code, out.String(), errb.String())
	}
	return r.Replace(b.String())
}

// TestLedgerOnSQLite runs each command on a fresh seeded SQLite ledger and
// compares the transcript with its golden file.
func TestLedgerOnSQLite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines [][]string // D is replaced by the DSN
	}{
		{"list", [][]string{{"ledger", "-ledger", "D", "list", "customer-1"}, {"ledger", "-ledger", "D", "list", "nobody"}}},
		{"export", [][]string{{"ledger", "-ledger", "D", "export"}}},
		// The shared ID is kept for customer-2.
		{"forget", [][]string{
			{"ledger", "-ledger", "D", "forget", "customer-1", "anon-b"},
			{"ledger", "-ledger", "D", "forget", "customer-1"},
			{"ledger", "-ledger", "D", "export"},
		}},
		// Only the ID linked to nobody goes; anon-a is linked.
		{"forget_unlinked", [][]string{
			{"ledger", "-ledger", "D", "forget", "", "anon-unlinked", "anon-a"},
			{"ledger", "-ledger", "D", "export"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := seedSQLite(t)
			for _, l := range tc.lines {
				for i := range l {
					if l[i] == "D" {
						l[i] = dsn
					}
				}
			}
			golden(t, "ledger/"+tc.name, transcript(t, runLedger, tc.lines, dsn, "sqlite:$TMP/ledger.db"))
		})
	}
}

func TestLedgerUsageAndFailures(t *testing.T) {
	dsn := seedSQLite(t)
	dir := t.TempDir()
	lines := [][]string{
		{"ledger", "export"},
		{"ledger", "-ledger", "mysql://u:s3cret@h/db", "export"},
		{"ledger", "-ledger", "postgres:/u:s3cret@h/db", "export"},
		{"ledger", "-ledger", "host=h password='s3cret x'", "export"},
		{"ledger", "-ledger", dsn},
		{"ledger", "-ledger", dsn, "drop"},
		{"ledger", "-ledger", dsn, "list"},
		{"ledger", "-ledger", dsn, "list", ""},
		{"ledger", "-ledger", dsn, "list", "customer-1", "customer-2"},
		{"ledger", "-ledger", dsn, "forget"},
		{"ledger", "-ledger", dsn, "forget", ""},
		{"ledger", "-ledger", dsn, "export", "x"},
		{"ledger", "-nope", "export"},
		{"ledger", "-ledger", dsn, "prune"},
		{"ledger", "-ledger", dsn, "prune", "-older-than", "45d", "-before", "2026-01-01T00:00:00Z"},
		{"ledger", "-ledger", dsn, "prune", "-older-than", "-3d"},
		{"ledger", "-ledger", dsn, "prune", "-before", "yesterday"},
		{"ledger", "-ledger", "sqlite:" + dir, "export"},
		{"ledger", "-ledger", "memory", "export"},
	}
	got := transcript(t, runLedger, lines, dsn, "sqlite:$TMP/ledger.db", dir, "$DIR")
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "$ ") && strings.Contains(line, "s3cret") {
			t.Errorf("output leaks a password: %s", line)
		}
	}
	golden(t, "ledger/usage_and_failures", got)
}

// -h and help COMMAND print ledger's and erase's usage on stdout, as for
// the other commands, so that "webchatid help ledger | less" shows it.
func TestLedgerAndEraseHelpOnStdout(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"ledger", "prune -older-than", []string{"ledger", "-h"}},
		{"ledger", "prune -older-than", []string{"help", "ledger"}},
		{"erase", "-apikey-env", []string{"erase", "-h"}},
		{"erase", "-apikey-env", []string{"help", "erase"}},
	} {
		r := runWith(t, "", tc.args...)
		if r.code != exitOK {
			t.Errorf("%v: exit %d, want 0", tc.args, r.code)
		}
		if !strings.Contains(r.out, "usage: webchatid "+tc.name) || !strings.Contains(r.out, tc.want) || !strings.Contains(r.out, "\nflags:\n") {
			t.Errorf("%v: stdout %q, want the usage and the flags", tc.args, r.out)
		}
		if r.errOut != "" {
			t.Errorf("%v: stderr %q, want nothing", tc.args, r.errOut)
		}
	}
}

// An operator answering a privacy request must not get "no anonymous IDs"
// from an empty ledger that a mistyped path just created.
func TestLedgerMissingSQLiteFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo", "ledgr.db")
	for _, args := range [][]string{{"list", "customer-1"}, {"forget", "customer-1"}, {"export"}, {"prune", "-older-than", "45d"}} {
		var out, errb bytes.Buffer
		code := runLedger(context.Background(), append([]string{"-ledger", "sqlite:" + path}, args...), stdio{out: &out, err: &errb})
		if code != exitFail || out.Len() != 0 || !strings.Contains(errb.String(), "no ledger") {
			t.Errorf("%s on a missing file: got %d, %q, %q; want 1, no rows, no ledger", args[0], code, out.String(), errb.String())
		}
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s): got %v, want it not created", filepath.Dir(path), err)
	}
}

// pruningLedger is a memstore ledger with a Prune that removes the IDs
// linked to nobody last seen before cutoff, the contract the stores follow,
// and records the cutoffs it was given.
type pruningLedger struct {
	*memstore.Store
	cutoffs []time.Time
	err     error
}

func (l *pruningLedger) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	l.cutoffs = append(l.cutoffs, cutoff)
	if l.err != nil {
		return 0, l.err
	}
	var old []string
	err := l.Export(ctx, func(e ledger.Entry) error {
		if e.CustomUserID == "" && e.LastSeen.Before(cutoff) {
			old = append(old, e.AnonymousID)
		}
		return nil
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	return len(old), l.Forget(ctx, "", old...)
}

// openAs returns an opener that hands out l for any DSN.
func openAs(l ledger.Ledger) openFunc {
	return func(context.Context, string) (ledger.Ledger, func() error, error) {
		return l, func() error { return nil }, nil
	}
}

func TestLedgerPrune(t *testing.T) {
	now := t0.Add(100 * 24 * time.Hour)
	newLedger := func(t *testing.T) *pruningLedger {
		l := &pruningLedger{Store: memstore.New()}
		seedLedger(t, l)
		// Seen recently, linked to nobody: kept.
		if err := l.Record(context.Background(), "anon-recent", now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		name       string
		args       []string
		wantCutoff time.Time
	}{
		{"older than 45 days", []string{"-older-than", "45d"}, now.Add(-45 * 24 * time.Hour)},
		{"older than a Go duration", []string{"-older-than", "36h"}, now.Add(-36 * time.Hour)},
		{"before a time", []string{"-before", "2026-06-01T00:00:00Z"}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t)
			cmd := ledgerCommand{open: openAs(l), now: func() time.Time { return now }}
			var out, errb bytes.Buffer
			code := cmd.run(context.Background(), append([]string{"-ledger", "memory", "prune"}, tc.args...), stdio{out: &out, err: &errb})
			if code != exitOK {
				t.Fatalf("exit %d, want 0; stderr: %s", code, errb.String())
			}
			if len(l.cutoffs) != 1 || !l.cutoffs[0].Equal(tc.wantCutoff) {
				t.Errorf("Prune cutoffs: got %v, want [%v]", l.cutoffs, tc.wantCutoff)
			}
			want := fmt.Sprintf("pruned 1 anonymous ID(s) linked to nobody and not seen since %s", tc.wantCutoff.Format(time.RFC3339))
			if !strings.Contains(errb.String(), want) {
				t.Errorf("stderr: got %q, want %q", errb.String(), want)
			}
			var rows []string
			l.Export(context.Background(), func(e ledger.Entry) error { rows = append(rows, e.AnonymousID+"/"+e.CustomUserID); return nil })
			if got := strings.Join(rows, " "); got != "anon-a/customer-1 anon-b/customer-1 anon-recent/ anon-shared/customer-1 anon-shared/customer-2" {
				t.Errorf("ledger after prune: %s; want anon-unlinked gone, linked and recent IDs kept", got)
			}
		})
	}

	t.Run("a store's failure is exit 1", func(t *testing.T) {
		l := newLedger(t)
		l.err = errors.New("disk on fire")
		var errb bytes.Buffer
		code := ledgerCommand{open: openAs(l), now: time.Now}.run(context.Background(), []string{"-ledger", "memory", "prune", "-older-than", "45d"}, stdio{out: new(bytes.Buffer), err: &errb})
		if code != exitFail || !strings.Contains(errb.String(), "disk on fire") {
			t.Errorf("got %d, %q; want 1 and the store's error", code, errb.String())
		}
	})

	t.Run("on SQLite", func(t *testing.T) {
		dsn := seedSQLite(t) // anon-unlinked last seen at t0, the others linked
		var out, errb bytes.Buffer
		code := runLedger(context.Background(), []string{"-ledger", dsn, "prune", "-before", t0.Add(time.Minute).Format(time.RFC3339)}, stdio{out: &out, err: &errb})
		if code != exitOK || !strings.Contains(errb.String(), "pruned 1 anonymous ID(s)") {
			t.Fatalf("prune: got %d, %q; want 0 and pruned 1", code, errb.String())
		}
		out.Reset()
		if code := runLedger(context.Background(), []string{"-ledger", dsn, "export"}, stdio{out: &out, err: &errb}); code != exitOK {
			t.Fatalf("export: exit %d, %s", code, errb.String())
		}
		if strings.Contains(out.String(), "anon-unlinked") || strings.Count(out.String(), "\n") != 4 {
			t.Errorf("after prune the ledger holds:\n%s\nwant the 4 linked rows, anon-unlinked gone", out.String())
		}
	})
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"45d", 45 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0d", 0, false},
		{"-1d", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"45", 0, false},
		{"0s", 0, false},
		{"99999999d", 0, false},
	} {
		got, err := parseAge(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAge(%q): got %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// webchatid ledger and webchatid erase are reachable through the command table.
func TestLedgerAndEraseAreCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"ledger", "-ledger", "memory", "export"}, nil, &out, &errb); code != exitOK {
		t.Errorf("webchatid ledger -ledger memory export: exit %d, stderr %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"erase", "-ledger", "memory", "-dry-run", "customer-1"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String(), "nothing to delete at IBM") {
		t.Errorf("webchatid erase -dry-run: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	run(context.Background(), []string{"help"}, nil, &out, &errb)
	if !strings.Contains(out.String(), "ledger ") || !strings.Contains(out.String(), "erase ") {
		t.Errorf("help: got %q, want ledger and erase listed", out.String())
	}
}
