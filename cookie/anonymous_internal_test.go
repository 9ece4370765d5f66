package cookie

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/webchatid/webchatid/internal/headersafe"
)

var uuidV4ID = regexp.MustCompile(`^anon-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGetOrSetNewVisitorGetsFullUUIDv4(t *testing.T) {
	a := mustAnonymous(t, Config{Now: fixedClock(t0)})
	rec := httptest.NewRecorder()
	id, isNew, err := a.GetOrSet(rec, request(false))
	if err != nil {
		t.Fatalf("GetOrSet: %v", err)
	}
	if !isNew {
		t.Errorf("got isNew false, want true")
	}
	if !uuidV4ID.MatchString(id) {
		t.Errorf("got ID %q, want anon- and a full canonical UUIDv4", id)
	}
	c := onlySetCookie(t, rec)
	if c.Name != DefaultName || c.Value != id {
		t.Errorf("got cookie %s=%s, want %s=%s", c.Name, c.Value, DefaultName, id)
	}
	id2, _, _ := a.GetOrSet(httptest.NewRecorder(), request(false))
	if id2 == id {
		t.Errorf("two new visitors got the same ID %q", id)
	}
}

func TestGetOrSetCookieAttributes(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		tls   bool
		check func(t *testing.T, c *http.Cookie, line string)
	}{
		{"HttpOnly is always set", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.HttpOnly {
				t.Errorf("got HttpOnly false, want true")
			}
		}},
		{"Max-Age is 45 days by default", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.MaxAge != 3888000 {
				t.Errorf("got Max-Age %d, want 3888000", c.MaxAge)
			}
		}},
		{"Expires is 45 days from now", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if want := t0.Add(45 * 24 * time.Hour); !c.Expires.Equal(want) {
				t.Errorf("got Expires %v, want %v", c.Expires, want)
			}
		}},
		{"Path is / by default", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.Path != "/" {
				t.Errorf("got Path %q, want /", c.Path)
			}
		}},
		{"SameSite is Lax by default", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("got SameSite %v, want Lax", c.SameSite)
			}
		}},
		{"no Domain by default", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.Domain != "" {
				t.Errorf("got Domain %q, want none", c.Domain)
			}
		}},
		{"Secure on a TLS request", Config{}, true, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.Secure {
				t.Errorf("got Secure false, want true")
			}
		}},
		{"no Secure on a plain request", Config{}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.Secure {
				t.Errorf("got Secure true, want false")
			}
		}},
		{"SecureAlways on a plain request", Config{Secure: SecureAlways}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.Secure {
				t.Errorf("got Secure false, want true")
			}
		}},
		{"SecureNever on a TLS request", Config{Secure: SecureNever}, true, func(t *testing.T, c *http.Cookie, _ string) {
			if c.Secure {
				t.Errorf("got Secure true, want false")
			}
		}},
		{"__Host- name is Secure even on a plain request", Config{Name: "__Host-anon"}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.Secure || c.Path != "/" || c.Domain != "" {
				t.Errorf("got Secure %v Path %q Domain %q, want true / none", c.Secure, c.Path, c.Domain)
			}
		}},
		{"__Secure- name is Secure even on a plain request", Config{Name: "__Secure-anon"}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.Secure {
				t.Errorf("got Secure false, want true")
			}
		}},
		{"SameSite=None is Secure", Config{SameSite: http.SameSiteNoneMode}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.SameSite != http.SameSiteNoneMode || !c.Secure {
				t.Errorf("got SameSite %v Secure %v, want None and Secure", c.SameSite, c.Secure)
			}
		}},
		{"Partitioned is set and Secure", Config{Partitioned: true}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if !c.Partitioned || !c.Secure {
				t.Errorf("got Partitioned %v Secure %v, want both", c.Partitioned, c.Secure)
			}
		}},
		{"SameSite default mode sends no SameSite", Config{SameSite: http.SameSiteDefaultMode}, false, func(t *testing.T, _ *http.Cookie, line string) {
			if strings.Contains(line, "SameSite") {
				t.Errorf("got %q, want no SameSite attribute", line)
			}
		}},
		{"configured name, Domain, Path and MaxAge", Config{Name: "SID", Domain: "example.com", Path: "/chat", MaxAge: 40 * 24 * time.Hour}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.Name != "SID" || c.Domain != "example.com" || c.Path != "/chat" || c.MaxAge != 40*24*3600 {
				t.Errorf("got %s Domain %q Path %q Max-Age %d, want SID example.com /chat %d", c.Name, c.Domain, c.Path, c.MaxAge, 40*24*3600)
			}
		}},
		{"sub-second MaxAge is truncated", Config{MaxAge: 90*time.Second + 500*time.Millisecond}, false, func(t *testing.T, c *http.Cookie, _ string) {
			if c.MaxAge != 90 || !c.Expires.Equal(t0.Add(90*time.Second)) {
				t.Errorf("got Max-Age %d Expires %v, want 90 and %v", c.MaxAge, c.Expires, t0.Add(90*time.Second))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Now = fixedClock(t0)
			a := mustAnonymous(t, tt.cfg)
			rec := httptest.NewRecorder()
			if _, _, err := a.GetOrSet(rec, request(tt.tls)); err != nil {
				t.Fatalf("GetOrSet: %v", err)
			}
			tt.check(t, onlySetCookie(t, rec), rec.Header().Get("Set-Cookie"))
		})
	}
}

func TestGetOrSetInboundCookie(t *testing.T) {
	upper := strings.ToUpper(validID[len("anon-"):])
	tests := []struct {
		name   string
		header []string // Cookie header lines
		want   string   // the ID to keep; "" means a fresh one
	}{
		{"well-formed ID is kept", []string{DefaultName + "=" + validID}, validID},
		{"quoted well-formed ID is kept", []string{DefaultName + `="` + validID + `"`}, validID},
		{"no cookie gets a fresh ID", nil, ""},
		{"empty value gets a fresh ID", []string{DefaultName + "="}, ""},
		{"uppercase UUID gets a fresh ID", []string{DefaultName + "=anon-" + upper}, ""},
		{"short UUID gets a fresh ID", []string{DefaultName + "=anon-1a2b3"}, ""},
		{"UUID without hyphens gets a fresh ID", []string{DefaultName + "=anon-" + strings.ReplaceAll(validID[5:], "-", "")}, ""},
		{"misplaced hyphen gets a fresh ID", []string{DefaultName + "=anon-0b8f0a4e8-c1c-4f55-9d1e-3c1e0c7a9b2f"}, ""},
		{"non-hex digit gets a fresh ID", []string{DefaultName + "=anon-0b8f0a4g-8c1c-4f55-9d1e-3c1e0c7a9b2f"}, ""},
		{"missing prefix gets a fresh ID", []string{DefaultName + "=" + validID[5:]}, ""},
		{"other prefix gets a fresh ID", []string{DefaultName + "=user-" + validID[5:]}, ""},
		{"trailing byte gets a fresh ID", []string{DefaultName + "=" + validID + "0"}, ""},
		{"oversize value gets a fresh ID", []string{DefaultName + "=" + validID + strings.Repeat("a", 300)}, ""},
		{"an e-mail address gets a fresh ID", []string{DefaultName + "=alice@example.com"}, ""},
		{"other cookie names are ignored", []string{"OTHER=" + validID}, ""},
		{"first valid of several cookies is used", []string{DefaultName + "=anon-bad; " + DefaultName + "=" + validID + "; " + DefaultName + "=anon-11111111-1111-4111-8111-111111111111"}, validID},
		{"valid cookie in a second header line is used", []string{DefaultName + "=anon-bad", DefaultName + "=" + validID}, validID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAnonymous(t, Config{Now: fixedClock(t0)})
			rec := httptest.NewRecorder()
			id, isNew, err := a.GetOrSet(rec, request(false, tt.header...))
			if err != nil {
				t.Fatalf("GetOrSet: %v", err)
			}
			c := onlySetCookie(t, rec)
			if c.Value != id {
				t.Errorf("got cookie value %q, want the ID %q", c.Value, id)
			}
			if tt.want != "" {
				if id != tt.want || isNew {
					t.Errorf("got %q, isNew %v; want %q, false", id, isNew, tt.want)
				}
				return
			}
			if !isNew || !uuidV4ID.MatchString(id) {
				t.Errorf("got %q, isNew %v; want a fresh ID, true", id, isNew)
			}
		})
	}
}

// The request parser drops some bytes before GetOrSet sees them, so these
// go straight to parse, the check every inbound value goes through.
func TestParseRefusesHeaderUnsafeValues(t *testing.T) {
	values := map[string]string{
		"CRLF":         validID + "\r\nX-Evil: 1",
		"LF":           "anon-\n",
		"NUL":          "anon-\x00",
		"DEL":          "anon-\x7f",
		"tab":          "anon-\t1",
		"space":        "anon- 1",
		"semicolon":    "anon-1;customer_id=x",
		"equals":       "anon-1=",
		"comma":        "anon-1,2",
		"double quote": `anon-"1"`,
		"backslash":    `anon-\1`,
		"non-ASCII":    "anon-ü",
		"257 bytes":    strings.Repeat("a", 257),
		"empty":        "",
	}
	acceptAll := func(string) error { return nil }
	for name, v := range values {
		for _, cfg := range []struct {
			label string
			cfg   Config
		}{
			{"default validator", Config{}},
			{"custom validator accepting anything", Config{Validate: acceptAll, NewID: func() (string, error) { return validID, nil }}},
		} {
			t.Run(name+" with "+cfg.label, func(t *testing.T) {
				a := mustAnonymous(t, cfg.cfg)
				if id, _, ok := a.parse(&a.plain, v, t0); ok {
					t.Errorf("parse(%q) = %q, true; want refused", v, id.Value)
				}
			})
		}
	}
}

func TestGetOrSetReSetsExistingCookieWithFreshExpiry(t *testing.T) {
	later := t0.Add(30 * 24 * time.Hour)
	a := mustAnonymous(t, Config{Now: fixedClock(later)})
	rec := httptest.NewRecorder()
	if _, _, err := a.GetOrSet(rec, request(false, DefaultName+"="+validID)); err != nil {
		t.Fatal(err)
	}
	c := onlySetCookie(t, rec)
	if c.Value != validID || !c.Expires.Equal(later.Add(DefaultMaxAge)) || c.MaxAge != 3888000 {
		t.Errorf("got %q Expires %v Max-Age %d, want %q %v 3888000", c.Value, c.Expires, c.MaxAge, validID, later.Add(DefaultMaxAge))
	}
}

func TestGetOrSetTwiceInOneResponseKeepsOneID(t *testing.T) {
	a := mustAnonymous(t, Config{BindingKeys: [][]byte{secretKey(1)}})
	rec := httptest.NewRecorder()
	rec.Header().Add("Set-Cookie", "other=1")
	r := request(false)
	id1, new1, err1 := a.GetOrSet(rec, r)
	id2, new2, err2 := a.GetOrSet(rec, r)
	if err1 != nil || err2 != nil {
		t.Fatalf("GetOrSet: %v, %v", err1, err2)
	}
	if id1 != id2 || !new1 || new2 {
		t.Errorf("got (%q, %v) then (%q, %v); want the same ID, new only the first time", id1, new1, id2, new2)
	}
	lines := rec.Header().Values("Set-Cookie")
	if len(lines) != 2 || lines[0] != "other=1" || !strings.HasPrefix(lines[1], DefaultName+"="+id1+".") {
		t.Errorf("got Set-Cookie lines %q, want other=1 and one bound cookie for %q", lines, id1)
	}
}

func TestPeek(t *testing.T) {
	a := mustAnonymous(t, Config{})
	tests := []struct {
		name   string
		header []string
		wantID string
		wantOK bool
	}{
		{"valid cookie is returned", []string{DefaultName + "=" + validID}, validID, true},
		{"no cookie is not ok", nil, "", false},
		{"malformed cookie is not ok", []string{DefaultName + "=anon-1a2b3"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := a.Peek(request(false, tt.header...))
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("got %q, %v; want %q, %v", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestNewAnonymousRefuses(t *testing.T) {
	acceptAll := func(string) error { return nil }
	fixedID := func(id string) func() (string, error) { return func() (string, error) { return id, nil } }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"name with a space", Config{Name: "ANON ID"}, "cookie: Config.Name: "},
		{"name with a semicolon", Config{Name: "a;b"}, "cookie: Config.Name: "},
		{"__Host- name with a Domain", Config{Name: "__Host-anon", Domain: "example.com"}, "cookie: Config.Domain: must be empty for a __Host- cookie"},
		{"__Host- name with a Path other than /", Config{Name: "__Host-anon", Path: "/chat"}, "cookie: Config.Path: must be / for a __Host- cookie"},
		{"__Host- name with SecureNever", Config{Name: "__Host-anon", Secure: SecureNever}, "cookie: Config.Secure: SecureNever is not allowed for a __Host- cookie"},
		{"__host- name in lower case with a Domain", Config{Name: "__host-anon", Domain: "example.com"}, "cookie: Config.Domain: "},
		{"__Secure- name with SecureNever", Config{Name: "__Secure-anon", Secure: SecureNever}, "cookie: Config.Secure: SecureNever is not allowed for a __Secure- cookie"},
		{"SameSite=None with SecureNever", Config{SameSite: http.SameSiteNoneMode, Secure: SecureNever}, "cookie: Config.Secure: SecureNever is not allowed for SameSite=None"},
		{"Partitioned with SecureNever", Config{Partitioned: true, Secure: SecureNever}, "cookie: Config.Secure: SecureNever is not allowed for Partitioned"},
		{"unknown SecureMode", Config{Secure: 7}, "cookie: Config.Secure: unknown mode 7"},
		{"unknown SameSite", Config{SameSite: 9}, "cookie: Config.SameSite: unknown mode 9"},
		{"negative MaxAge", Config{MaxAge: -time.Hour}, "cookie: Config.MaxAge: negative"},
		{"MaxAge under a second", Config{MaxAge: time.Millisecond}, "cookie: Config.MaxAge: shorter than one second"},
		{"Path without leading slash", Config{Path: "chat"}, "cookie: Config.Path: must start with /"},
		{"Path with a semicolon", Config{Path: "/a;b"}, "cookie: Config.Path: "},
		{"Path over 1024 bytes", Config{Path: "/" + strings.Repeat("a", 1024)}, "cookie: Config.Path: longer than 1024 bytes"},
		{"invalid Domain", Config{Domain: "exa mple.com"}, "cookie: Config.Domain: "},
		{"Prefix with a semicolon", Config{Prefix: "anon;"}, "cookie: Config.Prefix: "},
		{"Prefix with a space", Config{Prefix: "an on-"}, "cookie: Config.Prefix: "},
		{"Prefix leaving no room for a UUID", Config{Prefix: strings.Repeat("p", 221)}, "cookie: Config.Prefix: longer than 220 bytes"},
		{"short binding key", Config{BindingKeys: [][]byte{secretKey(1), make([]byte, 31)}}, "cookie: Config.BindingKeys[1]: 31 bytes, want at least 32"},
		{"Prefix with the binding separator", Config{Prefix: "anon.", BindingKeys: [][]byte{secretKey(1)}}, "cookie: Config.Prefix: must not contain '.'"},
		{"AcceptUnboundUntil without keys", Config{AcceptUnboundUntil: t0}, "cookie: Config.AcceptUnboundUntil: set without BindingKeys"},
		{"NewID that fails", Config{NewID: func() (string, error) { return "", errors.New("no entropy") }}, "cookie: Config.NewID: generating an ID: no entropy"},
		{"NewID whose IDs fail the default validator", Config{NewID: fixedID("user-42")}, "cookie: Config.NewID: generated ID is refused"},
		{"NewID whose IDs fail the custom validator", Config{NewID: fixedID(validID), Validate: func(string) error { return errors.New("no") }}, "cookie: Config.NewID: generated ID is refused"},
		{"NewID whose IDs are not header-safe", Config{NewID: fixedID("id\r\n"), Validate: acceptAll}, "cookie: Config.NewID: generated ID is refused"},
		{"NewID whose IDs contain the separator", Config{NewID: fixedID("id.1"), Validate: acceptAll, BindingKeys: [][]byte{secretKey(1)}}, "cookie: Config.NewID: generated ID is refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAnonymous(tt.cfg)
			if err == nil {
				t.Fatalf("got %+v, nil; want an error starting %q", a, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to start %q", err, tt.want)
			}
		})
	}
}

func TestNewAnonymousErrorHidesKey(t *testing.T) {
	key := []byte("short-secret-key")
	_, err := NewAnonymous(Config{BindingKeys: [][]byte{key}})
	if err == nil || strings.Contains(err.Error(), string(key)) {
		t.Errorf("got error %v, want one that does not contain the key", err)
	}
}

func TestNewAnonymousDoesNotModifyConfig(t *testing.T) {
	cfg := Config{}
	mustAnonymous(t, cfg)
	if cfg.Name != "" || cfg.Prefix != "" || cfg.MaxAge != 0 || cfg.Path != "" || cfg.Now != nil {
		t.Errorf("got %+v after NewAnonymous, want the zero Config", cfg)
	}
}

func TestGetOrSetAnonymousIDUsesDefaults(t *testing.T) {
	rec := httptest.NewRecorder()
	id, isNew, err := GetOrSetAnonymousID(rec, request(false))
	if err != nil || !isNew || !uuidV4ID.MatchString(id) {
		t.Fatalf("got %q, %v, %v; want a fresh anon- UUID", id, isNew, err)
	}
	c := onlySetCookie(t, rec)
	if c.Name != DefaultName || c.MaxAge != 3888000 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("got %q, want IBM's tutorial defaults", rec.Header().Get("Set-Cookie"))
	}
	if got := defaultAnonymous.Name(); got != DefaultName {
		t.Errorf("got Name() %q, want %q", got, DefaultName)
	}
}

func TestCustomNewIDAndValidate(t *testing.T) {
	t.Run("UUIDv7 passes the default validator", func(t *testing.T) {
		a := mustAnonymous(t, Config{NewID: func() (string, error) {
			u, err := uuid.NewV7()
			return DefaultPrefix + u.String(), err
		}})
		id, isNew, err := a.GetOrSet(httptest.NewRecorder(), request(false))
		if err != nil || !isNew {
			t.Fatalf("got %q, %v, %v", id, isNew, err)
		}
		if again, isNew, _ := a.GetOrSet(httptest.NewRecorder(), request(false, DefaultName+"="+id)); again != id || isNew {
			t.Errorf("got %q, %v on return; want %q, false", again, isNew, id)
		}
	})
	t.Run("custom validator decides which inbound values are kept", func(t *testing.T) {
		n := 0
		a := mustAnonymous(t, Config{
			Name:  "SECURE-USER-ID",
			NewID: func() (string, error) { n++; return fmt.Sprintf("user-%05x", n), nil },
			Validate: func(id string) error {
				if !strings.HasPrefix(id, "user-") {
					return errors.New("not a user- ID")
				}
				return nil
			},
		})
		if id, isNew, _ := a.GetOrSet(httptest.NewRecorder(), request(false, "SECURE-USER-ID=user-abcde")); id != "user-abcde" || isNew {
			t.Errorf("got %q, %v; want user-abcde, false", id, isNew)
		}
		if id, isNew, _ := a.GetOrSet(httptest.NewRecorder(), request(false, "SECURE-USER-ID="+validID)); id == validID || !isNew {
			t.Errorf("got %q, %v; want a fresh user- ID", id, isNew)
		}
	})
	t.Run("NewID failing later is an error and writes nothing", func(t *testing.T) {
		calls := 0
		a := mustAnonymous(t, Config{NewID: func() (string, error) {
			calls++
			if calls > 1 {
				return "", errors.New("generator down")
			}
			return validID, nil
		}})
		rec := httptest.NewRecorder()
		id, isNew, err := a.GetOrSet(rec, request(false))
		if err == nil || id != "" || isNew || len(rec.Header().Values("Set-Cookie")) != 0 {
			t.Errorf("got %q, %v, %v and %d cookies; want an error and nothing written", id, isNew, err, len(rec.Header().Values("Set-Cookie")))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "cookie: generating an ID: ") {
			t.Errorf("got error %q, want it to start with cookie: generating an ID:", err)
		}
	})
}

// The cookie travels through a real TLS server and cookie jar: Secure is
// set, the browser sends it back, and the ID stays the same.
func TestRoundTripThroughTLSServerAndJar(t *testing.T) {
	a := mustAnonymous(t, Config{})
	type result struct {
		id    string
		isNew bool
	}
	var (
		mu  sync.Mutex
		got []result
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, isNew, err := a.GetOrSet(w, r)
		if err != nil {
			http.Error(w, "no ID", http.StatusInternalServerError)
			return
		}
		mu.Lock()
		got = append(got, result{id, isNew})
		mu.Unlock()
	}))
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	client.Jar = jar
	for i := 0; i < 3; i++ {
		resp, err := client.Get(srv.URL + "/createJWT")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if line := resp.Header.Get("Set-Cookie"); !strings.Contains(line, "; Secure") || !strings.Contains(line, "; HttpOnly") {
			t.Errorf("request %d: got Set-Cookie %q, want Secure and HttpOnly", i, line)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || !got[0].isNew || got[1].isNew || got[2].isNew || got[1].id != got[0].id || got[2].id != got[0].id {
		t.Fatalf("got %+v, want one new ID then the same ID twice", got)
	}
	u, _ := url.Parse(srv.URL)
	if cs := jar.Cookies(u); len(cs) != 1 || cs[0].Value != got[0].id {
		t.Errorf("jar holds %v, want the one ID cookie", cs)
	}
}

func TestConcurrentGetOrSet(t *testing.T) {
	a := mustAnonymous(t, Config{BindingKeys: [][]byte{secretKey(1), secretKey(2)}})
	bound := a.plain.bind.sign(validID)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id, isNew, err := a.GetOrSet(httptest.NewRecorder(), request(i%2 == 0, DefaultName+"="+bound))
				if err != nil || id != validID || isNew {
					t.Errorf("got %q, %v, %v; want %q", id, isNew, err, validID)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzAnonymousValue(f *testing.F) {
	plain := mustAnonymous(f, Config{Now: fixedClock(t0)})
	bound := mustAnonymous(f, Config{Now: fixedClock(t0), BindingKeys: [][]byte{secretKey(1), secretKey(2)}, AcceptUnboundUntil: t0.Add(time.Hour)})
	for _, s := range []string{
		"", validID, strings.ToUpper(validID), "anon-1a2b3", validID + "\r\nX: y", validID + ";a=b",
		`"` + validID + `"`, validID + " ", "anon-" + strings.Repeat("0", 300), "\x00", "anon-ü",
		bound.plain.bind.sign(validID), bound.plain.bind.sign(validID) + "x", validID + ".", "." + validID,
		validID + "." + strings.Repeat("A", tagLen), validID + ".." + strings.Repeat("A", tagLen),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, a := range []*Anonymous{plain, bound} {
			if id, value, ok := a.parse(&a.plain, v, t0); ok {
				if err := headersafe.Check(id.Value); err != nil {
					t.Fatalf("parse(%q) accepted ID %q: %v", v, id.Value, err)
				}
				if err := a.check(id.Value); err != nil {
					t.Fatalf("parse(%q) accepted ID %q failing the validator: %v", v, id.Value, err)
				}
				if _, _, ok := a.parse(&a.plain, value, t0); !ok {
					t.Fatalf("parse(%q) returned value %q that does not parse", v, value)
				}
			}
			rec := httptest.NewRecorder()
			r := request(false)
			r.Header.Set("Cookie", a.Name()+"="+v)
			id, isNew, err := a.GetOrSet(rec, r)
			if err != nil {
				t.Fatalf("GetOrSet: %v", err)
			}
			if err := a.check(id); err != nil {
				t.Fatalf("GetOrSet returned ID %q failing the checks: %v", id, err)
			}
			if a.check(v) != nil && id == v {
				t.Fatalf("GetOrSet echoed malformed value %q", v)
			}
			if isNew && strings.Contains(v, id) {
				t.Fatalf("GetOrSet reported new ID %q found in the input %q", id, v)
			}
		}
	})
}

func TestRotate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"unbound", Config{Now: fixedClock(t0)}},
		{"bound", Config{Now: fixedClock(t0), BindingKeys: [][]byte{secretKey(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustAnonymous(t, tc.cfg)
			rec := httptest.NewRecorder()
			old, _, err := a.GetOrSet(rec, request(false))
			if err != nil {
				t.Fatal(err)
			}
			inbound := onlySetCookie(t, rec)

			// The visitor comes back with a valid cookie and logs out.
			rec = httptest.NewRecorder()
			rec.Header().Add("Set-Cookie", "other=1")
			r := request(false, inbound.Name+"="+inbound.Value)
			id, err := a.Rotate(rec, r)
			if err != nil {
				t.Fatal(err)
			}
			if id == old {
				t.Fatalf("Rotate kept the ID %q, want a new one", id)
			}
			// GetOrSet later in the same response keeps the new ID and its one line.
			again, isNew, err := a.GetOrSet(rec, r)
			if err != nil || again != id || isNew {
				t.Errorf("GetOrSet after Rotate: got (%q, %v, %v), want (%q, false, nil)", again, isNew, err, id)
			}
			cs := setCookies(t, rec)
			if len(cs) != 2 || cs[0].Name != "other" {
				t.Fatalf("got Set-Cookie lines %q, want other=1 and one anonymous-ID cookie", rec.Header().Values("Set-Cookie"))
			}
			c := cs[1]
			if !c.HttpOnly || c.MaxAge != int(DefaultMaxAge/time.Second) || !c.Expires.Equal(t0.Add(DefaultMaxAge)) {
				t.Errorf("got HttpOnly %v Max-Age %d Expires %v, want the cookie's usual attributes", c.HttpOnly, c.MaxAge, c.Expires)
			}
			// The new cookie is accepted as it is: bound when binding is on.
			got, ok := a.Peek(request(false, c.Name+"="+c.Value))
			if !ok || got != id {
				t.Errorf("Peek of the rotated cookie: got (%q, %v), want (%q, true)", got, ok, id)
			}
			if bound := strings.Contains(c.Value, "."); bound != (tc.cfg.BindingKeys != nil) {
				t.Errorf("got cookie value bound=%v, want %v", bound, tc.cfg.BindingKeys != nil)
			}
		})
	}
}

func TestRotateTwiceInOneResponseKeepsOneLine(t *testing.T) {
	a := mustAnonymous(t, Config{})
	rec := httptest.NewRecorder()
	if _, err := a.Rotate(rec, request(false)); err != nil {
		t.Fatal(err)
	}
	id, err := a.Rotate(rec, request(false))
	if err != nil {
		t.Fatal(err)
	}
	if c := onlySetCookie(t, rec); c.Value != id {
		t.Errorf("got cookie %q, want the last ID %q", c.Value, id)
	}
}
