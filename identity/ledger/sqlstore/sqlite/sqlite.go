package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	msqlite "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/webchatid/webchatid/identity/ledger/sqlstore"
)

// DriverName is the database/sql driver name registered by modernc.org/sqlite.
const DriverName = "sqlite"

// params are the per-connection settings [Open] applies: wait up to 10 s for
// the write lock instead of failing with "database is locked", enforce
// foreign keys, WAL journal (readers never block the writer), synchronous
// NORMAL (see the package documentation), and BEGIN IMMEDIATE for
// transactions so a transaction never has to upgrade a read lock.
const params = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// DSN returns the modernc.org/sqlite data source name [Open] uses for path,
// for callers who open the *sql.DB themselves and pass it to
// [sqlstore.New]. Unlike Open, sqlstore.New does not retry the SQLITE_BUSY
// that a new file's switch to WAL can meet when processes start together.
func DSN(path string) (string, error) {
	switch {
	case path == "":
		return "", errors.New("sqlite: empty path")
	case path == ":memory:" || strings.HasPrefix(path, "file::memory:"):
		return "", errors.New("sqlite: in-memory databases are not supported; use package memstore")
	case strings.ContainsAny(path, "?#"):
		return "", fmt.Errorf("sqlite: path %q: must not contain ? or #", path)
	}
	return path + "?" + params, nil
}

// DefaultReaders is the number of read connections [Open] allows beside
// the one writer connection.
const DefaultReaders = 4

// Options tune [OpenOptions]. The zero value gives the defaults.
type Options struct {
	// Readers is the number of connections for reads (Lookup, Export,
	// Revoked) beside the Store's one writer connection: the pool holds
	// at most Readers+1 connections and keeps them all open when idle. If
	// zero, [DefaultReaders] (4) is used.
	Readers int

	// Store tunes the Store's group commit (Writers must stay 0 or 1 for
	// SQLite).
	Store sqlstore.Options
}

// Open opens (creating if needed) the SQLite database file at path and
// returns a [sqlstore.Store] on it with its schema created or migrated. A new
// file gets mode 0600, owner only: the ledger is personal data. The Store
// owns the database: call its Close method when done.
//
// All writes go through one connection and are group-committed (see
// [sqlstore.Store]): SQLite has one write lock per file, and one writer
// that commits many rows per transaction is faster than many connections
// taking turns for the lock.
func Open(path string) (*sqlstore.Store, error) {
	return OpenOptions(context.Background(), path, Options{})
}

// OpenContext is [Open] with a context for the schema migration.
func OpenContext(ctx context.Context, path string) (*sqlstore.Store, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenOptions is [OpenContext] with [Options].
func OpenOptions(ctx context.Context, path string, opts Options) (*sqlstore.Store, error) {
	switch {
	case opts.Readers < 0:
		return nil, fmt.Errorf("sqlite: Options.Readers: %d is negative", opts.Readers)
	case opts.Readers == 0:
		opts.Readers = DefaultReaders
	}
	dsn, err := DSN(path)
	if err != nil {
		return nil, err
	}
	// The ledger says who was linked to whom: a new file is the owner's
	// only (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(opts.Readers + 1)
	db.SetMaxIdleConns(opts.Readers + 1)
	// Switching a new file to WAL takes an exclusive lock, and SQLite
	// answers a second process doing the same at the same moment with
	// SQLITE_BUSY at once, without waiting (to avoid a deadlock). So when
	// processes start together, retry for a while.
	for attempt := 1; ; attempt++ {
		s, err := sqlstore.NewWithOptions(ctx, db, sqlstore.SQLite, opts.Store)
		if err == nil {
			return s, nil
		}
		if !isBusy(err) || attempt == openAttempts || ctx.Err() != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		t := time.NewTimer(time.Duration(attempt) * 10 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// openAttempts bounds OpenContext's retries on SQLITE_BUSY (about 8 s in all).
const openAttempts = 40

// isBusy reports whether err is SQLite's SQLITE_BUSY (or an extended code of it).
func isBusy(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}
