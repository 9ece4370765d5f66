// Package anonkey turns a canonical anonymous ID, "anon-" and a lowercase
// 8-4-4-4-12 hex UUID (what package cookie mints by default), into its 16
// bytes and back, so that the ledger's in-memory sets can key such IDs by
// a pointer-free array instead of a 41-byte string. Every other ID is not
// canonical and is kept as the string it is: spellings are never folded.
package anonkey

// Prefix is the prefix of the anonymous IDs package cookie mints by default
// (cookie.DefaultPrefix; this package imports nothing).
const Prefix = "anon-"

// Len is the length of a canonical ID: Prefix and a UUID in 8-4-4-4-12 form.
const Len = len(Prefix) + 36

// UUID is the 16 bytes of the UUID of a canonical anonymous ID.
type UUID [16]byte

// Parse reports whether id is canonical, exactly Prefix and a lowercase
// 8-4-4-4-12 hex UUID, and if so returns its bytes. For a canonical id,
// u.String() == id; every other id gets false.
func Parse(id string) (u UUID, canonical bool) {
	if len(id) != Len || id[:len(Prefix)] != Prefix {
		return u, false
	}
	s := id[len(Prefix):]
	j := 0
	for i := 0; i < len(s); {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

// fromHex decodes a lowercase hex digit.
func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// String returns the canonical anonymous ID of u.
func (u UUID) String() string {
	const digits = "0123456789abcdef"
	var b [Len]byte
	copy(b[:], Prefix)
	i := len(Prefix)
	for j, c := range u {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			b[i] = '-'
			i++
		}
		b[i] = digits[c>>4]
		b[i+1] = digits[c&0x0f]
		i += 2
	}
	return string(b[:])
}
