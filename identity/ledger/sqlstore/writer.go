package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. Record and Link do not write themselves: they hand their
// row to a writer goroutine and wait. A writer takes every row waiting in
// the queue (up to Options.MaxBatch) and commits them in one transaction;
// the rows that arrive meanwhile wait for the next one. So under load one
// commit (one fsync, one round trip) serves many callers, and each caller
// still returns only after the transaction holding its row has committed.
//
// Rows that arrive one at a time, each after the previous commit ended,
// would still get a transaction each: a token endpoint's ledger writes come
// in at the pace its signatures allow (one every 0.7 ms on the project's
// 2-core machine), never many at once, and each commit has its cost (on
// SQLite a BEGIN, a COMMIT and the WAL frames of every page it touched; on
// PostgreSQL a round trip and a WAL flush). So a writer spaces its
// commits: a batch's commit starts at least Options.CommitSpacing after the
// previous one started, and the rows that arrive in the meantime join it.
// A writer that has been idle for that long commits at once, so a lone
// write never waits; the spacing only delays rows that arrive while
// commits are frequent.
//
// If a batch fails, its rows are retried one by one, each in its own
// transaction, so one bad row fails only its own caller.

// ErrClosed is returned by the Store's reads and writes after
// [Store.Close].
var ErrClosed = errors.New("sqlstore: store is closed")

// Defaults of [Options].
const (
	// DefaultMaxBatch is the largest number of Record/Link rows committed
	// in one transaction.
	DefaultMaxBatch = 256
	// DefaultPostgresWriters is the number of concurrent writers (and so
	// of connections committing batches) on PostgreSQL. One writer
	// commits everything that queued while its last commit ran, so its
	// batches grow with the load; more writers each grab the next row as
	// soon as they are idle, and commit about one row each. On the
	// project's 2-core machine, with PostgreSQL on the same cores and 64
	// clients asking for new visitors' tokens, 4 writers cost the
	// database 164-245 µs of CPU per new visitor in 1.1-row batches and
	// 1 writer 95-190 µs in 2.0-2.4-row ones (BENCHMARKS.md; measured
	// before CommitSpacing, which made one writer's batches about 4 rows).
	// Raise Writers when each commit is slow (a distant or synchronously
	// replicated database) and the rows arrive faster than one writer's
	// batches can carry.
	DefaultPostgresWriters = 1
	// DefaultWriteTimeout bounds one batch's transaction.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultCommitSpacing is the least time between the starts of two
	// of a writer's commits (see [Options.CommitSpacing]).
	DefaultCommitSpacing = 2 * time.Millisecond
)

// Options tune a [Store]. The zero value gives the defaults.
type Options struct {
	// Writers is the number of goroutines committing batches, each on
	// its own connection. SQLite has one write lock per file, so its
	// Store always uses exactly one writer connection, for batches and for
	// Forget, Prune and Revoke alike; Writers must be 0 or 1 there. If
	// zero, 1 is used for SQLite and [DefaultPostgresWriters] (1) for
	// PostgreSQL.
	Writers int

	// MaxBatch is the largest number of Record/Link calls committed in
	// one transaction. If zero, [DefaultMaxBatch] (256) is used.
	MaxBatch int

	// WriteTimeout bounds each batch's transaction, so a database that
	// stopped answering does not keep a writer forever (callers have
	// their own contexts and return at their deadline). If zero,
	// [DefaultWriteTimeout] (30 s) is used.
	WriteTimeout time.Duration

	// CommitSpacing is the least time between the starts of two commits
	// of one writer: a row that arrives sooner after the previous commit
	// started waits the rest of it, and the rows that arrive meanwhile
	// are committed with it (up to MaxBatch, which ends the wait early).
	// A writer idle for longer commits at once, so the spacing delays
	// writes only while they are frequent, by at most CommitSpacing, and
	// bounds the commits (transactions, round trips) to 1/CommitSpacing per
	// second per writer. If zero, [DefaultCommitSpacing] (2 ms) is used;
	// a negative value turns the spacing off (every batch commits as soon
	// as the previous one has).
	CommitSpacing time.Duration
}

