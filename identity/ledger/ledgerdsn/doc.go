// Package ledgerdsn opens a [ledger.Ledger] named by a one-line DSN, the
// form command-line flags such as -ledger take:
//
//	memory                          in memory (package memstore); lost on exit
//	sqlite:PATH                     a SQLite file (package sqlite); created with its directory
//	postgres://USER:PASS@HOST/DB?…  PostgreSQL (package postgres); postgresql:// works too
//
// It imports both SQL drivers; an app that needs only one store should
// import that store's package instead.
package ledgerdsn
