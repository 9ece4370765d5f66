package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Revoked sessions live beside the ledger, in the table
// webchatid_revoked_sessions (session_id, revoked_until), so that a fleet
// whose replicas share the ledger's database shares its revocations too:
// one DSN. Store's Revoke and Revoked satisfy identity.Revoker.
const (
	revokeSQL = `INSERT INTO webchatid_revoked_sessions AS r (session_id, revoked_until) VALUES (?, ?)
ON CONFLICT (session_id) DO UPDATE SET revoked_until = excluded.revoked_until
WHERE excluded.revoked_until > r.revoked_until`

	revokedSQL = `SELECT 1 FROM webchatid_revoked_sessions WHERE session_id = ?`

	// pruneRevokedSQL drops entries whose session cookie has expired, so
	// the table holds at most a cookie lifetime of logouts.
	pruneRevokedSQL = `DELETE FROM webchatid_revoked_sessions WHERE revoked_until < ?`
)

// Revoke marks sessionID revoked until until (never shortening an earlier
// revocation) and drops the entries whose until has passed by the wall
// clock, in one transaction. It is one write per logout.
func (s *Store) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	if sessionID == "" {
		return errors.New("sqlstore: Revoke: empty session ID")
	}
	if err := s.admit(ctx); err != nil {
		return fmt.Errorf("sqlstore: Revoke: %w", err)
	}
	defer s.direct.Done()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.pruneRevoked, s.dialect.timeArg(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.revoke, sessionID, s.dialect.timeArg(until))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: Revoke: %w", err)
	}
	return nil
}

// Revoked reports whether sessionID was revoked: one indexed read.
func (s *Store) Revoked(ctx context.Context, sessionID string) (bool, error) {
	if err := s.admit(ctx); err != nil {
		return false, fmt.Errorf("sqlstore: Revoked: %w", err)
	}
	defer s.direct.Done()
	var one int
	err := s.db.QueryRowContext(ctx, s.isRevoked, sessionID).Scan(&one)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, fmt.Errorf("sqlstore: Revoked: %w", err)
}