func (o *Options) fill(d Dialect) error {
	switch {
	case o.Writers < 0:
		return fmt.Errorf("sqlstore: Options.Writers: %d is negative", o.Writers)
	case o.Writers > 1 && d == SQLite:
		return fmt.Errorf("sqlstore: Options.Writers: SQLite allows one writer (its write lock is per file); got %d", o.Writers)
	case o.Writers == 0 && d == SQLite:
		o.Writers = 1
	case o.Writers == 0:
		o.Writers = DefaultPostgresWriters
	}
	switch {
	case o.MaxBatch < 0:
		return fmt.Errorf("sqlstore: Options.MaxBatch: %d is negative", o.MaxBatch)
	case o.MaxBatch == 0:
		o.MaxBatch = DefaultMaxBatch
	}
	switch {
	case o.WriteTimeout < 0:
		return fmt.Errorf("sqlstore: Options.WriteTimeout: %v is negative", o.WriteTimeout)
	case o.WriteTimeout == 0:
		o.WriteTimeout = DefaultWriteTimeout
	}
	switch {
	case o.CommitSpacing == 0:
		o.CommitSpacing = DefaultCommitSpacing
	case o.CommitSpacing < 0:
		o.CommitSpacing = 0
	}
	return nil
}

// Stats are a Store's write counters, for operators (see [Store.Stats]).
type Stats struct {
	// Batches is the number of transactions that committed Record/Link
	// rows (a retried row's own transaction counts as one).
	Batches uint64
	// Rows is the number of Record and Link calls committed.
	Rows uint64
	// LargestBatch is the most Record/Link calls committed in one
	// transaction so far.
	LargestBatch uint64
	// FailedBatches is the number of batches whose transaction failed
	// and whose rows were then retried one by one.
	FailedBatches uint64
	// Errors is the number of Record and Link calls that failed in the
	// database (not counting refused empty IDs or callers whose context
	// ended first).
	Errors uint64
}

// Stats returns the Store's write counters so far. It is cheap (atomic
// loads) and safe to call at any time, also after Close.
func (s *Store) Stats() Stats {
	return Stats{
		Batches:       s.stats.batches.Load(),
		Rows:          s.stats.rows.Load(),
		LargestBatch:  s.stats.largest.Load(),
		FailedBatches: s.stats.failedBatches.Load(),
		Errors:        s.stats.errors.Load(),
	}
}

type storeStats struct {
	batches, rows, largest, failedBatches, errors atomic.Uint64
}

// op is one Record (user empty) or Link call waiting for its commit.
type op struct {
	ctx          context.Context
	anonID, user string
	at           time.Time // UTC, truncated to the microsecond
	done         chan error
}

var opPool = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

// enqueue hands a row to the writers and waits until the transaction
// holding it committed (nil), failed (its error), or ctx ended.
func (s *Store) enqueue(ctx context.Context, anonID, user string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := opPool.Get().(*op)
	o.ctx, o.anonID, o.user, o.at = ctx, anonID, user, at.UTC().Truncate(time.Microsecond)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		o.ctx = nil
		opPool.Put(o)
		return ErrClosed
	}
	select {
	case s.queue <- o:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		o.ctx = nil
		opPool.Put(o)
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		o.ctx = nil
		opPool.Put(o) // the writer is done with it
		return err
	case <-ctx.Done():
		// The writer still holds o and will answer into its buffered
		// channel; o is then left to the garbage collector. The row may
		// still commit: writes are idempotent, so that is harmless.
		return ctx.Err()
	}
}

// startWriters starts the writer goroutines; Close stops them.
func (s *Store) startWriters() {
	s.queue = make(chan *op, s.opts.MaxBatch*s.opts.Writers)
	for range s.opts.Writers {
		s.writers.Go(s.writeLoop)
	}
}

// writeLoop commits batches until the queue is closed and drained.
func (s *Store) writeLoop() {
	batch := make([]*op, 0, s.opts.MaxBatch)
	var started time.Time // of the last commit
	var timer *time.Timer
	for o := range s.queue {
		batch = append(batch[:0], o)
		// With the spacing off (0) the wait is never positive.
		if wait := s.opts.CommitSpacing - time.Since(started); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			s.gather(timer, &batch)
		}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case o, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		if h := s.testHookBatch; h != nil {
			h(len(batch))
		}
		started = time.Now()
		s.commitBatch(batch)
		clear(batch)
	}
}

// gather adds the rows that arrive to batch until timer fires or batch
// holds MaxBatch rows (or the queue is closed: Close commits what is
// pending at once).
func (s *Store) gather(timer *time.Timer, batch *[]*op) {
	if h := s.testHookGather; h != nil {
		h()
	}
	for len(*batch) < s.opts.MaxBatch {
		select {
		case o, ok := <-s.queue:
			if !ok {
				timer.Stop()
				return
			}
			*batch = append(*batch, o)
		case <-timer.C:
			return
		}
	}
	timer.Stop()
}

