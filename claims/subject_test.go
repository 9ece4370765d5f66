package claims_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/webchatid/webchatid/claims"
)

func TestCheckSubject(t *testing.T) {
	for _, tc := range []struct {
		sub string
		ok  bool
	}{
		{"anon-6f1c1b4e-2b1a-4c55-9d7e-0a6c4c1f2e3d", true},
		{"user-cade", true},
		{strings.Repeat("a", claims.MaxSubjectLen), true},
		{strings.Repeat("a", claims.MaxSubjectLen+1), false},
		{"", false},
		{"cade x", false},
		{"cade;x", false},
		{"cade=x", false},
		{"cade,x", false},
		{`cade"x`, false},
		{`cade\x`, false},
		{"cade\x7fx", false},
		{"cadé", false},
	} {
		err := claims.CheckSubject(tc.sub)
		if (err == nil) != tc.ok {
			t.Errorf("CheckSubject(%q) = %v, want ok=%v", tc.sub, err, tc.ok)
		}
		if err != nil && len(tc.sub) >= 4 && strings.Contains(err.Error(), tc.sub) {
			t.Errorf("CheckSubject(%q)'s error quotes the sub: %v", tc.sub, err)
		}
		// Builder applies the same rule.
		_, berr := claims.NewBuilder().Subject(tc.sub).Build()
		if (berr == nil) != tc.ok {
			t.Errorf("Builder with sub %q: err = %v, want ok=%v", tc.sub, berr, tc.ok)
		}
	}
}

func ExampleCheckSubject() {
	for _, sub := range []string{"anon-6f1c1b4e-2b1a-4c55-9d7e-0a6c4c1f2e3d", "cade; admin"} {
		fmt.Println(claims.CheckSubject(sub) == nil)
	}
	// Output:
	// true
	// false
}
