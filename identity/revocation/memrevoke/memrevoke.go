// Package memrevoke keeps revoked sessions in memory: an identity.Revoker
// for a single process (tests, development, one-replica apps). A fleet
// shares its revocations through the ledger's SQL database instead (package
// identity/ledger/sqlstore), since a session revoked on one replica must be
// refused by all. It uses only the standard library.
package memrevoke

import (
	"context"
	"errors"
	"sync"
	"time"
)

// sweepEvery is how often Revoke drops entries whose until has passed.
const sweepEvery = time.Minute

// Store is an in-memory set of revoked session IDs. Each entry is kept until
// its until time has passed (by the wall clock), then dropped at a later
// Revoke. It is safe for concurrent use. Make one with [New].
type Store struct {
	mu        sync.RWMutex
	until     map[string]time.Time
	nextSweep time.Time
}

// New returns an empty Store.
func New() *Store { return &Store{until: map[string]time.Time{}} }

// Revoke marks sessionID revoked until until (or later, if it already was).
func (s *Store) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	if sessionID == "" {
		return errors.New("memrevoke: empty session ID")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.After(s.nextSweep) {
		for id, u := range s.until {
			if u.Before(now) {
				delete(s.until, id)
			}
		}
		s.nextSweep = now.Add(sweepEvery)
	}
	if u, ok := s.until[sessionID]; !ok || until.After(u) {
		s.until[sessionID] = until
	}
	return nil
}

// Revoked reports whether sessionID was revoked. It never fails.
func (s *Store) Revoked(_ context.Context, sessionID string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.until[sessionID]
	return ok, nil
}

// Len returns the number of entries the Store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.until)
}