// commitBatch writes batch in one transaction and answers every caller;
// if the transaction fails, it retries each row alone.
func (s *Store) commitBatch(batch []*op) {
	// Callers that gave up are answered and left out.
	live := batch[:0:0]
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.done <- err
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return
	}
	err := s.writeRows(live)
	if err == nil {
		s.committed(live)
		return
	}
	if len(live) == 1 {
		s.stats.errors.Add(1)
		live[0].done <- opError(live[0], err)
		return
	}
	s.stats.failedBatches.Add(1)
	for _, o := range live {
		if err := o.ctx.Err(); err != nil {
			o.done <- err
			continue
		}
		one := []*op{o}
		if err := s.writeRows(one); err != nil {
			s.stats.errors.Add(1)
			o.done <- opError(o, err)
			continue
		}
		s.committed(one)
	}
}

func (s *Store) committed(ops []*op) {
	n := uint64(len(ops))
	s.stats.batches.Add(1)
	s.stats.rows.Add(n)
	for {
		m := s.stats.largest.Load()
		if n <= m || s.stats.largest.CompareAndSwap(m, n) {
			break
		}
	}
	for _, o := range ops {
		o.done <- nil
	}
}

func opError(o *op, err error) error {
	if o.user == "" {
		return fmt.Errorf("sqlstore: record: %w", err)
	}
	return fmt.Errorf("sqlstore: link: %w", err)
}

type idRow struct {
	first, last time.Time
}

type linkRow struct{ user, anonID string }

// writeRows upserts the rows of ops in one transaction. Rows for the same
// ID (or link) are merged first (PostgreSQL refuses to upsert one row twice
// in a statement), and written in byte order, so that concurrent writers
// and Forget take row locks in one order.
func (s *Store) writeRows(ops []*op) error {
	ids := make(map[string]idRow, len(ops))
	var links map[linkRow]idRow
	for _, o := range ops {
		widenRow(ids, o.anonID, o.at)
		if o.user != "" {
			if links == nil {
				links = make(map[linkRow]idRow)
			}
			widenRow(links, linkRow{o.user, o.anonID}, o.at)
		}
	}
	idKeys := slices.Sorted(maps.Keys(ids))
	linkKeys := slices.SortedFunc(maps.Keys(links), func(a, b linkRow) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.anonID, b.anonID))
	})
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	if s.dialect == Postgres && len(linkKeys) == 0 {
		// One statement is atomic by itself: one round trip, no BEGIN
		// and COMMIT (fresh visitors' batches are all like this).
		return s.writeRowsPostgres(ctx, s.db, ids, idKeys, nil, nil)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			return s.writeRowsPostgres(ctx, tx, ids, idKeys, links, linkKeys)
		}
		return s.writeRowsSQLite(ctx, tx, ids, idKeys, links, linkKeys)
	})
}

// SQLite: each table's rows go in multi-row upserts (INSERT … VALUES
// (…), (…) ON CONFLICT …) of 1, 2, 4, … sqliteMaxChunk rows, a batch of n
// rows in the fewest of them (n's binary digits, then full chunks). Their
// statements are prepared once per Store (sqliteStmts) and reused on the
// writer connection, so a batch parses no SQL but its BEGIN and COMMIT,
// and runs about log2(n) statements instead of n. Parsing the upsert
// anew for every batch was a quarter of the ledger's CPU under load.
const sqliteMaxChunk = 64

// sqliteChunks is the number of chunk sizes: 1, 2, 4, … sqliteMaxChunk.
var sqliteChunks = bits.Len(sqliteMaxChunk)

// sqliteStmts are the SQLite multi-row upserts, index i holding 1<<i rows.
type sqliteStmts struct {
	record, link []*sql.Stmt
}

// manyRows returns q (a single-row INSERT … VALUES (?, …) …) with its
// VALUES list repeated for n rows.
func manyRows(q string, n int) string {
	i := strings.Index(q, "VALUES (")
	j := i + strings.Index(q[i:], ")") + 1
	row := q[i+len("VALUES ") : j]
	return q[:i] + "VALUES " + strings.Repeat(row+", ", n-1) + row + q[j:]
}

// prepareSQLite prepares the multi-row upserts on db.
func (s *Store) prepareSQLite(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			s.closeSQLiteStmts()
		}
	}()
	for i := range sqliteChunks {
		for _, p := range []struct {
			q   string
			out *[]*sql.Stmt
		}{{recordSQL, &s.sqlite.record}, {linkSQL, &s.sqlite.link}} {
			st, err := s.db.PrepareContext(ctx, manyRows(p.q, 1<<i))
			if err != nil {
				return fmt.Errorf("sqlstore: prepare: %w", err)
			}
			*p.out = append(*p.out, st)
		}
	}
	return nil
}

