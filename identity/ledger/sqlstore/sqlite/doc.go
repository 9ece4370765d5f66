// Package sqlite opens a [sqlstore.Store] in a SQLite file with the pure-Go
// driver modernc.org/sqlite (no cgo). It is the embedded default ledger: one
// file, one app server.
//
// # Durability
//
// [Open] sets the journal to WAL and synchronous to NORMAL. Every write
// [sqlstore.Store] acknowledges has been handed to the operating system
// before the call returns, so it survives the process being killed (even by
// SIGKILL); the package's tests check exactly that. It does not fsync on
// every commit, so the last writes before a power loss or kernel crash may be
// lost. Where that matters, open the database yourself with
// _pragma=synchronous(FULL) and pass it to [sqlstore.New].
package sqlite
