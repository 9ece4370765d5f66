package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// migrations[i] brings the schema from version i to version i+1. Append new
// steps; never edit one that has shipped.
var migrations = [][]string{
	{ // 1: the ledger
		`CREATE TABLE webchatid_anonymous_ids (
			anonymous_id {id} PRIMARY KEY,
			first_seen {time} NOT NULL,
			last_seen {time} NOT NULL
		)`,
		`CREATE TABLE webchatid_links (
			anonymous_id {id} NOT NULL REFERENCES webchatid_anonymous_ids (anonymous_id) ON DELETE CASCADE,
			custom_user_id {id} NOT NULL,
			first_seen {time} NOT NULL,
			last_seen {time} NOT NULL,
			PRIMARY KEY (custom_user_id, anonymous_id)
		)`,
		`CREATE INDEX webchatid_links_anonymous_id ON webchatid_links (anonymous_id)`,
	},
	{ // 2: revoked sessions (revocations.go)
		`CREATE TABLE webchatid_revoked_sessions (
			session_id {id} PRIMARY KEY,
			revoked_until {time} NOT NULL
		)`,
		`CREATE INDEX webchatid_revoked_sessions_until ON webchatid_revoked_sessions (revoked_until)`,
	},
	{ // 3: retention (Store.Prune finds old IDs by last_seen)
		`CREATE INDEX webchatid_anonymous_ids_last_seen ON webchatid_anonymous_ids (last_seen)`,
	},
	{ // 4: server-side sessions (sessions.go)
		`CREATE TABLE webchatid_sessions (
			session_id {id} PRIMARY KEY,
			data {blob} NOT NULL,
			expires {time} NOT NULL
		)`,
		`CREATE INDEX webchatid_sessions_expires ON webchatid_sessions (expires)`,
	},
}

// SchemaVersion is the schema version this package creates and expects.
const SchemaVersion = 4

// ErrSchemaTooNew is returned by [New] when the database was migrated by a
// newer version of this package.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this package")

// advisoryLockKey serialises migrations across PostgreSQL sessions
// ("webchati" in ASCII).
const advisoryLockKey int64 = 0x7765626368617469

// migrate creates or upgrades the schema in one transaction that holds the
// database's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
// transaction-scoped advisory lock), so processes starting together migrate
// one after the other and the later ones find nothing to do.
func migrate(ctx context.Context, db *sql.DB, d Dialect) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	defer conn.Close()

	begin := []string{"BEGIN IMMEDIATE"}
	if d == Postgres {
		begin = []string{"BEGIN", fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", advisoryLockKey)}
	}
	for i, q := range begin {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			if i > 0 {
				rollback(conn)
			}
			return fmt.Errorf("sqlstore: migrate: begin: %w", err)
		}
	}
	defer func() {
		if err != nil {
			rollback(conn)
		}
	}()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS webchatid_schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	var version int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM webchatid_schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("sqlstore: migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%w: database has version %d, package knows %d", ErrSchemaTooNew, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		for _, q := range migrations[v] {
			if _, err := conn.ExecContext(ctx, d.ddl(q)); err != nil {
				return fmt.Errorf("sqlstore: migrate to version %d: %w", v+1, err)
			}
		}
	}
	if version < len(migrations) {
		if _, err := conn.ExecContext(ctx, `DELETE FROM webchatid_schema_version`); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
		if _, err := conn.ExecContext(ctx, d.rebind(`INSERT INTO webchatid_schema_version (version) VALUES (?)`), len(migrations)); err != nil {
			return fmt.Errorf("sqlstore: migrate: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlstore: migrate: commit: %w", err)
	}
	return nil
}

// rollback ends the raw transaction on conn; if that fails, the connection
// is discarded so that no pooled connection is left inside a transaction.
func rollback(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
