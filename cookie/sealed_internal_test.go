package cookie

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSealOpenRoundTrip(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}, Now: fixedClock(t0)})
	for _, n := range []int{0, 1, 16, 200, 1000, s.maxPlain} {
		p := bytes.Repeat([]byte{'x'}, n)
		v, err := s.Seal(p)
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", n, err)
		}
		got, err := s.Open(v)
		if err != nil || !bytes.Equal(got, p) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v; want the plaintext", n, len(got), err)
		}
	}
}

func TestSealFormat(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}, Now: fixedClock(t0)})
	p := []byte(`{"user":"alice"}`)
	v1, _ := s.Seal(p)
	v2, _ := s.Seal(p)
	raw1, err := base64URLStrict(v1)
	if err != nil {
		t.Fatalf("value is not base64url without padding: %v", err)
	}
	raw2, _ := base64URLStrict(v2)
	if len(raw1) != 1+12+8+len(p)+16 || raw1[0] != 1 {
		t.Errorf("got %d bytes with version %d, want %d with version 1", len(raw1), raw1[0], 1+12+8+len(p)+16)
	}
	if bytes.Equal(raw1[1:13], raw2[1:13]) {
		t.Errorf("two Seals used the same nonce")
	}
	if v1 == v2 {
		t.Errorf("two Seals of the same plaintext gave the same value")
	}
	if strings.Contains(v1, "alice") {
		t.Errorf("sealed value shows the plaintext")
	}
}

func base64URLStrict(s string) ([]byte, error) { return b64.DecodeString(s) }

func TestOpenKeyRotation(t *testing.T) {
	oldKey, newKey := secretKey(1), secretKey(2)
	old := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{oldKey}})
	rotated := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{newKey, oldKey}})
	newOnly := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{newKey}})
	p := []byte("state")

	byOld, _ := old.Seal(p)
	byRotated, _ := rotated.Seal(p)
	tests := []struct {
		name  string
		s     *Sealer
		value string
		want  error
	}{
		{"rotated keys open a value sealed with the old key", rotated, byOld, nil},
		{"rotated keys open their own value", rotated, byRotated, nil},
		{"the first key seals", newOnly, byRotated, nil},
		{"the old key alone does not open the new value", old, byRotated, ErrInvalid},
		{"the new key alone does not open an old value", newOnly, byOld, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Open(tt.value)
			if !errors.Is(err, tt.want) || (tt.want == nil && (err != nil || !bytes.Equal(got, p))) {
				t.Errorf("got %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestOpenRefusesValueForAnotherName(t *testing.T) {
	key := secretKey(1)
	a := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{key}})
	b := mustSealer(t, SealerConfig{Name: "SESSION2", Keys: [][]byte{key}})
	v, _ := a.Seal([]byte("admin"))
	if _, err := b.Open(v); !errors.Is(err, ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
}

func TestOpenExpiry(t *testing.T) {
	now := t0
	key := secretKey(1)
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{key}, MaxAge: time.Hour, Now: func() time.Time { return now }})
	v, err := s.Seal([]byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		keys [][]byte
		want error
	}{
		{"opens just before expiry", t0.Add(time.Hour - time.Second), [][]byte{key}, nil},
		{"expired at MaxAge", t0.Add(time.Hour), [][]byte{key}, ErrExpired},
		{"expired long after", t0.Add(48 * time.Hour), [][]byte{key}, ErrExpired},
		{"expired under a wrong key is invalid, not expired", t0.Add(48 * time.Hour), [][]byte{secretKey(2)}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			o := mustSealer(t, SealerConfig{Name: "SESSION", Keys: tt.keys, MaxAge: time.Hour, Now: func() time.Time { return at }})
			if _, err := o.Open(v); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRefusesEveryBitFlip(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}})
	v, _ := s.Seal([]byte(`{"user":"alice"}`))
	raw, _ := base64URLStrict(v)
	for i := range raw {
		for bit := range 8 {
			c := bytes.Clone(raw)
			c[i] ^= 1 << bit
			if _, err := s.Open(b64.EncodeToString(c)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("byte %d bit %d flipped: got %v, want ErrInvalid", i, bit, err)
			}
		}
	}
	// Every other spelling of the text too, including the trailing bits of
	// the last character, which the strict decoder must not ignore.
	for i := range len(v) {
		for _, ch := range []byte(base64URLAlphabet) {
			if ch == v[i] {
				continue
			}
			c := v[:i] + string(ch) + v[i+1:]
			if _, err := s.Open(c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("character %d changed to %q: got %v, want ErrInvalid", i, ch, err)
			}
		}
	}
}

