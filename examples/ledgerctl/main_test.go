package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// seed creates a SQLite ledger with two users sharing one anonymous ID.
func seed(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, l := range []struct {
		anon, user string
		at         time.Duration
	}{
		{"anon-a", "customer-1", 0},
		{"anon-b", "customer-1", time.Hour},
		{"anon-shared", "customer-1", 2 * time.Hour},
		{"anon-shared", "customer-2", 3 * time.Hour},
	} {
		if err := s.Link(ctx, l.anon, l.user, t0.Add(l.at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Record(ctx, "anon-unlinked", t0); err != nil {
		t.Fatal(err)
	}
	return "sqlite:" + path
}

func ledgerctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// ids decodes JSON lines and returns "anon/user" per row.
func ids(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r row
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output is not JSON lines: %v\n%s", err, out)
		}
		if r.FirstSeen.IsZero() || r.LastSeen.Before(r.FirstSeen) {
			t.Errorf("row %+v: bad first/last seen", r)
		}
		got = append(got, r.AnonymousID+"/"+r.CustomUserID)
	}
	return got
}

func TestList(t *testing.T) {
	dsn := seed(t)
	code, out, _ := ledgerctl(t, "-ledger", dsn, "list", "customer-1")
	if code != 0 {
		t.Fatalf("exit status: got %d, want 0", code)
	}
	if got, want := strings.Join(ids(t, out), " "), "anon-a/customer-1 anon-b/customer-1 anon-shared/customer-1"; got != want {
		t.Errorf("list: got %s, want %s", got, want)
	}
	if !strings.Contains(out, `"first_seen":"2026-05-01T09:00:00Z"`) {
		t.Errorf("list: want RFC 3339 UTC times, got\n%s", out)
	}
	code, out, stderr := ledgerctl(t, "-ledger", dsn, "list", "nobody")
	if code != 0 || out != "" || !strings.Contains(stderr, "no anonymous IDs") {
		t.Errorf("list of an unknown user: got %d, %q, %q; want 0, no rows, a note on stderr", code, out, stderr)
	}
}

func TestExport(t *testing.T) {
	code, out, _ := ledgerctl(t, "-ledger", seed(t), "export")
	if code != 0 {
		t.Fatalf("exit status: got %d, want 0", code)
	}
	want := "anon-a/customer-1 anon-b/customer-1 anon-shared/customer-1 anon-shared/customer-2 anon-unlinked/"
	if got := strings.Join(ids(t, out), " "); got != want {
		t.Errorf("export: got %s, want %s", got, want)
	}
}

func TestForget(t *testing.T) {
	dsn := seed(t)
	code, out, stderr := ledgerctl(t, "-ledger", dsn, "forget", "customer-1", "anon-b")
	if code != 0 || strings.Join(ids(t, out), " ") != "anon-b/customer-1" || !strings.Contains(stderr, "forgot 1") {
		t.Errorf("forget one: got %d, %q, %q", code, out, stderr)
	}
	code, out, _ = ledgerctl(t, "-ledger", dsn, "forget", "customer-1")
	if got, want := strings.Join(ids(t, out), " "), "anon-a/customer-1 anon-shared/customer-1"; code != 0 || got != want {
		t.Errorf("forget all: got %d, %s; want 0, %s", code, got, want)
	}
	_, out, _ = ledgerctl(t, "-ledger", dsn, "export")
	if got, want := strings.Join(ids(t, out), " "), "anon-shared/customer-2 anon-unlinked/"; got != want {
		t.Errorf("export after forget: got %s, want %s (the shared ID kept for customer-2)", got, want)
	}
}

func TestForgetUnlinkedIDs(t *testing.T) {
	dsn := seed(t)
	code, out, stderr := ledgerctl(t, "-ledger", dsn, "forget", "", "anon-unlinked", "anon-a")
	if got, want := strings.Join(ids(t, out), " "), "anon-unlinked/"; code != 0 || got != want || !strings.Contains(stderr, "forgot 1 anonymous ID(s) linked to nobody") {
		t.Errorf("forget '' anon-unlinked anon-a: got %d, %s, %q; want 0, %s", code, got, stderr, want)
	}
	_, out, _ = ledgerctl(t, "-ledger", dsn, "export")
	if got, want := strings.Join(ids(t, out), " "), "anon-a/customer-1 anon-b/customer-1 anon-shared/customer-1 anon-shared/customer-2"; got != want {
		t.Errorf("export after forget: got %s, want %s (linked IDs kept)", got, want)
	}
}

func TestExitStatus(t *testing.T) {
	dsn := seed(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no -ledger", []string{"export"}, 2, "-ledger is required"},
		{"unknown DSN form", []string{"-ledger", "mysql://u:s3cret@h/db", "export"}, 2, "want memory, sqlite:PATH"},
		{"mistyped postgres URL", []string{"-ledger", "postgres:/u:s3cret@h/db", "export"}, 2, "want memory, sqlite:PATH"},
		{"key/value DSN", []string{"-ledger", "host=h password='s3cret x'", "export"}, 2, "want memory, sqlite:PATH"},
		{"no command", []string{"-ledger", dsn}, 2, "no command"},
		{"unknown command", []string{"-ledger", dsn, "drop"}, 2, `unknown command "drop"`},
		{"list without user", []string{"-ledger", dsn, "list"}, 2, "wrong number of arguments"},
		{"list of the empty user", []string{"-ledger", dsn, "list", ""}, 2, "empty CUSTOM_USER_ID"},
		{"forget of the empty user without IDs", []string{"-ledger", dsn, "forget", ""}, 2, "empty CUSTOM_USER_ID"},
		{"export with an argument", []string{"-ledger", dsn, "export", "x"}, 2, "wrong number of arguments"},
		{"unknown flag", []string{"-nope", "export"}, 2, "flag provided but not defined"},
		{"help", []string{"-h"}, 0, "usage: ledgerctl"},
		{"ledger that cannot be opened", []string{"-ledger", "sqlite:" + t.TempDir(), "export"}, 1, "ledgerctl: ledgerdsn: sqlite"},
		{"memory ledger is empty", []string{"-ledger", "memory", "export"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := ledgerctl(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit status: got %d, want %d (stderr: %s)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr, tc.stderr)
			}
			if strings.Contains(stderr, "s3cret") {
				t.Errorf("stderr leaks a password: %q", stderr)
			}
		})
	}
}

// An operator answering a privacy request must not get "no anonymous IDs"
// from an empty ledger that a mistyped path just created.
func TestMissingSQLiteFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo", "ledgr.db")
	for _, args := range [][]string{{"list", "customer-1"}, {"forget", "customer-1"}, {"export"}} {
		code, out, stderr := ledgerctl(t, append([]string{"-ledger", "sqlite:" + path}, args...)...)
		if code != 1 || out != "" || !strings.Contains(stderr, "no ledger") {
			t.Errorf("%s on a missing file: got %d, %q, %q; want 1, no rows, no ledger", args[0], code, out, stderr)
		}
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s): got %v, want it not created", filepath.Dir(path), err)
	}
}
