package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// A Revoker keeps sessions revoked on the server, so that a session cookie
// copied before its logout (from a shared computer, a proxy log, malware)
// stops working at once rather than when it expires: see Config.Revoker.
// Its methods take plain types, so a store needs not import this package:
// package identity/revocation/memrevoke keeps them in memory, and the
// ledger's SQL stores (identity/ledger/sqlstore: SQLite, PostgreSQL) keep
// them beside the ledger, so a fleet shares them through one DSN. Package
// identity/revocation/revocationtest is the conformance suite.
//
// Implementations must be safe for concurrent use.
type Revoker interface {
	// Revoke marks sessionID revoked until until, the session's own expiry:
	// after it the session cookie is refused anyway, so the store may forget
	// the entry. Revoking again never shortens a revocation. An empty ID is
	// an error.
	Revoke(ctx context.Context, sessionID string, until time.Time) error

	// Revoked reports whether sessionID was revoked. An error means the
	// store failed; the session is then not honoured (see Config.Revoker).
	Revoked(ctx context.Context, sessionID string) (bool, error)
}

// sessionIDBytes is the entropy of a session ID: 128 bits, so IDs never
// collide and cannot be guessed.
const sessionIDBytes = 16

// newSessionID returns a random session ID, 22 characters of base64url.
func newSessionID() (string, error) {
	var b [sessionIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
