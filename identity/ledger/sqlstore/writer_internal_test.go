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
	if err := o.fill(Postgres); err != nil || o.Writers != DefaultPostgresWriters || o.MaxBatch != DefaultMaxBatch || o.WriteTimeout != DefaultWriteTimeout {
		t.Errorf("Postgres defaults: got %+v, %v", o, err)
	}
	o = Options{}
	if err := o.fill(SQLite); err != nil || o.Writers != 1 {
		t.Errorf("SQLite defaults: got %+v, %v; want one writer", o, err)
	}
}
