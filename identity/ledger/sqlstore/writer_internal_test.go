package sqlstore

import (
	"testing"
	"time"
)

func TestOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		d    Dialect
		opts Options
	}{
		{SQLite, Options{Writers: 2}},
		{Postgres, Options{Writers: -1}},
		{Postgres, Options{MaxBatch: -1}},
		{SQLite, Options{WriteTimeout: -time.Second}},
	} {
		if err := tc.opts.fill(tc.d); err == nil {
			t.Errorf("%v %+v: got nil error, want one", tc.d, tc.opts)
		}
	}
	o := Options{}
	if err := o.fill(Postgres); err != nil || o.Writers != DefaultPostgresWriters || o.MaxBatch != DefaultMaxBatch || o.WriteTimeout != DefaultWriteTimeout || o.CommitSpacing != DefaultCommitSpacing {
		t.Errorf("Postgres defaults: got %+v, %v", o, err)
	}
	o = Options{}
	if err := o.fill(SQLite); err != nil || o.Writers != 1 {
		t.Errorf("SQLite defaults: got %+v, %v; want one writer", o, err)
	}
	o = Options{CommitSpacing: -time.Nanosecond}
	if err := o.fill(SQLite); err != nil || o.CommitSpacing != 0 {
		t.Errorf("negative CommitSpacing: got %+v, %v; want it off (0)", o, err)
	}
}

func TestManyRows(t *testing.T) {
	got := manyRows(`INSERT INTO t (a, b) VALUES (?, ?)
ON CONFLICT (a) DO UPDATE SET b = CASE WHEN excluded.b > t.b THEN excluded.b ELSE t.b END`, 3)
	want := `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)
ON CONFLICT (a) DO UPDATE SET b = CASE WHEN excluded.b > t.b THEN excluded.b ELSE t.b END`
	if got != want {
		t.Errorf("manyRows:\n got %s\nwant %s", got, want)
	}
	if got := manyRows(recordSQL, 1); got != recordSQL {
		t.Errorf("manyRows(recordSQL, 1) changed it:\n%s", got)
	}
}
