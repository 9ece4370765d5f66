package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// pruneChunk bounds the IDs one Prune transaction deletes, so that a large
// first prune does not hold the writer (or, on PostgreSQL, thousands of row
// locks) for long; Prune loops until a chunk comes back short.
const pruneChunk = 1000

const (
	// pruneSQLite deletes up to pruneChunk never-linked IDs last seen
	// before the cutoff. SQLite has one writer, so nothing can link an ID
	// between the check and the delete.
	pruneSQLite = `DELETE FROM webchatid_anonymous_ids WHERE anonymous_id IN (
	SELECT a.anonymous_id FROM webchatid_anonymous_ids a
	WHERE a.last_seen < ? AND NOT EXISTS (SELECT 1 FROM webchatid_links l WHERE l.anonymous_id = a.anonymous_id)
	LIMIT ?)`

	// prunePick locks (FOR UPDATE, in ID order as Link and Forget take
	// them) the candidates; pruneLocked then deletes those still unlinked
	// and old. In READ COMMITTED the second statement sees every link
	// committed before the locks were granted, and a Link not yet
	// committed waits for the ID's lock, so a link is never cascaded away.
	prunePick = `SELECT a.anonymous_id FROM webchatid_anonymous_ids a
WHERE a.last_seen < $1 AND NOT EXISTS (SELECT 1 FROM webchatid_links l WHERE l.anonymous_id = a.anonymous_id)
ORDER BY a.anonymous_id LIMIT $2 FOR UPDATE`
	pruneLocked = `DELETE FROM webchatid_anonymous_ids a WHERE a.anonymous_id = ANY($1::text[]) AND a.last_seen < $2
AND NOT EXISTS (SELECT 1 FROM webchatid_links l WHERE l.anonymous_id = a.anonymous_id)`
)

// Prune implements [ledger.Ledger]: it deletes the anonymous IDs linked to
// no user and last seen before cutoff, in transactions of at most 1000 IDs
// each (so concurrent writes wait little), and returns how many it
// deleted; if Close begins meanwhile, it stops after the current chunk
// with [ErrClosed] and the count deleted so far. The index webchatid_anonymous_ids_last_seen (schema version 3)
// keeps it from scanning the table.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	defer s.direct.Done()
	t := s.dialect.timeArg(cutoff)
	total := 0
	for {
		if total > 0 && s.isClosed() {
			// Close waits for this Prune: stop at a chunk's end, the
			// chunks deleted so far committed.
			return total, fmt.Errorf("sqlstore: prune: %w", ErrClosed)
		}
		var n, picked int64
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			if s.dialect == SQLite {
				res, err := tx.ExecContext(ctx, pruneSQLite, t, pruneChunk)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				picked = n
				return err
			}
			ids, err := queryStrings(ctx, tx, prunePick, t, pruneChunk)
			if err != nil || len(ids) == 0 {
				return err
			}
			picked = int64(len(ids))
			res, err := tx.ExecContext(ctx, pruneLocked, ids, t)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlstore: prune: %w", err)
		}
		total += int(n)
		// A full chunk means more may wait, even if Link saved some (or
		// all) of its IDs from the delete.
		if picked < pruneChunk {
			return total, nil
		}
	}
}

// admit lets a direct write (Forget, Prune, Revoke, the session writes) or
// a read in, or refuses it on a closed Store ([ErrClosed]) or with an
// ended ctx. An admitted call must call s.direct.Done when it is finished
// with the database: Close waits for it, so it never meets a closed
// connection or statement, and a write that returned nil is committed
// before Close returns.
func (s *Store) admit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	// Under closeMu, before closed is set: every Add happens before
	// Close's Wait.
	s.direct.Add(1)
	s.closeMu.RUnlock()
	if h := s.testHookAdmitted; h != nil {
		h()
	}
	return nil
}

// isClosed reports whether Close has begun.
func (s *Store) isClosed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}
