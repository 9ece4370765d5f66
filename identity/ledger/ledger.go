package ledger

import (
	"context"
	"hash/maphash"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/webchatid/webchatid/identity/ledger/internal/anonkey"
)

// Entry is one row of a [Ledger]: an anonymous ID and, when it has been
// linked, the custom user it belongs to.
//
// CustomUserID is empty for an anonymous ID that was never linked. FirstSeen
// and LastSeen are in UTC; for a linked entry they describe the link (the
// first and the latest time the anonymous ID was seen with that user).
type Entry struct {
	AnonymousID  string
	CustomUserID string
	FirstSeen    time.Time
	LastSeen     time.Time
}

// Ledger remembers the anonymous IDs a site has issued and which custom users
// they were linked to, so that a privacy request for a person can be honoured
// for every customer_id (the token's sub) IBM knows them by. [Server] writes
// to it through a [Recorder]; [Eraser] reads and prunes it.
//
// An anonymous ID may be linked to several custom users (a shared browser),
// and a custom user to several anonymous IDs (several browsers, an expired
// cookie). Strictly, the ledger records every sub a [Server] issued: the
// anonymous ID, unless [Config.Subject] chose another.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// They must return times in UTC and may truncate them to the microsecond
// (the stores in this module do, as PostgreSQL would). Record and Link refuse
// an empty ID with an error. Every method honours ctx's cancellation; any
// other error means the store itself failed.
//
// Implementations in this module: package memstore (in memory) and package
// sqlstore (SQLite, PostgreSQL). Package ledgertest holds the conformance
// suite every implementation should pass.
type Ledger interface {
	// Record notes that anonID was issued or seen at time at. The first
	// call for an ID sets both its first and last seen time; later calls
	// move FirstSeen earlier and LastSeen later as needed, never the other
	// way. Record is idempotent: repeating a call changes nothing, so a
	// failed call may simply be retried.
	Record(ctx context.Context, anonID string, at time.Time) error

	// Link notes that anonID was used by customUserID at time at (a login,
	// or a token issued while logged in). It records anonID as Record does,
	// and upserts the link with the same first/last seen rules, atomically.
	// Link is idempotent.
	Link(ctx context.Context, anonID, customUserID string, at time.Time) error

	// Lookup returns the anonymous IDs linked to customUserID, one entry
	// per ID with the link's first and last seen times, ordered by
	// FirstSeen then AnonymousID. For an unknown user it returns no entries
	// and a nil error.
	Lookup(ctx context.Context, customUserID string) ([]Entry, error)

	// Forget removes the links between customUserID and the given anonymous
	// IDs, or all of that user's links when no ID is given, and then
	// removes every one of those anonymous IDs that has no link left. An
	// anonymous ID also linked to another user is kept for that user; an ID
	// not linked to customUserID is left alone. Forgetting an unknown user
	// or ID is not an error. Call it once IBM confirmed the deletion of
	// those customer_ids ([Eraser] does).
	//
	// An empty customUserID stands for nobody: Forget("", ids...) removes
	// those of the given anonymous IDs that are linked to no user (a
	// visitor who never logged in, known only by the ID in their cookie),
	// and Forget("") removes nothing.
	Forget(ctx context.Context, customUserID string, anonIDs ...string) error

	// Export calls fn for every row: one entry per link, and one entry with
	// an empty CustomUserID per anonymous ID that has no link, ordered by
	// AnonymousID then CustomUserID (byte order). It stops at and returns
	// the first error fn returns. fn may call the Ledger.
	Export(ctx context.Context, fn func(Entry) error) error

	// Prune removes the anonymous IDs that are linked to no user and
	// were last seen before cutoff (strictly), and returns how many it
	// removed. Linked IDs and their links are never pruned: only Forget
	// removes them. An ID seen again after being pruned is recorded
	// afresh. Prune may work in several transactions; on an error it
	// returns the number removed so far. [Pruner] calls it in the
	// background to bound the ledger's growth.
	Prune(ctx context.Context, cutoff time.Time) (int, error)
}

// Memory bounds of a [Recorder]: it remembers at most
// recorderShards*recorderShardCap anonymous IDs of each form (canonical
// anon-<uuid> IDs by their 16 bytes, others as strings) and as many links:
// about 130 000 of each, a few MB for canonical IDs, and roughly 25 MB at
// most in all when IDs and links are strings of IBM-style length.
const (
	recorderShards   = 64
	recorderShardCap = 2048
)

// A Recorder sits between a token endpoint and a [Ledger] and keeps the
// hot path from writing on every request: a new anonymous ID is written once,
// a link once, and the last-seen time of an ID or a link at most once per UTC
// day. When there is nothing to write, Seen and Linked cost a hash (Seen
// also a parse of the ID) and a map lookup under a read lock of one of 64
// shards, and allocate nothing.
//
// A write that fails is not remembered, so the next request for the same ID
// or link tries again. Two concurrent first requests for the same ID may both
// write; that is harmless because Ledger writes are idempotent.
//
// Memory is bounded: each shard remembers at most 2048 IDs of each form
// (a canonical ID, "anon-" and a lowercase UUID as package cookie mints
// them, by its 16 bytes; any other ID as a string) and 2048 links.
// When a shard is full, entries from earlier days are dropped, and if that
// frees too little the shard is emptied. The cost of forgetting is only an
// extra idempotent write the next time that ID or link is seen.
//
// A Recorder is safe for concurrent use. A nil *Recorder does
// nothing: its methods return nil.
type Recorder struct {
	ledger Ledger
	now    func() time.Time
	seed   maphash.Seed
	seen   [recorderShards]recorderShard[string]       // IDs that are not canonical
	uuids  [recorderShards]recorderShard[anonkey.UUID] // canonical IDs, 24 bytes a slot and no pointer
	links  [recorderShards]recorderShard[linkKey]
}

