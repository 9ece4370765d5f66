// Package anonkey turns a canonical anonymous ID, "anon-" and a lowercase
// 8-4-4-4-12 hex UUID (what package cookie mints by default), into its 16
// bytes and back, so that the ledger's in-memory sets can key such IDs by
// a pointer-free array instead of a 41-byte string. Every other ID is not
// canonical and is kept as the string it is: spellings are never folded.
// The UUID's text form is internal/uuidtext's, the one package cookie
// writes.
package anonkey

import "github.com/webchatid/webchatid/internal/uuidtext"

// Prefix is the prefix of the anonymous IDs package cookie mints by default
// (cookie.DefaultPrefix; this package imports nothing).
const Prefix = "anon-"

// Len is the length of a canonical ID: Prefix and a UUID in 8-4-4-4-12 form.
const Len = len(Prefix) + uuidtext.Len

// UUID is the 16 bytes of the UUID of a canonical anonymous ID.
type UUID [16]byte

// Parse reports whether id is canonical, exactly Prefix and a lowercase
// 8-4-4-4-12 hex UUID, and if so returns its bytes. For a canonical id,
// u.String() == id; every other id gets false.
func Parse(id string) (u UUID, canonical bool) {
	if len(id) != Len || id[:len(Prefix)] != Prefix {
		return u, false
	}
	return uuidtext.Decode(id[len(Prefix):])
}

// String returns the canonical anonymous ID of u.
func (u UUID) String() string {
	var b [Len]byte
	copy(b[:], Prefix)
	uuidtext.Encode((*[uuidtext.Len]byte)(b[len(Prefix):]), u)
	return string(b[:])
}
