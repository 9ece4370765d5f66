package ledgerdsn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/memstore"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres"
	"github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite"
)

// ErrUnknown is returned (wrapped) by [Open] for a DSN of no known form.
var ErrUnknown = errors.New("ledgerdsn: unknown ledger DSN: want memory, sqlite:PATH or postgres://…")

// Kind reports which store dsn names: "memory", "sqlite" or "postgres", or
// "" for none.
func Kind(dsn string) string {
	switch {
	case dsn == "memory":
		return "memory"
	case strings.HasPrefix(dsn, "sqlite:"):
		return "sqlite"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres"
	}
	return ""
}

// Open opens the ledger dsn names and returns it with a function that
// closes it. For sqlite:PATH the file's directory is created (mode 0700) if
// missing. Errors never include a password from the DSN.
func Open(ctx context.Context, dsn string) (ledger.Ledger, func() error, error) {
	switch Kind(dsn) {
	case "memory":
		return memstore.New(), func() error { return nil }, nil
	case "sqlite":
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, nil, errors.New("ledgerdsn: sqlite: empty path (want sqlite:PATH)")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, fmt.Errorf("ledgerdsn: %w", err)
			}
		}
		s, err := sqlite.OpenContext(ctx, path)
		if err != nil {
			return nil, nil, fmt.Errorf("ledgerdsn: %w", err)
		}
		return s, s.Close, nil
	case "postgres":
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("ledgerdsn: %w", err)
		}
		return s, s.Close, nil
	}
	return nil, nil, fmt.Errorf("%w (got %q)", ErrUnknown, Redact(dsn))
}

// Redact returns dsn fit for printing: the password of a URL (user:pass@,
// or a password or sslpassword query parameter) and of a password= key/value
// pair (quoted or not) is replaced by "xxxxx", as is everything before the
// last @ of anything else that has one (a mistyped URL).
func Redact(dsn string) string {
	switch {
	case Kind(dsn) == "memory" || Kind(dsn) == "sqlite":
		return dsn
	case isURL(dsn):
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable URL)"
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		redacted := false
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, "xxxxx")
				redacted = true
			}
		}
		if redacted {
			u.RawQuery = q.Encode()
		}
		return u.String()
	case strings.Contains(dsn, "="):
		return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
	case strings.Contains(dsn, "@"):
		scheme, _, _ := strings.Cut(dsn, ":")
		return scheme + ":xxxxx@" + dsn[strings.LastIndex(dsn, "@")+1:]
	}
	return dsn
}

// isURL reports whether dsn is in URL form: a scheme (RFC 3986: a letter,
// then letters, digits, +, - or .) and "://" at its start. A "://" further
// on, say inside a quoted key=value password, does not make it one.
func isURL(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok || scheme == "" {
		return false
	}
	for i, c := range scheme {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// kvPassword matches the value of a password key in libpq's key=value form:
// spaces around =, a 'quoted value' with \ escapes, or a bare one.
var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)*)`)

// Default returns the DSN of the default ledger of the program app: a
// SQLite file app/ledger.db in the user's state directory ($XDG_STATE_HOME,
// else ~/.local/state on Unix; the user config directory elsewhere), or in
// the temporary directory when there is no home. The file is not created;
// [Open] does that.
func Default(app string) string {
	return "sqlite:" + filepath.Join(stateDir(), app, "ledger.db")
}

func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" && filepath.Separator == '/' {
		return filepath.Join(home, ".local", "state")
	}
	if d, err := os.UserConfigDir(); err == nil {
		return d
	}
	return os.TempDir()
}
