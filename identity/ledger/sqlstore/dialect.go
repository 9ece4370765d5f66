package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect names the SQL flavour of a database. The zero value is not a
// dialect; [New] refuses it.
type Dialect int

const (
	// SQLite is SQLite 3.35 or newer (for example modernc.org/sqlite, as
	// package [github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite]
	// opens it). Times are stored as fixed-width RFC 3339 text in UTC
	// ("2006-01-02T15:04:05.000000Z"), which sorts in time order.
	SQLite Dialect = iota + 1

	// Postgres is PostgreSQL 10 or newer (for example through
	// github.com/jackc/pgx/v5/stdlib, as package
	// [github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres] opens it).
	// Times are stored as timestamptz; IDs as text with the "C" collation,
	// so rows sort by byte order as in SQLite.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d == SQLite || d == Postgres }

// timeFormat is the SQLite encoding of a time: fixed width, so that text
// comparison is time comparison.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// timeArg converts t to the value bound to a time column.
func (d Dialect) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d == SQLite {
		return t.Format(timeFormat)
	}
	return t
}

// rebind rewrites the ? placeholders of q into the dialect's style. The
// queries of this package contain no ? other than placeholders.
func (d Dialect) rebind(q string) string {
	if d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ddl fills the dialect's column types into a schema statement: {id} for an
// ID column, {time} for a time column, {blob} for opaque bytes.
func (d Dialect) ddl(q string) string {
	id, tm, blob := "TEXT", "TEXT", "BLOB"
	if d == Postgres {
		id, tm, blob = `TEXT COLLATE "C"`, "TIMESTAMPTZ", "BYTEA"
	}
	return strings.NewReplacer("{id}", id, "{time}", tm, "{blob}", blob).Replace(q)
}

// dbTime scans a time column of either dialect.
type dbTime struct{ t time.Time }

func (v *dbTime) Scan(src any) error {
	switch x := src.(type) {
	case time.Time:
		v.t = x.UTC()
		return nil
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	}
	return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
}

func (v *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlstore: bad time in database: %w", err)
	}
	v.t = t.UTC()
	return nil
}
