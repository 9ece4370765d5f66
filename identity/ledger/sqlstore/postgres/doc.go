// Package postgres opens a [sqlstore.Store] on PostgreSQL through the
// database/sql driver of github.com/jackc/pgx/v5 (package
// github.com/jackc/pgx/v5/stdlib). Use it when several app servers share one
// ledger.
//
// The tables are created in the first schema of the connection's
// search_path; to keep them in their own schema, add search_path to the DSN
// (postgres://…/app?search_path=webchatid) after creating that schema.
// A write is acknowledged only after PostgreSQL committed it.
package postgres
