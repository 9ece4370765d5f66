package identity

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity/internal/admission"
	"github.com/webchatid/webchatid/identity/internal/reuse"
)

// pollOnHandover turns on admission.Config.PollOnHandover: each freed
// signing slot reaches the next waiter through the runtime's network
// poller, so that while every P is signing the server still reads newly
// arrived requests at each handover (about every millisecond) rather than
// every 10 ms or so, and answers its refusals in time. identity's own
// tests turn it off (pollhandover_internal_test.go): a goroutine blocked on a
// pipe is never durably blocked, so synctest bubbles would not settle.
var pollOnHandover = true

// ErrOverloaded means the Server refused to sign a token because too many
// were being signed already (see [AdmissionConfig]). The token handler
// answers 503 with Retry-After: 1; a custom handler using [Server.Token]
// should do the same.
var ErrOverloaded = errors.New("identity: overloaded, retry later")

// Defaults of [AdmissionConfig] and [ReuseConfig].
const (
	// DefaultQueuePerSlot times MaxConcurrent is the default
	// AdmissionConfig.MaxQueue, a ceiling: the wait expected from the
	// measured signing speed usually refuses first (with signatures of a
	// millisecond, a full queue would drain in about 64 ms).
	DefaultQueuePerSlot = 64
	// DefaultMaxWait is the default AdmissionConfig.MaxWait.
	DefaultMaxWait = 100 * time.Millisecond
	// DefaultReuseSize is the default ReuseConfig.Size.
	DefaultReuseSize = 10_000
	// DefaultMinRemaining is the default ReuseConfig.MinRemaining.
	DefaultMinRemaining = 0.8
)

// AdmissionConfig bounds how many tokens a Server signs at once
// (Config.Admission). An RSA signature costs about a millisecond of one
// core; without a bound, a burst of requests makes every one of them slow
// (on two cores, 512 at once each wait about a quarter of a second and the
// slowest seconds). With it, at most MaxConcurrent are signed at once, up
// to MaxQueue more wait their turn first come first served for at most
// MaxWait, and the rest are refused with 503 and Retry-After: 1
// (webchatid.js retries after it), so the answered requests stay fast.
// The Server measures how fast signing slots come free while all are
// busy, and a request that would wait longer than 3/4 of MaxWait at that
// rate (the rest is margin for the estimate), or that finds the queue
// full, is refused at once, in microseconds and
// before its ledger write (the visitor's next token records its ID); the
// queue's effective length therefore follows the machine's signing speed,
// and MaxQueue is only a ceiling. The estimate corrects itself: it is
// multiplied by the 99th percentile of how much longer than expected the
// recent long waits turned out (never by less than 1/2 or more than 4),
// so on a host whose signing speed wavers (other processes, garbage
// collection, a database commit) the queue shortens at once and few
// requests wait MaxWait only to be refused; a request that was expected in
// time but still waited MaxWait is refused then. Only signing is admitted: a token
// found in the reuse cache ([ReuseConfig]) never waits. Refusals are
// counted in [Stats] and logged at most once a second. The zero value is
// admission with the defaults below.
type AdmissionConfig struct {
	// MaxConcurrent is how many tokens are signed at once. It must not be
	// negative. If zero, runtime.GOMAXPROCS(0) at New is used: one
	// signature per core.
	MaxConcurrent int

	// MaxQueue is how many requests may wait for a signing slot. It must
	// not be negative. If zero, DefaultQueuePerSlot × MaxConcurrent is
	// used.
	MaxQueue int

	// MaxWait is the longest a request waits for a signing slot before it
	// is refused. It must not be negative, nor longer than Config.TTL. If
	// zero, [DefaultMaxWait] (100 ms) is used.
	MaxWait time.Duration

	// Disabled turns admission off: every request signs at once, however
	// many there are. The default is false.
	Disabled bool
}

