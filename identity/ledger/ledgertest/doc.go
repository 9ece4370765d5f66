// Package ledgertest is the conformance suite for [ledger.Ledger]
// implementations. A store's test calls [Run] with a function that opens an
// empty ledger; the suite checks the contract documented on
// [ledger.Ledger]: record, link, lookup, forget and export semantics,
// idempotency, first/last seen ordering, shared anonymous IDs, IDs linked to
// nobody, unknown users, UTC times, byte order whatever the database's
// collation, 50 concurrent writers losing nothing, and Forget racing with
// Link.
//
// [Crash] and [CrashChild] check durability across a SIGKILL: the test
// binary re-executes itself as a child that links IDs in a loop and prints
// each acknowledged link; the parent kills it in the middle of the load,
// reopens the store and requires every acknowledged link to be there.
//
// The stores of this module run the suite against memory, SQLite and
// PostgreSQL (set WEBCHATID_TEST_POSTGRES_DSN, see .ci/postgres.sh).
package ledgertest
