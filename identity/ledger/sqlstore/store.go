package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

var _ ledger.Ledger = (*Store)(nil)

// errEmptyID is returned by Record and Link for an empty ID.
var errEmptyID = errors.New("sqlstore: empty ID")

const (
	recordSQL = `INSERT INTO webchatid_anonymous_ids AS a (anonymous_id, first_seen, last_seen) VALUES (?, ?, ?)
ON CONFLICT (anonymous_id) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < a.first_seen THEN excluded.first_seen ELSE a.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > a.last_seen THEN excluded.last_seen ELSE a.last_seen END
WHERE excluded.first_seen < a.first_seen OR excluded.last_seen > a.last_seen`

	linkSQL = `INSERT INTO webchatid_links AS l (anonymous_id, custom_user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
ON CONFLICT (custom_user_id, anonymous_id) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < l.first_seen THEN excluded.first_seen ELSE l.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > l.last_seen THEN excluded.last_seen ELSE l.last_seen END
WHERE excluded.first_seen < l.first_seen OR excluded.last_seen > l.last_seen`

	lookupSQL = `SELECT anonymous_id, first_seen, last_seen FROM webchatid_links
WHERE custom_user_id = ? ORDER BY first_seen, anonymous_id`

	// userIDsSQL locks (PostgreSQL: FOR UPDATE) the anonymous IDs of a user
	// before Forget touches the links, in the same order Link takes its
	// locks (ID row, then link row), so the two cannot deadlock.
	userIDsSQL = `SELECT anonymous_id FROM webchatid_anonymous_ids
WHERE anonymous_id IN (SELECT anonymous_id FROM webchatid_links WHERE custom_user_id = ?)
ORDER BY anonymous_id`

	// idSQL locks (PostgreSQL: FOR UPDATE) one anonymous ID before
	// Forget("", id) drops it if unlinked, so that a concurrent Link cannot
	// slip a link in between (the cascade would delete it).
	idSQL = `SELECT anonymous_id FROM webchatid_anonymous_ids WHERE anonymous_id = ?`

	unlinkSQL = `DELETE FROM webchatid_links WHERE custom_user_id = ? AND anonymous_id = ?`

	dropOrphanSQL = `DELETE FROM webchatid_anonymous_ids WHERE anonymous_id = ?
AND NOT EXISTS (SELECT 1 FROM webchatid_links WHERE webchatid_links.anonymous_id = ?)`

	exportSQL = `SELECT anonymous_id, custom_user_id, first_seen, last_seen FROM (
	SELECT anonymous_id, custom_user_id, first_seen, last_seen FROM webchatid_links
	UNION ALL
	SELECT a.anonymous_id, '', a.first_seen, a.last_seen FROM webchatid_anonymous_ids a
	WHERE NOT EXISTS (SELECT 1 FROM webchatid_links l WHERE l.anonymous_id = a.anonymous_id)
) AS r ORDER BY anonymous_id, custom_user_id`
)

// Store is a [ledger.Ledger] kept in a SQL database through
// [database/sql]. It is safe for concurrent use, also by several processes
// sharing one database.
//
// Record and Link are group-committed: concurrent calls share one
// transaction (see [Options]), and each returns only after the transaction
// holding its row has committed. On SQLite all of the Store's writes go
// through one connection, so they never wait for each other's write lock.
//
// The schema is four tables, webchatid_anonymous_ids, webchatid_links,
// webchatid_revoked_sessions and webchatid_schema_version, in the
// database's default schema (for PostgreSQL, the first schema of the
// connection's search_path).
type Store struct {
	db      *sql.DB
	dialect Dialect
	opts    Options

	lookup           *sql.Stmt
	sqlite           sqliteStmts // SQLite's batch upserts (writer.go)
	userIDs, id      string
	unlink, dropOrph string
	// Revocations (revocations.go), rebound once here, not per call.
	revoke, isRevoked, pruneRevoked string

	// The group-commit writers (writer.go).
	queue   chan *op
	writers sync.WaitGroup
	closeMu sync.RWMutex // guards closed, sending on queue and adding to direct
	closed  bool
	// direct counts the calls admitted (see admit: every read and every
	// write but Record and Link) and not yet finished; Close waits for
	// them.
	direct sync.WaitGroup
	stats  storeStats
	// testHookBatch, if set (by tests, before the first write), is called
	// by a writer with each batch's size before committing it.
	testHookBatch func(n int)
	// testHookGather, if set (by tests, before the first write), is
	// called by a writer when it starts waiting out Options.CommitSpacing.
	testHookGather func()
	// testHookAdmitted and testHookCloseWaits, if set (by tests), are
	// called by every call admit lets in, and by Close just before it
	// waits for the calls it admitted.
	testHookAdmitted, testHookCloseWaits func()

	// SQLite's one writer connection, opened at the first write.
	writeMu sync.Mutex
	wconn   *sql.Conn
}

