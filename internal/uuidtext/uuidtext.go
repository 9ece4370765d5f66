// Package uuidtext writes and reads a UUID in its canonical text form,
// 8-4-4-4-12 lowercase hex digits, without allocating. It is the one
// definition of that form in the module: package cookie mints and checks
// anonymous IDs with it, and the ledger's compact maps
// (identity/ledger/internal/anonkey) recognise those IDs by it, so what one
// writes the other always reads. Standard library only.
package uuidtext

// Len is the length of the canonical form.
const Len = 36

// Encode writes u to dst in canonical form.
func Encode(dst *[Len]byte, u [16]byte) {
	const digits = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = digits[c>>4]
		dst[j+1] = digits[c&0x0f]
		j += 2
	}
}

// Decode returns the bytes of s if s is in canonical form: exactly Len
// bytes, lowercase hex digits with dashes at 8, 13, 18 and 23. Any other
// spelling (upper case, braces, a URN) is refused, so Decode(s) succeeds
// only where Encode gives s back.
func Decode(s string) (u [16]byte, ok bool) {
	if len(s) != Len {
		return u, false
	}
	j := 0
	for i := 0; i < Len; {
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
