package sqlstore

import (
	"context"
	"fmt"

	"github.com/webchatid/webchatid/identity/ledger"
)

var _ ledger.Pinger = (*Store)(nil)

// pingSQL reads the ledger's schema version: it needs a live connection, a
// working session and the Store's tables, which a bare ping does not prove.
const pingSQL = `SELECT COUNT(*) FROM webchatid_schema_version`

// Ping implements [ledger.Pinger]: it checks a pooled connection
// ([database/sql.DB.PingContext]) and runs one trivial query on the Store's
// schema. The error may carry the driver's message; it never carries the
// DSN's password (database/sql does not know it), but it is for logs, not
// for clients.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.admit(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	defer s.direct.Done()
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, pingSQL).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}
