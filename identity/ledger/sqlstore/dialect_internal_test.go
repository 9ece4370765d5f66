package sqlstore

import (
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	const q = "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	for _, tc := range []struct {
		d    Dialect
		want string
	}{
		{SQLite, q},
		{Postgres, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
	} {
		if got := tc.d.rebind(q); got != tc.want {
			t.Errorf("%v.rebind: got %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestSQLiteTimesSortAsText(t *testing.T) {
	zone := time.FixedZone("UTC+9", 9*3600)
	times := []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC), // one microsecond later
		time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		time.Date(2026, 1, 2, 12, 4, 7, 0, zone), // 03:04:07 UTC
	}
	prev := ""
	for _, tm := range times {
		s := SQLite.timeArg(tm).(string)
		if len(s) != len(timeFormat) {
			t.Errorf("timeArg(%v) = %q: got length %d, want fixed %d", tm, s, len(s), len(timeFormat))
		}
		if s <= prev {
			t.Errorf("timeArg(%v) = %q: want it to sort after %q", tm, s, prev)
		}
		prev = s
		var back dbTime
		if err := back.Scan(s); err != nil || !back.t.Equal(tm) || back.t.Location() != time.UTC {
			t.Errorf("Scan(%q): got %v, %v; want %v in UTC", s, back.t, err, tm)
		}
	}
}

func TestTimesAreTruncatedToTheMicrosecond(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	if got := Postgres.timeArg(tm).(time.Time); !got.Equal(want) {
		t.Errorf("Postgres.timeArg: got %v, want %v", got, want)
	}
	if got, wantS := SQLite.timeArg(tm).(string), "2026-01-02T03:04:05.123456Z"; got != wantS {
		t.Errorf("SQLite.timeArg: got %q, want %q", got, wantS)
	}
}

func TestDBTimeScan(t *testing.T) {
	zone := time.FixedZone("UTC-3", -3*3600)
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, src := range []any{want.In(zone), "2026-01-02T03:04:05.000000Z", []byte("2026-01-02T00:04:05-03:00")} {
		var v dbTime
		if err := v.Scan(src); err != nil || !v.t.Equal(want) || v.t.Location() != time.UTC {
			t.Errorf("Scan(%v): got %v, %v; want %v in UTC", src, v.t, err, want)
		}
	}
	for _, src := range []any{int64(5), "yesterday", nil} {
		var v dbTime
		if err := v.Scan(src); err == nil {
			t.Errorf("Scan(%v): got nil error, want one", src)
		}
	}
}

func TestDialectString(t *testing.T) {
	for d, want := range map[Dialect]string{SQLite: "sqlite", Postgres: "postgres", 0: "Dialect(0)"} {
		if got := d.String(); got != want {
			t.Errorf("String: got %q, want %q", got, want)
		}
	}
}
