package ledgerdsn_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
	"github.com/webchatid/webchatid/internal/pgtest"
	"github.com/webchatid/webchatid/internal/testpeer"
)

func TestKind(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"memory", "memory"},
		{"sqlite:/var/lib/app/ledger.db", "sqlite"},
		{"sqlite:ledger.db", "sqlite"},
		{"postgres://u@h/db", "postgres"},
		{"postgresql://u@h/db", "postgres"},
		{"mysql://u@h/db", ""},
		{"ledger.db", ""},
		{"", ""},
		{"Memory", ""},
	} {
		if got := ledgerdsn.Kind(tc.dsn); got != tc.want {
			t.Errorf("Kind(%q): got %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://app:s3cret@db:5432/ledger?sslmode=require", "postgres://app:xxxxx@db:5432/ledger?sslmode=require"},
		{"postgres://app@db/ledger?password=s3cret", "postgres://app@db/ledger?password=xxxxx"},
		{"postgresql://db/ledger", "postgresql://db/ledger"},
		{"host=db password=s3cret user=app", "host=db password=xxxxx user=app"},
		{"sqlite:/tmp/ledger.db", "sqlite:/tmp/ledger.db"},
		{"memory", "memory"},
		// Odd forms must not leak either.
		{"host=db password='s3cret pw' user=app", "host=db password=xxxxx user=app"},
		{`host=db password=s3cret\ pw user=app`, "host=db password=xxxxx user=app"},
		{"host=db password = s3cret user=app", "host=db password = xxxxx user=app"},
		{"postgres://app@db/ledger?sslmode=verify-full&sslpassword=s3cret", "postgres://app@db/ledger?sslmode=verify-full&sslpassword=xxxxx"},
		{"postgres:/app:s3cret@db/ledger", "postgres:xxxxx@db/ledger"}, // a typo for postgres://
		{"postgresql:app:s3:cret@db", "postgresql:xxxxx@db"},
	} {
		got := ledgerdsn.Redact(tc.dsn)
		if got != tc.want {
			t.Errorf("Redact(%q): got %q, want %q", tc.dsn, got, tc.want)
		}
		if strings.Contains(got, "s3") || strings.Contains(got, " pw") {
			t.Errorf("Redact(%q) leaks the password: %q", tc.dsn, got)
		}
	}
}

func TestOpenRefusesUnknownDSNs(t *testing.T) {
	for _, dsn := range []string{"", "ledger.db", "mysql://app:s3cret@db/x", "sqlite:"} {
		_, _, err := ledgerdsn.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("Open(%q): got nil error, want one", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error leaks the password: %v", dsn, err)
		}
	}
	if _, _, err := ledgerdsn.Open(context.Background(), "ledger.db"); !errors.Is(err, ledgerdsn.ErrUnknown) {
		t.Errorf("Open(ledger.db): got %v, want ErrUnknown", err)
	}
}

func TestOpenStores(t *testing.T) {
	dsns := map[string]string{
		"memory": "memory",
		"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "new", "dir", "ledger.db"),
	}
	if os.Getenv(pgtest.Env) != "" {
		dsns["postgres"] = pgtest.Schema(t, "webchatid_test_ledgerdsn_")
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			l, closeLedger, err := ledgerdsn.Open(context.Background(), dsn)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer func() {
				if err := closeLedger(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			user := "ledgerdsn-test-" + time.Now().Format(time.RFC3339Nano)
			if err := l.Link(context.Background(), "anon-ledgerdsn", user, time.Now()); err != nil {
				t.Fatalf("Link: %v", err)
			}
			defer l.Forget(context.Background(), user)
			if got, err := l.Lookup(context.Background(), user); err != nil || len(got) != 1 {
				t.Errorf("Lookup: got %v, %v; want one entry", got, err)
			}
		})
	}
	if _, ok := dsns["postgres"]; !ok {
		t.Run("postgres", func(t *testing.T) {
			testpeer.Missing(t, "set WEBCHATID_TEST_POSTGRES_DSN (see .ci/postgres.sh)")
		})
	}
}

func TestDefaultIsASQLiteFileInTheStateDirectory(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	if got, want := ledgerdsn.Default("webchat"), "sqlite:"+filepath.Join(state, "webchat", "ledger.db"); got != want {
		t.Errorf("Default: got %q, want %q", got, want)
	}
}

// FuzzRedact: whatever the password, Redact prints none of it, in a URL or
// in a quoted key=value pair.
func FuzzRedact(f *testing.F) {
	for _, p := range []string{"s3cret", `a'b\c d`, "p@ss:w/rd?#", "pass word=", "\n\t'''\\\\", ""} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pass string) {
		u := url.URL{Scheme: "postgres", User: url.UserPassword("app", pass), Host: "db:5432", Path: "/ledger"}
		quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pass)
		for dsn, want := range map[string]string{
			u.String(): "postgres://app:xxxxx@db:5432/ledger",
			"host=db password='" + quoted + "' user=app": "host=db password=xxxxx user=app",
		} {
			if got := ledgerdsn.Redact(dsn); got != want {
				t.Errorf("Redact(%q): got %q, want %q", dsn, got, want)
			}
		}
	})
}
