package cookie

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
)

const (
	// minBindingKeyLen is the shortest key Config.BindingKeys accepts, in
	// bytes: the output size of SHA-256, so the key is never the weak link.
	minBindingKeyLen = 32

	// bindSep separates the ID from its MAC in a bound cookie value. It is a
	// valid cookie-octet and passes the header-safety check, base64url never
	// produces it, and IDs are refused if they contain it, so a value splits
	// in exactly one way.
	bindSep = '.'

	// tagSize is the MAC length in bytes: HMAC-SHA256 truncated to 128 bits
	// (as RFC 4868 does for IPsec). Guessing a tag takes 2^128 online tries,
	// and the short tag keeps the cookie small (22 characters in base64url).
	tagSize = 16
	tagLen  = 22 // base64url without padding of tagSize bytes

	// adoptMark starts the MAC of an ID accepted without one during
	// Config.AcceptUnboundUntil: id "." "~" MAC. '~' is a cookie-octet that
	// base64url never produces, and such MACs are made with their own
	// context, so the mark cannot be removed or added.
	adoptMark = "~"

	// Contexts of the two kinds of MAC, appended to the cookie name.
	bindContext  = "\x00"
	adoptContext = "\x01"
)

// adoptedValue is the cookie value for an ID accepted unbound: bound, so
// it is re-set like any other, but marked as not proven.
func adoptedValue(b *binder, id string) string {
	v := b.sign(id)
	return v[:len(id)+1] + adoptMark + v[len(id)+1:]
}

// b64 is base64url without padding that refuses non-zero trailing bits, so
// each byte string has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// binder MACs anonymous IDs so that knowing an ID (it is the sub of every
// token the browser holds) is not enough to present it as one's own cookie.
// It is immutable and safe for concurrent use.
type binder struct {
	keys []*macKey // keys[0] signs; all verify
}

// macKey pools keyed HMAC states for one key, so a MAC allocates nothing.
type macKey struct {
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	buf []byte // context || id
	sum []byte
}

// newBinder returns a binder for the cookie called name and the kind of MAC
// kind stands for (bindContext or adoptContext). The caller has checked the
// key lengths.
func newBinder(name, kind string, keys [][]byte) *binder {
	// The MAC covers name || kind || id: an ID bound for one cookie cannot be
	// moved to another cookie that shares the key, nor an adopted MAC
	// passed off as a proven one. Control characters cannot occur in a
	// cookie name, so the split is unambiguous.
	context := name + kind
	b := &binder{keys: make([]*macKey, len(keys))}
	for i, key := range keys {
		key := append([]byte(nil), key...) // not aliased with the caller's slice
		b.keys[i] = &macKey{pool: sync.Pool{New: func() any {
			return &macState{
				h:   hmac.New(sha256.New, key),
				buf: append(make([]byte, 0, len(context)+64), context...),
				sum: make([]byte, 0, sha256.Size),
			}
		}}}
	}
	return b
}

// mac writes the truncated MAC of id under key k into out.
func (b *binder) mac(k int, id string, out *[tagSize]byte) {
	mk := b.keys[k]
	st := mk.pool.Get().(*macState)
	n := len(st.buf)
	st.buf = append(st.buf, id...)
	st.h.Reset()
	st.h.Write(st.buf)
	st.sum = st.h.Sum(st.sum[:0])
	copy(out[:], st.sum)
	st.buf = st.buf[:n]
	mk.pool.Put(st)
}

// sign returns the bound cookie value for id: id "." base64url(MAC), with the
// first key.
func (b *binder) sign(id string) string {
	var tag [tagSize]byte
	var enc [tagLen]byte
	b.mac(0, id, &tag)
	b64.Encode(enc[:], tag[:])
	var sb strings.Builder
	sb.Grow(len(id) + 1 + tagLen)
	sb.WriteString(id)
	sb.WriteByte(bindSep)
	sb.Write(enc[:])
	return sb.String()
}

// verify reports whether tag is a MAC of id under one of the keys, and which
// (the first that matches). It computes and compares the MAC under every key
// in constant time, so its timing says nothing about the tag or the key.
func (b *binder) verify(id, tag string) (key int, ok bool) {
	if len(tag) != tagLen {
		return -1, false
	}
	var got [tagSize]byte
	if n, err := b64.Decode(got[:], []byte(tag)); err != nil || n != tagSize {
		return -1, false
	}
	key = -1
	var want [tagSize]byte
	for i := range b.keys {
		b.mac(i, id, &want)
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 && key < 0 {
			key = i
		}
	}
	return key, key >= 0
}
