// Package reuse is a bounded cache of signed tokens, so that a visitor who
// asks again for a token with the same claims gets the one it was given,
// while that one still has most of its lifetime left, instead of a new
// signature. It is the token path's ReuseTokenSource (golang.org/x/oauth2):
// a decorator in front of the signer.
//
// Entries are keyed by a keyed hash ([Cache.Key]: HMAC-SHA-256 with a
// random key per Cache) of everything that makes a token what it is except
// its times, so two requests share an entry only when their tokens would
// say the same; the subject is part of the key and checked again on a hit,
// so no visitor ever gets another's token. Memory is bounded: least
// recently used entries are evicted beyond Size.
package reuse

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config sizes a [Cache]. All fields are required.
type Config struct {
	// Size is the most tokens the cache holds. It must be at least 1.
	Size int

	// MinRemaining is the share of a token's lifetime (exp − iat) that
	// must be left for it to be handed out again, in (0, 1].
	MinRemaining float64
}

// Key identifies the claims of a token apart from its times.
type Key [sha256.Size]byte

// Entry is a signed token with what a hit checks.
type Entry struct {
	Token    string
	Subject  string
	Epoch    uint64 // of the signing keys that made it
	IssuedAt time.Time
	Expires  time.Time
}

// Cache is a bounded LRU of signed tokens. It is safe for concurrent use.
type Cache struct {
	cfg Config
	mac []byte // HMAC key, random per Cache

	macs sync.Pool // of *macState

	mu    sync.Mutex
	lru   *list.List // of *item, most recent first
	items map[Key]*list.Element

	hits, misses, evicted atomic.Uint64
}

// macState is a keyed HMAC with its scratch space, pooled so that Key
// allocates nothing.
type macState struct {
	h   hash.Hash
	n   [8]byte
	sum []byte
}

type item struct {
	key Key
	e   Entry
}

// New returns an empty Cache for cfg, or an error naming the invalid field.
func New(cfg Config) (*Cache, error) {
	switch {
	case cfg.Size < 1:
		return nil, fmt.Errorf("reuse: Size %d, need at least 1", cfg.Size)
	case !(cfg.MinRemaining > 0 && cfg.MinRemaining <= 1):
		return nil, fmt.Errorf("reuse: MinRemaining %v, need a share in (0, 1]", cfg.MinRemaining)
	}
	c := &Cache{cfg: cfg, mac: make([]byte, 32), lru: list.New(), items: make(map[Key]*list.Element)}
	if _, err := rand.Read(c.mac); err != nil {
		return nil, err
	}
	c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, c.mac), sum: make([]byte, 0, sha256.Size)} }
	return c, nil
}

// Key hashes the parts of a token, each length-prefixed so that no two
// different lists of parts hash alike.
func (c *Cache) Key(parts ...[]byte) Key {
	st := c.macs.Get().(*macState)
	st.h.Reset()
	for _, p := range parts {
		binary.BigEndian.PutUint64(st.n[:], uint64(len(p)))
		st.h.Write(st.n[:])
		st.h.Write(p)
	}
	st.sum = st.h.Sum(st.sum[:0])
	var k Key
	copy(k[:], st.sum)
	c.macs.Put(st)
	return k
}

// Get returns the token stored under k if it was made for sub by the keys
// of epoch and has at least Config.MinRemaining of its lifetime left at
// now. A stored token that no longer qualifies is dropped.
func (c *Cache) Get(k Key, sub string, epoch uint64, now time.Time) (Entry, bool) {
	c.mu.Lock()
	el, ok := c.items[k]
	if ok {
		e := el.Value.(*item).e
		if e.Subject == sub && e.Epoch == epoch && c.fresh(e, now) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			c.hits.Add(1)
			return e, true
		}
		c.remove(el)
	}
	c.mu.Unlock()
	c.misses.Add(1)
	return Entry{}, false
}

// fresh reports whether e has at least MinRemaining of its lifetime left.
func (c *Cache) fresh(e Entry, now time.Time) bool {
	life := e.Expires.Sub(e.IssuedAt)
	if life <= 0 || now.Before(e.IssuedAt) {
		return false
	}
	return float64(e.Expires.Sub(now)) >= c.cfg.MinRemaining*float64(life)
}

// Put stores e under k, evicting the least recently used entry if the
// cache is full. It keeps its own copy of e.Subject: a sub is often a
// substring of a request's Cookie header, which the entry would otherwise
// keep alive, whole, for as long as it is cached. (e.Token, a signer's
// output, is a string of its own.)
func (c *Cache) Put(k Key, e Entry) {
	e.Subject = strings.Clone(e.Subject)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*item).e = e
		c.lru.MoveToFront(el)
		return
	}
	c.items[k] = c.lru.PushFront(&item{key: k, e: e})
	for c.lru.Len() > c.cfg.Size {
		c.remove(c.lru.Back())
		c.evicted.Add(1)
	}
}

func (c *Cache) remove(el *list.Element) {
	delete(c.items, el.Value.(*item).key)
	c.lru.Remove(el)
}

// Flush drops every entry (after a key rotation).
func (c *Cache) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.items)
}

// Stats are a Cache's counters since New, and its size now.
type Stats struct {
	Hits    uint64 // Get calls that returned a token
	Misses  uint64 // Get calls that did not
	Evicted uint64 // entries dropped to stay within Size
	Len     int    // entries now
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	n := c.lru.Len()
	c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evicted: c.evicted.Load(), Len: n}
}
