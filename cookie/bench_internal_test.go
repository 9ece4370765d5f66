package cookie

import (
	"net/http"
	"testing"
)

// headerWriter is a ResponseWriter that only keeps headers, reset per
// iteration, so the benchmarks measure GetOrSet and not a recorder.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(int)             {}

func BenchmarkGetOrSet(b *testing.B) {
	plain := mustAnonymous(b, Config{})
	bound := mustAnonymous(b, Config{BindingKeys: [][]byte{secretKey(1), secretKey(2)}})
	cases := []struct {
		name string
		a    *Anonymous
		r    *http.Request
	}{
		{"new", plain, request(true)},
		{"existing", plain, request(true, DefaultName+"="+validID)},
		{"bound/new", bound, request(true)},
		{"bound/existing", bound, request(true, DefaultName+"="+bound.plain.bind.sign(validID))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &headerWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				if _, _, err := c.a.GetOrSet(w, c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	s := mustSealer(b, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}})
	p := []byte(`{"custom_user_id":"alice@example.com","name":"Alice Example","exp":1767225600}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := s.Seal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	p := []byte(`{"custom_user_id":"alice@example.com","name":"Alice Example","exp":1767225600}`)
	old := mustSealer(b, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(2)}})
	s := mustSealer(b, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1), secretKey(2)}})
	current, _ := s.Seal(p)
	rotated, _ := old.Seal(p)
	for _, c := range []struct{ name, v string }{{"first key", current}, {"second key", rotated}, {"garbage", current[:len(current)-4] + "AAAA"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				_, _ = s.Open(c.v)
			}
		})
	}
}
