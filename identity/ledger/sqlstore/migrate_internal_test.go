package sqlstore

import (
	"reflect"
	"testing"
)

// An untyped key becomes an int where it is formatted, and overflows where
// int has 32 bits: the package would not build for GOARCH=386 or arm.
func TestAdvisoryLockKeyFitsEveryPlatform(t *testing.T) {
	if got := reflect.TypeOf(advisoryLockKey).Kind(); got != reflect.Int64 {
		t.Errorf("advisoryLockKey: got kind %v, want int64", got)
	}
}
