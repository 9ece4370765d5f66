package memstore

// anonPrefix is the prefix of the anonymous IDs package cookie mints by
// default (cookie.DefaultPrefix; memstore imports only the standard library).
const anonPrefix = "anon-"

// canonicalLen is the length of anonPrefix and a UUID in 8-4-4-4-12 form.
const canonicalLen = len(anonPrefix) + 36

// uuidKey is the 16 bytes of the UUID of a canonical anonymous ID.
type uuidKey [16]byte

// parseID reports whether id is canonical, exactly anonPrefix and a
// lowercase 8-4-4-4-12 hex UUID, and if so returns its bytes. For a
// canonical id, k.String() == id; every other id gets false, so that it is
// kept as the string it is.
func parseID(id string) (k uuidKey, canonical bool) {
	if len(id) != canonicalLen || id[:len(anonPrefix)] != anonPrefix {
		return k, false
	}
	u := id[len(anonPrefix):]
	j := 0
	for i := 0; i < len(u); {
		switch i {
		case 8, 13, 18, 23:
			if u[i] != '-' {
				return k, false
			}
			i++
			continue
		}
		hi, ok1 := fromHex(u[i])
		lo, ok2 := fromHex(u[i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[j] = hi<<4 | lo
		j++
		i += 2
	}
	return k, true
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

// String returns the canonical anonymous ID of k.
func (k uuidKey) String() string {
	const digits = "0123456789abcdef"
	var b [canonicalLen]byte
	copy(b[:], anonPrefix)
	i := len(anonPrefix)
	for j, c := range k {
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
