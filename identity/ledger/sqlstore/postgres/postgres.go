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

// Open connects to the PostgreSQL database named by dsn (a URL such as
// postgres://user:pass@host:5432/db?sslmode=disable, or key=value pairs as
// libpq takes them), checks the connection, and returns a [sqlstore.Store]
// on it with its schema created or migrated. The Store owns the connection
// pool: call its Close method when done. Errors never include the password.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := sqlstore.NewContext(ctx, db, sqlstore.Postgres)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}
