package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Server-side sessions live beside the ledger, in the table
// webchatid_sessions (session_id, data, expires; schema version 4), so that
// a fleet whose replicas share the ledger's database shares its logins too:
// one DSN. The data is opaque to this package. Store's SessionPut,
// SessionGet and SessionDelete satisfy sessionstore.Backend (package
// identity/sessionstore).
const (
	putSessionSQL = `INSERT INTO webchatid_sessions (session_id, data, expires) VALUES (?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, expires = excluded.expires`

	getSessionSQL = `SELECT data, expires FROM webchatid_sessions WHERE session_id = ? AND expires > ?`

	deleteSessionSQL = `DELETE FROM webchatid_sessions WHERE session_id = ?`

	// pruneSessionsSQL drops the sessions that have expired; the index
	// webchatid_sessions_expires keeps it from scanning the table.
	pruneSessionsSQL = `DELETE FROM webchatid_sessions WHERE expires <= ?`
)

// sessionQueries are the session statements in one dialect's placeholders.
type sessionQueries struct{ put, get, del, prune string }

var sessionSQL = map[Dialect]sessionQueries{
	SQLite:   newSessionQueries(SQLite),
	Postgres: newSessionQueries(Postgres),
}

func newSessionQueries(d Dialect) sessionQueries {
	return sessionQueries{d.rebind(putSessionSQL), d.rebind(getSessionSQL), d.rebind(deleteSessionSQL), d.rebind(pruneSessionsSQL)}
}

// SessionPut stores data under sessionID until expires, replacing what the
// ID held, and drops the sessions that have expired by the wall clock, in
// one transaction: one write per login. The ID and data must not be empty.
// On SQLite it goes through the Store's one writing connection.
func (s *Store) SessionPut(ctx context.Context, sessionID string, data []byte, expires time.Time) error {
	if sessionID == "" {
		return errors.New("sqlstore: SessionPut: empty session ID")
	}
	if len(data) == 0 {
		return errors.New("sqlstore: SessionPut: empty data")
	}
	if err := s.admit(ctx); err != nil {
		return fmt.Errorf("sqlstore: SessionPut: %w", err)
	}
	defer s.direct.Done()
	q := sessionSQL[s.dialect]
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q.prune, s.dialect.timeArg(time.Now())); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, q.put, sessionID, data, s.dialect.timeArg(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: SessionPut: %w", err)
	}
	return nil
}

// SessionGet returns the data stored under sessionID and its expiry: one
// indexed read. A session that is missing or has expired by the wall clock
// is none: nil data and a nil error.
func (s *Store) SessionGet(ctx context.Context, sessionID string) (data []byte, expires time.Time, err error) {
	if err := s.admit(ctx); err != nil {
		return nil, time.Time{}, fmt.Errorf("sqlstore: SessionGet: %w", err)
	}
	defer s.direct.Done()
	var exp dbTime
	err = s.db.QueryRowContext(ctx, sessionSQL[s.dialect].get, sessionID, s.dialect.timeArg(time.Now())).Scan(&data, &exp)
	switch {
	case err == nil:
		if len(data) == 0 { // SessionPut refuses empty data: never "none" by accident
			return nil, time.Time{}, errors.New("sqlstore: SessionGet: empty data in database")
		}
		return data, exp.t, nil
	case errors.Is(err, sql.ErrNoRows):
		return nil, time.Time{}, nil
	}
	return nil, time.Time{}, fmt.Errorf("sqlstore: SessionGet: %w", err)
}

// SessionDelete deletes the session stored under sessionID, if any. On
// SQLite it goes through the Store's one writing connection.
func (s *Store) SessionDelete(ctx context.Context, sessionID string) error {
	if err := s.admit(ctx); err != nil {
		return fmt.Errorf("sqlstore: SessionDelete: %w", err)
	}
	defer s.direct.Done()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sessionSQL[s.dialect].del, sessionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: SessionDelete: %w", err)
	}
	return nil
}

// SessionPrune deletes the sessions whose expiry is at or before cutoff and
// returns how many it deleted. SessionPut already drops expired sessions,
// so an app needs it only to reclaim space when logins stop.
func (s *Store) SessionPrune(ctx context.Context, cutoff time.Time) (int, error) {
	if err := s.admit(ctx); err != nil {
		return 0, fmt.Errorf("sqlstore: SessionPrune: %w", err)
	}
	defer s.direct.Done()
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sessionSQL[s.dialect].prune, s.dialect.timeArg(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: SessionPrune: %w", err)
	}
	return int(n), nil
}
