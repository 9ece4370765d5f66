package postgres

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// DriverName is the database/sql driver name registered by pgx's stdlib package.
const DriverName = "pgx"

// DefaultMaxConns is the connection pool size [Open] uses.
const DefaultMaxConns = 10

// Options tune [OpenOptions]. The zero value gives the defaults.
type Options struct {
	// MaxConns bounds the pool of connections to PostgreSQL (each one a
	// server process). All of them are kept open when idle, so a burst of
	// requests never waits for new connections to be forked and their
	// statements prepared again (database/sql keeps only 2 idle ones
	// unless told otherwise). Store.Writers of them commit the
	// group-committed writes; the others serve reads, Forget and
	// revocation checks. It must exceed Store.Writers. If zero,
	// [DefaultMaxConns] (10) is used.
	MaxConns int

	// Store tunes the Store's group commit. If Store.Writers is zero,
	// [sqlstore.DefaultPostgresWriters] (1) is used.
	Store sqlstore.Options
}

// Open connects to the PostgreSQL database named by dsn (a URL such as
// postgres://user:pass@host:5432/db?sslmode=disable, or key=value pairs as
// libpq takes them), checks the connection, and returns a [sqlstore.Store]
// on it with its schema created or migrated. The Store owns the connection
// pool: call its Close method when done. Errors never include the password.
//
// Writes are group-committed (see [sqlstore.Store]): concurrent Record and
// Link calls are upserted together, one multi-row statement per table, by
// one writer; the pool holds 10 connections, all kept open. [OpenOptions]
// changes both.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is [Open] with [Options].
func OpenOptions(ctx context.Context, dsn string, opts Options) (*sqlstore.Store, error) {
	writers := opts.Store.Writers
	if writers == 0 {
		writers = sqlstore.DefaultPostgresWriters
	}
	switch {
	case opts.MaxConns < 0:
		return nil, fmt.Errorf("postgres: Options.MaxConns: %d is negative", opts.MaxConns)
	case opts.MaxConns == 0:
		opts.MaxConns = max(DefaultMaxConns, writers+1)
	case opts.MaxConns <= writers:
		return nil, fmt.Errorf("postgres: Options.MaxConns: %d leaves no connection for reads beside %d writers", opts.MaxConns, writers)
	}
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := sqlstore.NewWithOptions(ctx, db, sqlstore.Postgres, opts.Store)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}
