// Package webchatid secures an embedded IBM watsonx Assistant web chat (and
// watsonx Orchestrate embed chat) for any Go web application.
//
// Once web chat security is on, IBM rejects every message that does not
// carry a JWT signed with the website's private key. The website therefore
// has to give each visitor a stable anonymous ID, mint short-lived tokens on
// demand, let a visitor log in and out in the middle of a chat without
// changing the token's sub, keep the logged-in state tamper-proof, and
// remember which anonymous IDs belonged to whom so that a customer's data can
// be deleted on request. This module does all of that with net/http types, so
// it mounts on any router.
//
// This package holds only documentation; the code lives in its sub-packages.
//
// # One token request
//
//	browser ── GET /createJWT ──▶ identity.Server
//	  1. cookie: get or set ANONYMOUS-USER-ID  → "anon-<uuid>" (validated, else fresh; expiry renewed)
//	  2. SessionSource(r)                       → *SessionInfo, or nil when anonymous
//	  3. Ledger (optional)                      → remember the ID; link it to the user on login
//	  4. claims.Builder                         → sub = anonymous ID, exp, iat, user_payload, context
//	  5. sign (RS256); user_payload encrypted with IBM's public key when configured
//	◀── 200 text/plain <jwt>   Cache-Control: no-store
//
// The browser hands the token to web chat: the identityTokenExpired event
// fetches a new one, and after a login or logout the page calls
// updateIdentityToken. The script served at /webchatid.js does this for you.
//
// # Which package to use
//
// Read them in this order:
//
//   - [github.com/webchatid/webchatid/identity]: what most applications
//     need. identity.New validates an identity.Config once and returns an
//     identity.Server whose Handler serves /createJWT, /authenticate,
//     /logout, /session, /.well-known/jwks.json and /webchatid.js. Session
//     sources (a sealed cookie, the request context, or your own function)
//     tell it who is logged in; an optional ledger.Ledger records
//     anonymous IDs for privacy requests.
//   - [github.com/webchatid/webchatid/claims]: the token itself. A
//     claims.Builder for sub, exp, iat, user_payload and context; a
//     claims.Signer (RS256 by default); user_payload encryption in the
//     node-rsa format IBM decrypts (claims.Builder.EncryptFor, claims.EncryptUserPayload); and
//     claims.Verify for tests and for backends that receive tokens.
//   - [github.com/webchatid/webchatid/cookie]: browser state.
//     cookie.GetOrSetAnonymousID with IBM's tutorial defaults, and a
//     cookie.Sealer that keeps small server state in an encrypted,
//     authenticated cookie.
//
// # Packages
//
//   - [github.com/webchatid/webchatid/identity]: the HTTP side.
//   - [github.com/webchatid/webchatid/claims]: the token.
//   - [github.com/webchatid/webchatid/cookie]: browser state.
//   - [github.com/webchatid/webchatid/identity/keys]: loading keys,
//     fingerprints.
//   - [github.com/webchatid/webchatid/identity/ledger]: the privacy ledger's
//     contract, its recorder and the paced eraser (standard library only).
//   - [github.com/webchatid/webchatid/identity/ledger/memstore]: a ledger in
//     memory.
//   - [github.com/webchatid/webchatid/identity/ledger/sqlstore]: a ledger in
//     SQL, with [github.com/webchatid/webchatid/identity/ledger/sqlstore/sqlite]
//     and [github.com/webchatid/webchatid/identity/ledger/sqlstore/postgres].
//   - [github.com/webchatid/webchatid/identity/ledger/ledgerdsn]: a ledger
//     from a DSN.
//   - [github.com/webchatid/webchatid/identity/ledger/ledgertest]: the
//     conformance suite of ledger stores.
//   - [github.com/webchatid/webchatid/identity/userdata]: the client of IBM's
//     user-data deletion API that a ledger Eraser calls.
//   - [github.com/webchatid/webchatid/identity/revocation/memrevoke]:
//     server-side session revocation in memory, and
//     [github.com/webchatid/webchatid/identity/revocation/revocationtest],
//     the conformance suite of revocation stores (the SQL ledger store is
//     also one).
//   - [github.com/webchatid/webchatid/identity/sessionstore]: server-side
//     sessions, the cookie carrying only a random ID, kept in the ledger's
//     SQL database or in memory.
//
// The operator's command is [github.com/webchatid/webchatid/cmd/webchatid]
// (keys, token checks the way IBM does them, the ledger, erasure at IBM).
//
// Runnable programs: [github.com/webchatid/webchatid/examples/webchat] (the
// demo: go run ./examples/webchat),
// [github.com/webchatid/webchatid/examples/minimal] (the smallest app that
// mounts the handlers);
// [github.com/webchatid/webchatid/examples/loadgen] and
// [github.com/webchatid/webchatid/examples/benchchart] measure and chart
// token throughput under load, and
// [github.com/webchatid/webchatid/examples/soak] runs mixed and tampered
// traffic, then checks that goroutines and heap returned to their baseline.
//
// # Security
//
// Tokens are signed with RS256 and an RSA key of at least 2048 bits, expire
// after one hour by default, and never outlive the configured maximum. The
// anonymous ID is HttpOnly, validated on every request, and can be bound to
// the browser with a MAC so that knowing someone's sub is not enough to take
// over their chat. The logged-in state is sealed with AES-256-GCM, bound to
// its cookie name and given an expiry, unlike IBM's sample, which keeps it in
// a plain JSON cookie anyone can forge. State-changing endpoints refuse
// cross-origin requests. Keys, tokens, cookie values and payload contents are
// never logged.
//
// # Privacy
//
// IBM deletes a customer's data by customer_id, which is the token's sub. A
// person who chatted anonymously and later logged in has data under one or
// more anonymous IDs; the ledger keeps them, linked to the person's own user
// ID, so that an erasure request can be honoured: ledger.Eraser deletes each
// at IBM through a userdata.Deleter, paced to IBM's limit, and forgets only
// what IBM confirmed; "webchatid erase" does it from the command line.
package webchatid
