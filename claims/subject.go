package claims

import "github.com/webchatid/webchatid/internal/headersafe"

// MaxSubjectLen is the longest sub, in bytes, that [CheckSubject] (and so
// [Builder] and [Signer]) accepts.
const MaxSubjectLen = headersafe.MaxLen

// CheckSubject reports whether sub can be a token's sub for IBM: 1 to
// [MaxSubjectLen] bytes of visible ASCII with none of ';', '=', ',', '"',
// '\\' or space. IBM copies sub into its X-Watson-Metadata header as
// customer_id, where any of those would split or fold the value.
// [Builder.Build] and [Signer.Sign] apply the same rule; CheckSubject lets
// tools check a token made elsewhere. The error names the broken rule and
// never quotes sub, so it is safe to log.
func CheckSubject(sub string) error { return headersafe.Check(sub) }