func (s *Store) closeSQLiteStmts() {
	for _, st := range slices.Concat(s.sqlite.record, s.sqlite.link) {
		st.Close()
	}
}

func (s *Store) writeRowsSQLite(ctx context.Context, tx *sql.Tx, ids map[string]idRow, idKeys []string, links map[linkRow]idRow, linkKeys []linkRow) error {
	args := make([]any, 0, 4*min(len(idKeys), sqliteMaxChunk))
	for rest := idKeys; len(rest) > 0; {
		i := bits.Len(uint(min(len(rest), sqliteMaxChunk))) - 1
		args = args[:0]
		for _, id := range rest[:1<<i] {
			r := ids[id]
			args = append(args, id, s.dialect.timeArg(r.first), s.dialect.timeArg(r.last))
		}
		if _, err := tx.StmtContext(ctx, s.sqlite.record[i]).ExecContext(ctx, args...); err != nil {
			return err
		}
		rest = rest[1<<i:]
	}
	for rest := linkKeys; len(rest) > 0; {
		i := bits.Len(uint(min(len(rest), sqliteMaxChunk))) - 1
		args = args[:0]
		for _, k := range rest[:1<<i] {
			r := links[k]
			args = append(args, k.anonID, k.user, s.dialect.timeArg(r.first), s.dialect.timeArg(r.last))
		}
		if _, err := tx.StmtContext(ctx, s.sqlite.link[i]).ExecContext(ctx, args...); err != nil {
			return err
		}
		rest = rest[1<<i:]
	}
	return nil
}

// PostgreSQL: each table gets one multi-row upsert, its rows passed as
// arrays: two round trips per batch however many rows it holds.
const (
	recordManySQL = `INSERT INTO webchatid_anonymous_ids AS a (anonymous_id, first_seen, last_seen)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[])
ON CONFLICT (anonymous_id) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < a.first_seen THEN excluded.first_seen ELSE a.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > a.last_seen THEN excluded.last_seen ELSE a.last_seen END
WHERE excluded.first_seen < a.first_seen OR excluded.last_seen > a.last_seen`

	linkManySQL = `INSERT INTO webchatid_links AS l (anonymous_id, custom_user_id, first_seen, last_seen)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
ON CONFLICT (custom_user_id, anonymous_id) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < l.first_seen THEN excluded.first_seen ELSE l.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > l.last_seen THEN excluded.last_seen ELSE l.last_seen END
WHERE excluded.first_seen < l.first_seen OR excluded.last_seen > l.last_seen`
)

// execer is a *sql.Tx or the *sql.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) writeRowsPostgres(ctx context.Context, tx execer, ids map[string]idRow, idKeys []string, links map[linkRow]idRow, linkKeys []linkRow) error {
	first, last := make([]time.Time, len(idKeys)), make([]time.Time, len(idKeys))
	for i, id := range idKeys {
		first[i], last[i] = ids[id].first, ids[id].last
	}
	if _, err := tx.ExecContext(ctx, recordManySQL, idKeys, first, last); err != nil {
		return err
	}
	if len(linkKeys) == 0 {
		return nil
	}
	anon, users := make([]string, len(linkKeys)), make([]string, len(linkKeys))
	first, last = make([]time.Time, len(linkKeys)), make([]time.Time, len(linkKeys))
	for i, k := range linkKeys {
		anon[i], users[i], first[i], last[i] = k.anonID, k.user, links[k].first, links[k].last
	}
	_, err := tx.ExecContext(ctx, linkManySQL, anon, users, first, last)
	return err
}

func widenRow[K comparable](m map[K]idRow, k K, t time.Time) {
	r, ok := m[k]
	if !ok || t.Before(r.first) {
		r.first = t
	}
	if !ok || t.After(r.last) {
		r.last = t
	}
	m[k] = r
}

// writeTx runs fn in a transaction on a write connection and commits it.
// On SQLite every write goes through the one writer connection, held under
// writeMu, so no two connections of this Store ever wait for the file's
// write lock. On PostgreSQL it is a transaction from the pool.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	var tx *sql.Tx
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		if s.wconn == nil {
			if s.wconn, err = s.db.Conn(ctx); err != nil {
				s.wconn = nil
				return err
			}
		}
		tx, err = s.wconn.BeginTx(ctx, nil)
		defer func() {
			// A broken connection is replaced at the next write.
			if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
				s.wconn.Close()
				s.wconn = nil
			}
		}()
	} else {
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
