package reuse_test

import (
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/webchatid/webchatid/identity/internal/reuse"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func newCache(t testing.TB, size int, minRemaining float64) *reuse.Cache {
	t.Helper()
	c, err := reuse.New(reuse.Config{Size: size, MinRemaining: minRemaining})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func entry(tok, sub string) reuse.Entry {
	return reuse.Entry{Token: tok, Subject: sub, Epoch: 1, IssuedAt: t0, Expires: t0.Add(time.Hour)}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []reuse.Config{{Size: 0, MinRemaining: 0.8}, {Size: 1, MinRemaining: 0}, {Size: 1, MinRemaining: 1.5}} {
		if _, err := reuse.New(cfg); err == nil {
			t.Errorf("New(%+v): got no error", cfg)
		}
	}
}

func TestKeyIsLengthPrefixedAndKeyed(t *testing.T) {
	c := newCache(t, 10, 0.8)
	if c.Key([]byte("ab"), []byte("c")) == c.Key([]byte("a"), []byte("bc")) {
		t.Error("parts ab|c and a|bc hash alike")
	}
	if k1, k2 := c.Key([]byte("x")), c.Key([]byte("x")); k1 != k2 {
		t.Error("the same parts hash differently")
	}
	if other := newCache(t, 10, 0.8); other.Key([]byte("x")) == c.Key([]byte("x")) {
		t.Error("two caches share their HMAC key")
	}
}

func TestHitNeedsSameSubAndEpoch(t *testing.T) {
	c := newCache(t, 10, 0.8)
	k := c.Key([]byte("claims"))
	c.Put(k, entry("tok-a", "anon-a"))
	if e, ok := c.Get(k, "anon-a", 1, t0); !ok || e.Token != "tok-a" {
		t.Fatalf("same sub: got (%q, %v), want tok-a", e.Token, ok)
	}
	if e, ok := c.Get(k, "anon-b", 1, t0); ok {
		t.Fatalf("another sub got %q", e.Token)
	}
	c.Put(k, entry("tok-a", "anon-a"))
	if _, ok := c.Get(k, "anon-a", 2, t0); ok {
		t.Fatal("a token of old keys (epoch 1) was reused under epoch 2")
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 2 || st.Len != 0 {
		t.Errorf("Stats: got %+v, want 1 hit, 2 misses, the refused entries dropped", st)
	}
}

// A sub cut from a request's Cookie header must not keep the whole header
// alive while its token is cached (10 000 entries × a site's few-KB Cookie
// header would be tens of MB).
func TestPutKeepsItsOwnCopyOfTheSubject(t *testing.T) {
	c := newCache(t, 10, 0.8)
	header := "ANONYMOUS-USER-ID=anon-0b9f4a52-6f0e-4c4b-9d43-2b1a8f3c0e11; _ga=" + strings.Repeat("x", 4096)
	sub := header[len("ANONYMOUS-USER-ID=") : len("ANONYMOUS-USER-ID=")+41]
	k := c.Key([]byte("claims"))
	c.Put(k, entry("tok", sub))
	e, ok := c.Get(k, sub, 1, t0)
	if !ok || e.Subject != sub {
		t.Fatalf("Get: got (%+v, %v), want the entry for %q", e, ok, sub)
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(header)))
	if p := uintptr(unsafe.Pointer(unsafe.StringData(e.Subject))); lo <= p && p < lo+uintptr(len(header)) {
		t.Error("the cached Subject points into the caller's Cookie header, keeping all of it alive")
	}
}

func TestMinRemaining(t *testing.T) {
	c := newCache(t, 10, 0.8)
	k := c.Key([]byte("claims"))
	tests := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{12 * time.Minute, true}, // 80 % left exactly
		{12*time.Minute + time.Nanosecond, false}, // less
		{-time.Second, false},                     // clock before iat
		{2 * time.Hour, false},                    // expired
	}
	for _, tt := range tests {
		c.Put(k, entry("tok", "s"))
		if _, ok := c.Get(k, "s", 1, t0.Add(tt.at)); ok != tt.want {
			t.Errorf("at iat%+v: got reuse %v, want %v", tt.at, ok, tt.want)
		}
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache(t, 3, 0.8)
	keys := make([]reuse.Key, 5)
	for i := range keys {
		keys[i] = c.Key(fmt.Appendf(nil, "claims %d", i))
	}
	for i := range 3 {
		c.Put(keys[i], entry(fmt.Sprint("tok", i), "s"))
	}
	c.Get(keys[0], "s", 1, t0) // 0 is now the most recent: 1 goes first
	c.Put(keys[3], entry("tok3", "s"))
	c.Put(keys[4], entry("tok4", "s"))
	for i, want := range []bool{true, false, false, true, true} {
		if _, ok := c.Get(keys[i], "s", 1, t0); ok != want {
			t.Errorf("entry %d: got present %v, want %v", i, ok, want)
		}
	}
	if st := c.Stats(); st.Len != 3 || st.Evicted != 2 {
		t.Errorf("Stats: got %+v, want 3 entries, 2 evicted", st)
	}
	for i := range 1000 {
		c.Put(c.Key(fmt.Appendf(nil, "more %d", i)), entry("t", "s"))
	}
	if st := c.Stats(); st.Len != 3 {
		t.Errorf("after 1000 more: %d entries, want at most Size (3)", st.Len)
	}
}

func TestFlush(t *testing.T) {
	c := newCache(t, 10, 0.8)
	k := c.Key([]byte("claims"))
	c.Put(k, entry("tok", "s"))
	c.Flush()
	if _, ok := c.Get(k, "s", 1, t0); ok {
		t.Error("an entry survived Flush")
	}
}

func Example() {
	c, err := reuse.New(reuse.Config{Size: 10_000, MinRemaining: 0.8})
	if err != nil {
		panic(err)
	}
	iat := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	k := c.Key([]byte("kid"), []byte(`{"sub":"anon-1","user_payload":{"name":"Anonymous"}}`))
	c.Put(k, reuse.Entry{Token: "eyJ…", Subject: "anon-1", Epoch: 1, IssuedAt: iat, Expires: iat.Add(time.Hour)})

	_, ok := c.Get(k, "anon-1", 1, iat.Add(10*time.Minute))
	fmt.Println("after 10 minutes:", ok)
	_, ok = c.Get(k, "anon-2", 1, iat.Add(10*time.Minute))
	fmt.Println("another sub:", ok)
	c.Put(k, reuse.Entry{Token: "eyJ…", Subject: "anon-1", Epoch: 1, IssuedAt: iat, Expires: iat.Add(time.Hour)})
	_, ok = c.Get(k, "anon-1", 1, iat.Add(30*time.Minute))
	fmt.Println("after 30 minutes:", ok)
	// Output:
	// after 10 minutes: true
	// another sub: false
	// after 30 minutes: false
}

// demoToken returns a token shaped like the demo's for an anonymous
// visitor: 1 046 bytes, with an encrypted user_payload.
func demoToken(i int) (tok, sub string) {
	e := base64.RawURLEncoding
	sub = fmt.Sprintf("anon-%08x-1f61-43f9-94b2-f2fbf1536ac8", i)
	ct := make([]byte, 256)
	sig := make([]byte, 256)
	for j := range ct {
		ct[j], sig[j] = byte(i*31+j), byte(i*17+j*3)
	}
	payload := fmt.Sprintf(`{"exp":1796356330,"iat":1796352700,"sub":%q,"user_payload":%q}`, sub, base64.StdEncoding.EncodeToString(ct))
	tok = e.EncodeToString([]byte(`{"alg":"RS256","kid":"IUgpOvWCXGBlqKKht1GhNn95dDgBSrdRyec7mWdLtlk","typ":"JWT"}`)) + "." + e.EncodeToString([]byte(payload)) + "." + e.EncodeToString(sig)
	return tok, sub
}

// BenchmarkFullCacheHeap reports the heap a full cache of demo-sized
// tokens holds per entry (heap_B/entry), all of it: map, list, subject and
// token. ReuseConfig.Size's doc quotes it.
func BenchmarkFullCacheHeap(b *testing.B) {
	const size = 10_000
	toks := make([]string, size)
	subs := make([]string, size)
	for i := range size {
		toks[i], subs[i] = demoToken(i)
	}
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := newCache(b, size, 0.8)
		for i := range size {
			// A token of its own, as a signer's is.
			tok := strings.Clone(toks[i])
			c.Put(c.Key([]byte(subs[i])), reuse.Entry{Token: tok, Subject: subs[i], Epoch: 1, IssuedAt: t0, Expires: t0.Add(time.Hour)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / size
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perEntry, "heap_B/entry")
	b.ReportMetric(float64(len(toks[0])), "token_B")
}

// BenchmarkGetParallel is a hit: the lookup and the LRU move.
func BenchmarkGetParallel(b *testing.B) {
	c := newCache(b, 1000, 0.8)
	keys := make([]reuse.Key, 1000)
	subs := make([]string, 1000)
	for i := range keys {
		var tok string
		tok, subs[i] = demoToken(i)
		keys[i] = c.Key([]byte(subs[i]))
		c.Put(keys[i], reuse.Entry{Token: tok, Subject: subs[i], Epoch: 1, IssuedAt: t0, Expires: t0.Add(time.Hour)})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i], subs[i], 1, t0); !ok {
				b.Error("miss")
				return
			}
			i = (i + 1) % len(keys)
		}
	})
}
