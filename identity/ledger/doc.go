// Package ledger is the privacy ledger's contract: the anonymous IDs a site
// issued and the custom users they were linked to, so that a person's data
// at IBM can be found and deleted on request.
//
// [Ledger] is the interface every store implements; [Entry] is one of its
// rows. A [Recorder] sits between the token endpoint and a Ledger and keeps
// the hot path from writing on every request. An [Eraser], made with
// [NewEraser], honours an erasure request: it looks up a user's
// customer_ids, deletes each at IBM through a [UserDataDeleter] at a pace
// IBM accepts, and forgets in the ledger only what IBM confirmed.
//
// The package uses only the standard library and knows nothing of HTTP or
// JWTs: package identity imports it, never the other way round, so a store
// stays as small as the store itself. The stores live beneath it:
// memstore (in memory), sqlstore with its sqlite and postgres packages, and
// ledgerdsn, which opens one from a DSN such as a -ledger flag. Package
// ledgertest is the conformance suite every store passes.
package ledger