type linkKey struct{ anonID, customUserID string }

// recorderShard maps a key to the UTC day (days since the Unix epoch) it was
// last written to the ledger.
type recorderShard[K comparable] struct {
	mu   sync.RWMutex
	days map[K]int64
	_    [32]byte // keep neighbouring shards' locks off one cache line
}

// NewRecorder returns a Recorder that writes to l. The now
// function is the clock; if nil, [time.Now] is used. If l is nil,
// NewRecorder returns nil, a recorder that does nothing.
func NewRecorder(l Ledger, now func() time.Time) *Recorder {
	if l == nil {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	r := &Recorder{ledger: l, now: now, seed: maphash.MakeSeed()}
	for i := range r.seen {
		r.seen[i].days = make(map[string]int64)
		r.uuids[i].days = make(map[anonkey.UUID]int64)
		r.links[i].days = make(map[linkKey]int64)
	}
	return r
}

// Seen records that anonID was used by a request. isNew reports whether the
// ID was generated by this request: a new ID is written at once; a known ID
// is written at most once per UTC day to move its last-seen time. The error
// is the ledger's; the ID is then not marked as written, so a later call
// retries.
func (r *Recorder) Seen(ctx context.Context, anonID string, isNew bool) error {
	if r == nil {
		return nil
	}
	now := r.now()
	day := utcDay(now)
	k := r.seenKey(anonID)
	if !isNew && r.seenOn(k, day) {
		return nil
	}
	if err := r.ledger.Record(ctx, anonID, now); err != nil {
		return err
	}
	r.markSeen(k, day)
	return nil
}

// seenKey locates an anonymous ID among the IDs a Recorder remembers: its
// shard, and whether it is kept by its 16 bytes (canonical) or as a string.
type seenKey struct {
	shard     uint64
	id        string
	u         anonkey.UUID
	canonical bool
}

func (r *Recorder) seenKey(anonID string) seenKey {
	u, canonical := anonkey.Parse(anonID)
	return seenKey{shard: maphash.String(r.seed, anonID) % recorderShards, id: anonID, u: u, canonical: canonical}
}

// seenOn reports whether k's ID was written on day or later.
func (r *Recorder) seenOn(k seenKey, day int64) bool {
	if k.canonical {
		return r.uuids[k.shard].done(k.u, day)
	}
	return r.seen[k.shard].done(k.id, day)
}

// markSeen notes that k's ID was written on day; a string ID is kept as a
// copy of its own, never the caller's (often a substring of a Cookie header).
func (r *Recorder) markSeen(k seenKey, day int64) {
	if k.canonical {
		r.uuids[k.shard].mark(k.u, day)
		return
	}
	r.seen[k.shard].mark(strings.Clone(k.id), day)
}

// Linked records that anonID was used by the logged-in customUserID: on
// login, and on every token issued while logged in. The link is written at
// most once per UTC day for each (anonID, customUserID) pair. A failed write
// is not marked, so a later call retries.
func (r *Recorder) Linked(ctx context.Context, anonID, customUserID string) error {
	if r == nil {
		return nil
	}
	now := r.now()
	day := utcDay(now)
	key := linkKey{anonID, customUserID}
	// Rotated so that anonID == customUserID (a Config.Subject returning the
	// user ID) does not hash to 0, which would put all such links in one shard.
	h := maphash.String(r.seed, anonID) ^ bits.RotateLeft64(maphash.String(r.seed, customUserID), 32)
	sh := &r.links[h%recorderShards]
	if sh.done(key, day) {
		return nil
	}
	if err := r.ledger.Link(ctx, anonID, customUserID, now); err != nil {
		return err
	}
	key = linkKey{strings.Clone(anonID), strings.Clone(customUserID)}
	sh.mark(key, day)
	// Link also moved the ID's last-seen time.
	r.markSeen(r.seenKey(anonID), day)
	return nil
}

// utcDay returns the number of whole days between the Unix epoch and t, in UTC.
func utcDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

func (s *recorderShard[K]) done(k K, day int64) bool {
	s.mu.RLock()
	d, ok := s.days[k]
	s.mu.RUnlock()
	return ok && d >= day
}

func (s *recorderShard[K]) mark(k K, day int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.days[k]; ok {
		if day > d {
			s.days[k] = day
		}
		return
	}
	if len(s.days) >= recorderShardCap {
		for old, d := range s.days {
			if d < day {
				delete(s.days, old)
			}
		}
		if len(s.days) > recorderShardCap*3/4 {
			clear(s.days)
		}
	}
	s.days[k] = day
}

// A Pinger is a store that can tell whether it is reachable, for readiness
// checks: a fleet's load balancer should stop sending visitors to a replica
// that cannot reach its database. identity.Server.Ready pings its Ledger and
// its revocation store when they implement Pinger. The stores in this module
// do: sqlstore's Store pings its database and runs a trivial query, and
// memstore's Store is always ready.
//
// Ping returns nil when the store can serve requests, and otherwise an
// error saying why (it may carry driver details, so callers must not send it
// to clients). It honours ctx's deadline and cancellation. Implementations
// must be safe for concurrent use and cheap enough to call every few
// seconds.
type Pinger interface {
	Ping(ctx context.Context) error
}