// New returns a Store on db, creating or upgrading its schema first; it is
// [NewContext] with [context.Background]. db must have been opened with a
// driver for dialect d; package sqlstore imports no driver.
func New(db *sql.DB, d Dialect) (*Store, error) {
	return NewContext(context.Background(), db, d)
}

// NewContext is [NewWithOptions] with the default [Options].
func NewContext(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	return NewWithOptions(ctx, db, d, Options{})
}

// NewWithOptions returns a Store on db, creating or upgrading its schema
// first, with its writers tuned by opts.
//
// Migration is idempotent and safe when several processes start together:
// it runs in one transaction holding the database's write lock (SQLite:
// BEGIN IMMEDIATE; PostgreSQL: an advisory lock), and records the version
// reached in webchatid_schema_version. A database migrated by a newer
// version of this package is refused with [ErrSchemaTooNew].
//
// For SQLite, open db with a busy timeout, foreign keys on and immediate
// transactions, as package sqlite does, and allow it at least two
// connections (the writer keeps one). For PostgreSQL, size db's pool to at
// least opts.Writers plus the reads you expect, and set its idle limit to
// the same number, so that connections are reused rather than re-opened
// (package postgres does).
func NewWithOptions(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !d.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	if err := opts.fill(d); err != nil {
		return nil, err
	}
	if d == SQLite && db.Stats().MaxOpenConnections == 1 {
		return nil, errors.New("sqlstore: SQLite: db allows one open connection, which the Store's writer keeps; allow at least 2 (db.SetMaxOpenConns), so that reads have one")
	}
	if err := migrate(ctx, db, d); err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: d, opts: opts}
	userIDs, id := userIDsSQL, idSQL
	if d == Postgres {
		userIDs += " FOR UPDATE"
		id += " FOR UPDATE"
	}
	s.userIDs, s.id = d.rebind(userIDs), d.rebind(id)
	s.unlink = d.rebind(unlinkSQL)
	s.dropOrph = d.rebind(dropOrphanSQL)
	s.revoke, s.isRevoked, s.pruneRevoked = d.rebind(revokeSQL), d.rebind(revokedSQL), d.rebind(pruneRevokedSQL)
	st, err := db.PrepareContext(ctx, d.rebind(lookupSQL))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: prepare: %w", err)
	}
	s.lookup = st
	if d == SQLite {
		if err := s.prepareSQLite(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	s.startWriters()
	return s, nil
}

// DB returns the database handle the Store uses.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the Store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close stops accepting reads and writes (they then fail with
// [ErrClosed]; Stats, DB and Dialect still work), waits for the writers to
// commit every row already handed to them and for the other calls already
// under way (Forget, Prune, Revoke, the session writes, and the reads:
// an Export until its fn returns) to finish, and closes
// the Store's statements, its writer connection and its database handle.
// A Store made by [New] shares that handle with its caller: call Close only
// when nothing else uses it. Close is safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.closeMu.Unlock()
	if h := s.testHookCloseWaits; h != nil {
		h()
	}
	s.writers.Wait()
	s.direct.Wait()
	s.writeMu.Lock()
	if s.wconn != nil {
		s.wconn.Close()
		s.wconn = nil
	}
	s.writeMu.Unlock()
	s.lookup.Close()
	s.closeSQLiteStmts()
	return s.db.Close()
}