// ReuseConfig configures the token reuse cache (Config.Reuse). Sites ask
// for a token on every page load, so a returning visitor asks again and
// again for a token with the same claims; with the cache, a token whose
// claims other than iat and exp are the same (the same signing key, sub,
// user_payload before encryption, context and other claims, and lifetime)
// and which has at least MinRemaining of its lifetime left is handed out
// again instead of signing a new one. The token is then byte for byte the
// one the visitor was given before, with its iat and exp.
//
// It is safe: the cache is keyed by an HMAC (with a random key per Server)
// of those claims, sub included, and checks sub again on a hit, so a
// visitor only ever gets a token it could have been signed anew; a login
// or logout changes user_payload and so the key; a new set of signing keys
// ([Server.RotateKeys], or [Server.Rotate] with Keys.SigningKeys) empties
// the cache (rotating only session or binding keys does not: the tokens
// stay what they would be). Tokens with a jti (set by Config.Claims) are never
// reused, since a jti promises one token per request. Memory is bounded by
// Size (a token is about 0.5 to 1.5 KB). The zero value is the cache with
// the defaults below.
type ReuseConfig struct {
	// Size is the most tokens the cache keeps; the least recently used
	// go first. It must not be negative. If zero, [DefaultReuseSize]
	// (10 000) is used. An entry costs about 1–1.5 KB of heap, most of it
	// the token: the demo's anonymous token with an encrypted user_payload
	// is 1 046 bytes, and its entry 1 455 bytes in all (reuse's
	// BenchmarkFullCacheHeap), 14.5 MB at the default size.
	Size int

	// MinRemaining is the share of a token's lifetime (exp − iat) that
	// must be left for it to be handed out again: with 0.8 and a one-hour
	// TTL, a token is reused for 12 minutes. It must be in [0, 1]. If zero,
	// [DefaultMinRemaining] (0.8) is used.
	MinRemaining float64

	// Disabled turns the cache off: every token is signed anew. The
	// default is false.
	Disabled bool
}

// tokenPath is the Server's admission control and reuse cache; nil fields
// are turned off.
type tokenPath struct {
	admit   *admission.Controller
	reuse   *reuse.Cache
	shedLog admission.BurstLog
	keyBufs sync.Pool // of *[]byte, the buffers reuseKey encodes claims into
}

// newTokenPath checks cfg's Admission and Reuse fields and builds them.
func newTokenPath(cfg *Config) (*tokenPath, error) {
	tp := &tokenPath{}
	if a := cfg.Admission; !a.Disabled {
		switch {
		case a.MaxConcurrent < 0:
			return nil, fmt.Errorf("identity: Config.Admission.MaxConcurrent: %d is negative", a.MaxConcurrent)
		case a.MaxQueue < 0:
			return nil, fmt.Errorf("identity: Config.Admission.MaxQueue: %d is negative", a.MaxQueue)
		case a.MaxWait < 0:
			return nil, fmt.Errorf("identity: Config.Admission.MaxWait: %v is negative", a.MaxWait)
		case a.MaxWait > cfg.TTL:
			return nil, fmt.Errorf("identity: Config.Admission.MaxWait: %v is longer than Config.TTL (%v)", a.MaxWait, cfg.TTL)
		}
		a.MaxConcurrent = cmp.Or(a.MaxConcurrent, runtime.GOMAXPROCS(0))
		a.MaxQueue = cmp.Or(a.MaxQueue, DefaultQueuePerSlot*a.MaxConcurrent)
		a.MaxWait = cmp.Or(a.MaxWait, DefaultMaxWait)
		c, err := admission.New(admission.Config{
			MaxConcurrent: a.MaxConcurrent, MaxQueue: a.MaxQueue, MaxWait: a.MaxWait,
			PollOnHandover: pollOnHandover,
		})
		if err != nil {
			return nil, fmt.Errorf("identity: Config.Admission: %w", err)
		}
		tp.admit = c
	}
	if r := cfg.Reuse; !r.Disabled {
		switch {
		case r.Size < 0:
			return nil, fmt.Errorf("identity: Config.Reuse.Size: %d is negative", r.Size)
		case !(r.MinRemaining >= 0 && r.MinRemaining <= 1): // NaN too
			return nil, fmt.Errorf("identity: Config.Reuse.MinRemaining: %v, need a share from 0 to 1", r.MinRemaining)
		}
		r.Size = cmp.Or(r.Size, DefaultReuseSize)
		r.MinRemaining = cmp.Or(r.MinRemaining, DefaultMinRemaining)
		c, err := reuse.New(reuse.Config{Size: r.Size, MinRemaining: r.MinRemaining})
		if err != nil {
			return nil, fmt.Errorf("identity: Config.Reuse: %w", err)
		}
		tp.reuse = c
	}
	return tp, nil
}

