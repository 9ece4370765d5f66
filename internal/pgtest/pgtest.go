// Package pgtest gives tests a PostgreSQL schema of their own on the
// server named by WEBCHATID_TEST_POSTGRES_DSN (.ci/postgres.sh starts one
// and prints the variable). For tests only.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/webchatid/webchatid/internal/testpeer"
)

// Env names the environment variable holding the test server's DSN.
const Env = "WEBCHATID_TEST_POSTGRES_DSN"

// DSN returns the test server's DSN, or skips t (fails it in CI, see
// testpeer.Missing) saying how to provide one.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		testpeer.Missing(t, "set %s=postgres://USER@127.0.0.1:PORT/DB?sslmode=disable (eval \"$(.ci/postgres.sh start)\"; .ci/run does it)", Env)
	}
	return dsn
}

// Schema creates a new, empty schema named prefix plus 12 random hex
// digits on the test server (skipping as [DSN] does), and returns a DSN
// whose search_path is that schema. The schema is dropped when t ends, and
// a failed drop fails t. The DSN is never echoed: it may hold a password.
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	base := DSN(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := prefix + hex.EncodeToString(randomBytes(t))
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns dsn (a postgres:// URL or libpq key=value pairs)
// with its search_path set to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s is not a valid URL", Env) // it may hold a password: not echoed
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func randomBytes(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