func TestOpenRefusesTruncation(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}})
	v, _ := s.Seal([]byte("some state"))
	for n := range len(v) {
		if _, err := s.Open(v[:n]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("first %d of %d characters: got %v, want ErrInvalid", n, len(v), err)
		}
	}
}

func TestOpenRefusesGarbage(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}})
	v, _ := s.Seal([]byte("some state"))
	raw, _ := base64URLStrict(v)
	otherVersion := bytes.Clone(raw)
	otherVersion[0] = 2
	tests := map[string]string{
		"empty":                       "",
		"not base64":                  strings.Repeat("!", 60),
		"padded base64":               v + "==",
		"standard base64 alphabet":    strings.NewReplacer("-", "+", "_", "/").Replace(v) + "+/",
		"value with a trailing LF":    v + "\n",
		"value with a CR inside":      v[:10] + "\r" + v[10:],
		"value followed by more data": v + "AAAA",
		"another version byte":        b64.EncodeToString(otherVersion),
		"too long":                    strings.Repeat("A", 5000),
		"zeros of a plausible length": strings.Repeat("A", len(v)),
		"a JSON cookie":               `{"user":"admin"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := s.Open(in); !errors.Is(err, ErrInvalid) {
				t.Errorf("got %q, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestSealRefusesOver4096Bytes(t *testing.T) {
	tests := []SealerConfig{
		{Name: "S", Keys: [][]byte{secretKey(1)}},
		{Name: "__Host-session", Keys: [][]byte{secretKey(1)}, MaxAge: 400 * 24 * time.Hour, SameSite: http.SameSiteNoneMode, Partitioned: true},
		{Name: "SESSION", Keys: [][]byte{secretKey(1)}, Domain: "chat.example.com", Path: "/" + strings.Repeat("p", 1000)},
	}
	for _, cfg := range tests {
		t.Run(cfg.Name+cfg.Path[:min(len(cfg.Path), 5)], func(t *testing.T) {
			s := mustSealer(t, cfg)
			rec := httptest.NewRecorder()
			if err := s.Write(rec, request(true), make([]byte, s.maxPlain)); err != nil {
				t.Fatalf("Write(%d bytes): %v", s.maxPlain, err)
			}
			line := rec.Header().Get("Set-Cookie")
			grow := b64.EncodedLen(sealOverhead+s.maxPlain+1) - b64.EncodedLen(sealOverhead+s.maxPlain)
			if len(line) > 4096 || len(line)+grow <= 4096 {
				t.Errorf("largest accepted plaintext gives a %d-byte Set-Cookie, one more byte %d; want ≤ 4096 and > 4096", len(line), len(line)+grow)
			}
			_, err := s.Seal(make([]byte, s.maxPlain+1))
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("Seal(%d bytes): got %v, want ErrTooLarge", s.maxPlain+1, err)
			}
			rec = httptest.NewRecorder()
			if err := s.Write(rec, request(true), make([]byte, s.maxPlain+1)); !errors.Is(err, ErrTooLarge) || len(rec.Header().Values("Set-Cookie")) != 0 {
				t.Errorf("Write(%d bytes): got %v and %d cookies, want ErrTooLarge and none", s.maxPlain+1, err, len(rec.Header().Values("Set-Cookie")))
			}
		})
	}
}

func TestNewSealerRefuses(t *testing.T) {
	key := secretKey(1)
	tests := []struct {
		name string
		cfg  SealerConfig
		want string
	}{
		{"missing name", SealerConfig{Keys: [][]byte{key}}, "cookie: SealerConfig.Name: required"},
		{"invalid name", SealerConfig{Name: "a b", Keys: [][]byte{key}}, "cookie: SealerConfig.Name: "},
		{"no keys", SealerConfig{Name: "S"}, "cookie: SealerConfig.Keys: at least one key is required"},
		{"16-byte key", SealerConfig{Name: "S", Keys: [][]byte{key, make([]byte, 16)}}, "cookie: SealerConfig.Keys[1]: 16 bytes, want exactly 32"},
		{"33-byte key", SealerConfig{Name: "S", Keys: [][]byte{make([]byte, 33)}}, "cookie: SealerConfig.Keys[0]: 33 bytes, want exactly 32"},
		{"negative MaxAge", SealerConfig{Name: "S", Keys: [][]byte{key}, MaxAge: -1}, "cookie: SealerConfig.MaxAge: negative"},
		{"__Host- with a Domain", SealerConfig{Name: "__Host-s", Keys: [][]byte{key}, Domain: "example.com"}, "cookie: SealerConfig.Domain: "},
		{"__Secure- with SecureNever", SealerConfig{Name: "__Secure-s", Keys: [][]byte{key}, Secure: SecureNever}, "cookie: SealerConfig.Secure: "},
		{"name leaving no room for a value", SealerConfig{Name: strings.Repeat("n", 4000), Keys: [][]byte{key}}, "cookie: SealerConfig.Name: name and attributes leave no room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSealer(tt.cfg)
			if err == nil {
				t.Fatalf("got %v, nil; want an error starting %q", s, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to start %q", err, tt.want)
			}
		})
	}
}

func TestNewSealerErrorHidesKey(t *testing.T) {
	key := []byte("0123456789abcdef-secret")
	_, err := NewSealer(SealerConfig{Name: "S", Keys: [][]byte{key}})
	if err == nil || strings.Contains(err.Error(), string(key)) || strings.Contains(err.Error(), "secret") {
		t.Errorf("got error %v, want one naming Keys[0] and its length only", err)
	}
}

func TestSealerDoesNotAliasCallerKeys(t *testing.T) {
	key := secretKey(1)
	s := mustSealer(t, SealerConfig{Name: "S", Keys: [][]byte{key}})
	v, _ := s.Seal([]byte("x"))
	key[0] ^= 0xff
	if _, err := s.Open(v); err != nil {
		t.Errorf("after the caller changed its key slice: got %v, want nil", err)
	}
}

func TestSealerWriteReadClear(t *testing.T) {
	now := t0
	s := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1)}, Domain: "example.com", Now: func() time.Time { return now }})
	rec := httptest.NewRecorder()
	if err := s.Write(rec, request(true), []byte("alice")); err != nil {
		t.Fatal(err)
	}
	c := onlySetCookie(t, rec)
	if c.Name != "SESSION" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "example.com" ||
		c.MaxAge != 86400 || !c.Expires.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("got %q, want SESSION HttpOnly Secure Lax / example.com Max-Age=86400 expiring in 24h", rec.Header().Get("Set-Cookie"))
	}
	other, _ := mustSealer(t, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(2)}}).Seal([]byte("mallory"))
	expiredValue := func() string {
		now = t0.Add(-25 * time.Hour)
		defer func() { now = t0 }()
		v, _ := s.Seal([]byte("old"))
		return v
	}()

	tests := []struct {
		name    string
		header  string
		want    string
		wantErr error
	}{
		{"the written cookie reads back", "SESSION=" + c.Value, "alice", nil},
		{"no cookie is http.ErrNoCookie", "OTHER=1", "", http.ErrNoCookie},
		{"a tampered cookie is ErrInvalid", "SESSION=" + c.Value[:len(c.Value)-2] + "AA", "", ErrInvalid},
		{"a cookie sealed with another key is ErrInvalid", "SESSION=" + other, "", ErrInvalid},
		{"an expired cookie is ErrExpired", "SESSION=" + expiredValue, "", ErrExpired},
		{"the first cookie that opens wins", "SESSION=garbage; SESSION=" + c.Value, "alice", nil},
		{"expired beats invalid when none opens", "SESSION=garbage; SESSION=" + expiredValue, "", ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Read(request(true, tt.header))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}

	rec = httptest.NewRecorder()
	s.Clear(rec, request(true))
	line := rec.Header().Get("Set-Cookie")
	c = onlySetCookie(t, rec)
	if c.Name != "SESSION" || c.Value != "" || !strings.Contains(line, "Max-Age=0") || c.Expires.Unix() != 0 ||
		c.Path != "/" || c.Domain != "example.com" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("Clear set %q, want an empty SESSION with Max-Age=0, Expires in 1970 and the same attributes", line)
	}
}

func TestSealerRoundTripThroughTLSServerAndJar(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "__Host-session", Keys: [][]byte{secretKey(1)}})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Write(w, r, []byte("alice")); err != nil {
			http.Error(w, "cannot seal", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Read(r)
		if err != nil {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		w.Write(p)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) { s.Clear(w, r) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := srv.Client()
	client.Jar = jar

	get := func() (int, string) {
		t.Helper()
		resp, err := client.Get(srv.URL + "/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	post := func(path string) {
		t.Helper()
		resp, err := client.Post(srv.URL+path, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if code, _ := get(); code != http.StatusUnauthorized {
		t.Errorf("before login: got %d, want 401", code)
	}
	post("/login")
	if code, body := get(); code != http.StatusOK || body != "alice" {
		t.Errorf("after login: got %d %q, want 200 alice", code, body)
	}
	post("/logout")
	u, _ := url.Parse(srv.URL)
	if code, _ := get(); code != http.StatusUnauthorized || len(jar.Cookies(u)) != 0 {
		t.Errorf("after logout: got %d and %d cookies, want 401 and none", code, len(jar.Cookies(u)))
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	s := mustSealer(t, SealerConfig{Name: "S", Keys: [][]byte{secretKey(1), secretKey(2)}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := []byte{byte(g)}
			for range 200 {
				v, err := s.Seal(p)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := s.Open(v); err != nil || !bytes.Equal(got, p) {
					t.Errorf("got %v, %v; want %v", got, err, p)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzSealerRoundTrip(f *testing.F) {
	s := mustSealer(f, SealerConfig{Name: "SESSION", Keys: [][]byte{secretKey(1), secretKey(2)}, Now: fixedClock(t0)})
	for _, p := range [][]byte{nil, {}, {0}, []byte(`{"user":"alice"}`), bytes.Repeat([]byte{0xff}, s.maxPlain), make([]byte, s.maxPlain+1)} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		v, err := s.Seal(p)
		if len(p) > s.maxPlain {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Seal(%d bytes) = %v, want ErrTooLarge", len(p), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Seal(%d bytes): %v", len(p), err)
		}
		got, err := s.Open(v)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("Open(Seal(%x)) = %x, %v", p, got, err)
		}
	})
}

func FuzzSealerOpen(f *testing.F) {
	key := secretKey(1)
	s := mustSealer(f, SealerConfig{Name: "SESSION", Keys: [][]byte{key, secretKey(2)}, Now: fixedClock(t0)})
	valid, _ := s.Seal([]byte(`{"user":"alice"}`))
	expired, _ := mustSealer(f, SealerConfig{Name: "SESSION", Keys: [][]byte{key}, Now: fixedClock(t0.Add(-48 * time.Hour))}).Seal([]byte("old"))
	foreign, _ := mustSealer(f, SealerConfig{Name: "OTHER", Keys: [][]byte{key}, Now: fixedClock(t0)}).Seal([]byte("x"))
	for _, v := range []string{
		"", "A", valid, expired, foreign, valid[:len(valid)-1], valid + "A", valid + "==", valid + "\n",
		"\r\n" + valid, strings.Repeat("A", 37), strings.Repeat("_", 4097), "\x00\xff", `{"user":"admin"}`,
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, err := s.Open(v)
		switch {
		case err == nil:
			// Only a value the fuzzer built from a seed can be authentic.
			if _, err := s.Seal(p); err != nil && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("reseal: %v", err)
			}
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrExpired):
			if p != nil {
				t.Fatalf("Open failed with %v but returned %d bytes", err, len(p))
			}
		default:
			t.Fatalf("Open(%q) = %v, want ErrInvalid or ErrExpired", v, err)
		}
	})
}
