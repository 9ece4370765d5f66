package sessionstore

import (
	"context"
	"errors"
	"sync"
	"time"
)

// sweepEvery is how often Memory.SessionPut drops expired sessions.
const sweepEvery = time.Minute

// Memory is a [Backend] in memory, for a single process (development,
// tests, one-replica apps): its sessions end when the process does, and
// replicas do not see each other's. It drops expired sessions (by the wall
// clock) at a later SessionPut. It is safe for concurrent use; its zero
// value is not: make one with [NewMemory]. It uses only the standard
// library.
type Memory struct {
	mu        sync.Mutex
	m         map[string]memSession
	nextSweep time.Time
}

type memSession struct {
	data    []byte
	expires time.Time
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{m: map[string]memSession{}} }

// SessionPut implements [Backend]; it keeps a copy of data.
func (m *Memory) SessionPut(ctx context.Context, key string, data []byte, expires time.Time) error {
	if key == "" || len(data) == 0 {
		return errors.New("sessionstore: Memory.SessionPut: empty key or data")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.After(m.nextSweep) {
		for k, s := range m.m {
			if !now.Before(s.expires) {
				delete(m.m, k)
			}
		}
		m.nextSweep = now.Add(sweepEvery)
	}
	m.m[key] = memSession{data: append([]byte(nil), data...), expires: expires}
	return nil
}

// SessionGet implements [Backend]; it returns a copy of the data. It never
// fails.
func (m *Memory) SessionGet(_ context.Context, key string) ([]byte, time.Time, error) {
	m.mu.Lock()
	s, ok := m.m[key]
	m.mu.Unlock()
	if !ok || !time.Now().Before(s.expires) {
		return nil, time.Time{}, nil
	}
	return append([]byte(nil), s.data...), s.expires, nil
}

// SessionDelete implements [Backend]. It never fails.
func (m *Memory) SessionDelete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.m, key)
	m.mu.Unlock()
	return nil
}

// Len returns the number of sessions the Memory holds, expired ones not yet
// dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
