// Package sqlstore is a [ledger.Ledger] kept in a SQL database through
// [database/sql], for SQLite and PostgreSQL.
//
// The package imports no database driver. Open a store with
// [github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite] (a file, the
// embedded default, pure Go) or
// [github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres] (for several
// app servers sharing a ledger), or bring your own *sql.DB and call [New]
// with its [Dialect].
//
// [New] creates and migrates the schema (tables webchatid_anonymous_ids,
// webchatid_links, webchatid_revoked_sessions, webchatid_sessions and
// webchatid_schema_version). Its SessionPut, SessionGet and SessionDelete
// keep server-side sessions (package identity/sessionstore) in the same
// database.
// A [Store] is also an identity.Revoker ([Store.Revoke], [Store.Revoked]):
// revoked sessions live in the ledger's database, so a fleet needs one DSN
// for both. Writes are idempotent
// upserts (INSERT … ON CONFLICT … DO UPDATE) that only ever move a first-seen
// time earlier and a last-seen time later, so retries and concurrent writers
// from several processes are safe. Times are stored in UTC, to the
// microsecond.
//
// # Group commit
//
// Record and Link are group-committed: concurrent calls that arrive while a
// transaction is being committed wait and go into the next one together
// (at most [Options.MaxBatch] rows), and each call returns only after the
// transaction holding its row has committed. While commits are frequent a
// writer also spaces them ([Options.CommitSpacing], 2 ms): a row that
// arrives within 2 ms of the last commit's start waits out the rest, and
// the rows arriving meanwhile join it; a lone write commits at once. A
// batch that fails is retried row by row, so a bad row fails only its own
// caller. On SQLite every write of the Store goes through one connection
// (the file has one write lock);
// on PostgreSQL each batch is one multi-row upsert per table, from
// [Options.Writers] writers. [Store.Stats] reports batches, rows, the
// largest batch and errors; [Store.Close] commits what is pending, after
// which reads and writes fail with [ErrClosed].
//
// # Retention
//
// [Store.Prune] deletes the never-linked anonymous IDs last seen before a
// cutoff (schema version 3 indexes last_seen for it); ledger.Pruner calls
// it in the background.
package sqlstore
