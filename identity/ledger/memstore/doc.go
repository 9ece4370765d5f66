// Package memstore is an in-memory [ledger.Ledger], for tests, demos and
// single-process apps that can afford to forget on restart.
//
// Nothing is written to disk: a privacy request can only be honoured for IDs
// issued since the process started. Production sites should use package
// [github.com/webchatid/webchatid/identity/ledger/sqlstore].
package memstore