// Record implements [ledger.Ledger]: the ID's upsert, group-committed with
// the other writes waiting.
func (s *Store) Record(ctx context.Context, anonID string, at time.Time) error {
	if anonID == "" {
		return errEmptyID
	}
	return s.enqueue(ctx, anonID, "", at)
}

// Link implements [ledger.Ledger]: the ID's upsert and the link's upsert
// in one transaction, group-committed with the other writes waiting.
func (s *Store) Link(ctx context.Context, anonID, customUserID string, at time.Time) error {
	if anonID == "" || customUserID == "" {
		return errEmptyID
	}
	return s.enqueue(ctx, anonID, customUserID, at)
}

// Lookup implements [ledger.Ledger].
func (s *Store) Lookup(ctx context.Context, customUserID string) ([]ledger.Entry, error) {
	if err := s.admit(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: lookup: %w", err)
	}
	defer s.direct.Done()
	rows, err := s.lookup.QueryContext(ctx, customUserID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lookup: %w", err)
	}
	defer rows.Close()
	out := []ledger.Entry{}
	for rows.Next() {
		var id string
		var first, last dbTime
		if err := rows.Scan(&id, &first, &last); err != nil {
			return nil, fmt.Errorf("sqlstore: lookup: %w", err)
		}
		out = append(out, ledger.Entry{AnonymousID: id, CustomUserID: customUserID, FirstSeen: first.t, LastSeen: last.t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: lookup: %w", err)
	}
	return out, nil
}

// Forget implements [ledger.Ledger] in one transaction.
func (s *Store) Forget(ctx context.Context, customUserID string, anonIDs ...string) error {
	if err := s.admit(ctx); err != nil {
		return err
	}
	defer s.direct.Done()
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return s.forget(ctx, tx, customUserID, anonIDs) })
	if err != nil {
		return fmt.Errorf("sqlstore: forget: %w", err)
	}
	return nil
}

func (s *Store) forget(ctx context.Context, tx *sql.Tx, customUserID string, anonIDs []string) (err error) {
	var ids []string
	if customUserID == "" {
		// IDs linked to nobody (the unlink below finds no link); locked
		// in order, as userIDs locks them.
		ids = slices.Compact(slices.Sorted(slices.Values(anonIDs)))
		for _, id := range ids {
			if _, err := queryStrings(ctx, tx, s.id, id); err != nil {
				return err
			}
		}
	} else {
		ids, err = queryStrings(ctx, tx, s.userIDs, customUserID)
		if err != nil {
			return err
		}
		if len(anonIDs) > 0 {
			ids = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(anonIDs, id) })
		}
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, s.unlink, customUserID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.dropOrph, id, id); err != nil {
			return err
		}
	}
	return nil
}

// Export implements [ledger.Ledger]. It streams rows from one query, so fn
// runs while a read is open; fn may still use the Store, but not Close it
// (Close waits for the Export).
func (s *Store) Export(ctx context.Context, fn func(ledger.Entry) error) error {
	if err := s.admit(ctx); err != nil {
		return fmt.Errorf("sqlstore: export: %w", err)
	}
	defer s.direct.Done()
	rows, err := s.db.QueryContext(ctx, exportSQL) // no placeholders to rebind
	if err != nil {
		return fmt.Errorf("sqlstore: export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ledger.Entry
		var first, last dbTime
		if err := rows.Scan(&e.AnonymousID, &e.CustomUserID, &first, &last); err != nil {
			return fmt.Errorf("sqlstore: export: %w", err)
		}
		e.FirstSeen, e.LastSeen = first.t, last.t
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: export: %w", err)
	}
	return nil
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
