// Package headersafe checks that a value can travel in an HTTP header field
// and in a cookie without being split, folded or reinterpreted.
//
// IBM's web chat copies the JWT's sub claim into the X-Watson-Metadata
// header as customer_id, so an anonymous ID (which becomes sub) must satisfy
// RFC 7230 field rules and avoid that header's own separators. Both package
// cookie and package claims enforce this one rule set.
package headersafe

import (
	"errors"
	"fmt"
)

// MaxLen is the longest value Check accepts, in bytes.
const MaxLen = 256

// Errors returned by Check. They name the rule, never the value.
var (
	ErrEmpty   = errors.New("value is empty")
	ErrTooLong = fmt.Errorf("value is longer than %d bytes", MaxLen)
	ErrBadChar = errors.New("value contains a byte outside visible ASCII or one of ; = , space \" \\")
)

// forbidden marks the bytes Check refuses: everything outside visible ASCII
// (0x21–0x7E) plus the separators of cookies and of X-Watson-Metadata.
var forbidden = func() (t [256]bool) {
	for i := range t {
		t[i] = i < 0x21 || i > 0x7e
	}
	for _, c := range []byte(";=,\"\\ ") {
		t[c] = true
	}
	return t
}()

// Check reports whether s is 1 to MaxLen bytes of visible ASCII containing
// none of ';', '=', ',', '"', '\\' or space. The error says which rule failed
// and never quotes s, so it is safe to log.
func Check(s string) error {
	if s == "" {
		return ErrEmpty
	}
	if len(s) > MaxLen {
		return ErrTooLong
	}
	for i := 0; i < len(s); i++ {
		if forbidden[s[i]] {
			return fmt.Errorf("%w (at byte %d)", ErrBadChar, i)
		}
	}
	return nil
}