// reuseKey is the cache key of the claims cs (user_payload still in
// clear) for the keys st: the kid, the key set's epoch and the target
// (st.reuseID), and cs's canonical encoding ([claims.Set.AppendKey]: every
// claim but iat and exp, and the lifetime). ok is false for a token that
// must not be reused (one with a jti).
func (s *Server) reuseKey(cs *claims.Set, st *keyState) (k reuse.Key, ok bool) {
	if _, has := cs.JWTID(); has {
		return k, false
	}
	buf, _ := s.path.keyBufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = cs.AppendKey((*buf)[:0])
	k = s.path.reuse.Key(st.reuseID[0], st.reuseID[1], st.reuseID[2], *buf)
	if cap(*buf) <= maxKeyBuf {
		clear(*buf) // it held claims in clear
		s.path.keyBufs.Put(buf)
	}
	return k, true
}

// maxKeyBuf bounds the buffers reuseKey gives back to its pool (an app's
// claims may be large).
const maxKeyBuf = 16 << 10

// number gives st a new epoch, so that the reuse cache hands out no token
// signed with another key state, and the parts of reuse keys that follow
// from it, once here rather than on every request. The caller is New or
// holds rotateMu.
func (s *Server) number(st *keyState) {
	s.keyEpoch++
	st.epoch = s.keyEpoch
	st.reuseID = [3][]byte{
		[]byte(st.active.KeyID()),
		strconv.AppendUint(nil, st.epoch, 10),
		strconv.AppendInt(nil, int64(s.cfg.Target), 10),
	}
}

// sign finishes tok (encrypting user_payload for IBM) and signs it with st,
// within admission control, and stores it in the reuse cache under key.
func (s *Server) sign(ctx context.Context, tok jwt.Token, st *keyState, key reuse.Key, cache bool) (string, error) {
	if a := s.path.admit; a != nil {
		if err := a.Acquire(ctx); err != nil {
			s.refused(ctx, err)
			return "", fmt.Errorf("%w: %w", ErrOverloaded, err)
		}
		defer a.Release()
		// Let goroutines that became runnable while every core was signing
		// (requests just read from the network, answers to write, refusals)
		// run before this signature's millisecond of CPU. Without it, a
		// slot handed to a waiter runs next on the same P, signature after
		// signature, and goroutines woken by the network wait in the global
		// run queue, which a busy P looks at once in 61 turns: on two cores
		// at c512 that added about 80 ms to the median refusal and doubled
		// the admitted p99 (BENCHMARKS.md, "Admission").
		runtime.Gosched()
	}
	if s.ibm != nil {
		// Encrypted here, not by the builder, so that the cache key above
		// is of the clear text: the encryption is randomized.
		if v, ok := tok.Get(claims.UserPayloadClaim); ok {
			if text, ok := v.(json.RawMessage); ok {
				ct, err := s.cfg.PayloadScheme.Encrypt(s.ibm, text)
				if err != nil {
					return "", fmt.Errorf("%w: %s: %w", ErrClaims, claims.UserPayloadClaim, err)
				}
				if err := tok.Set(claims.UserPayloadClaim, ct); err != nil {
					return "", fmt.Errorf("%w: %s: %w", ErrClaims, claims.UserPayloadClaim, err)
				}
			}
		}
	}
	signed, err := st.active.Sign(tok)
	if err != nil {
		return "", fmt.Errorf("identity: signing: %w", err)
	}
	if cache {
		s.path.reuse.Put(key, reuse.Entry{Token: signed, Subject: tok.Subject(), Epoch: st.epoch, IssuedAt: tok.IssuedAt(), Expires: tok.Expiration()})
	}
	return signed, nil
}

// refused logs a request that admission refused, at most one line a second
// for a burst of them.
func (s *Server) refused(ctx context.Context, err error) {
	if n, ok := s.path.shedLog.Refused(time.Now()); ok {
		s.log().LogAttrs(ctx, slog.LevelWarn, "identity: too many tokens to sign at once; refusing requests with 503 and Retry-After (logged at most once a second)",
			slog.Uint64("refused", n), slog.String("reason", err.Error()))
	}
}

// tokenPathStats fills the admission and reuse counters of st.
func (s *Server) tokenPathStats(st *Stats) {
	if a := s.path.admit; a != nil {
		as := a.Stats()
		st.Admitted, st.Queued, st.Abandoned = as.Admitted, as.Queued, as.Abandoned
		st.Shed, st.ShedLate = as.QueueFull+as.Expected+as.TimedOut, as.TimedOut
		st.Signing, st.Waiting = as.Running, as.Waiting
	}
	if r := s.path.reuse; r != nil {
		rs := r.Stats()
		st.ReuseHits, st.ReuseMisses, st.ReuseEntries = rs.Hits, rs.Misses, rs.Len
	}
}
