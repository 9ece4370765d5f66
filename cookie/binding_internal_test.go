package cookie

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wantTag computes the expected binding MAC independently of binder.
func wantTag(key []byte, name, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// adoptedTag is the MAC of an ID accepted unbound in the AcceptUnboundUntil
// window, which the cookie carries after a "~".
func adoptedTag(key []byte, name, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name + "\x01" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func TestBoundValueFormat(t *testing.T) {
	key := secretKey(1)
	a := mustAnonymous(t, Config{BindingKeys: [][]byte{key}})
	rec := httptest.NewRecorder()
	id, isNew, err := a.GetOrSet(rec, request(false))
	if err != nil || !isNew || !uuidV4ID.MatchString(id) {
		t.Fatalf("got %q, %v, %v; want a fresh bare ID", id, isNew, err)
	}
	want := id + "." + wantTag(key, DefaultName, id)
	if c := onlySetCookie(t, rec); c.Value != want {
		t.Errorf("got cookie value %q, want %q (ID, '.', 22-char base64url HMAC-SHA256/128 of name NUL id)", c.Value, want)
	}
	if len(want) != len(id)+1+22 {
		t.Errorf("got bound value length %d, want %d", len(want), len(id)+1+22)
	}
}

func TestBindingInboundValues(t *testing.T) {
	k1, k2, foreign := secretKey(1), secretKey(2), secretKey(9)
	newKeys := [][]byte{k2, k1} // k2 is the new signing key, k1 the old one
	goodTag := wantTag(k2, DefaultName, validID)
	flipped := []byte(goodTag)
	flipped[0] ^= 1
	// The last of 22 characters carries 2 data bits and 4 zero padding bits;
	// setting a padding bit gives another spelling of the same tag.
	last := strings.IndexByte(base64URLAlphabet, goodTag[tagLen-1])
	nonCanonical := goodTag[:tagLen-1] + string(base64URLAlphabet[last|1])
	const upperID = "anon-0B8F0A4E-8C1C-4F55-9D1E-3C1E0C7A9B2F"

	tests := []struct {
		name      string
		value     string
		window    time.Time // AcceptUnboundUntil
		wantID    string    // "" means a fresh ID
		wantValue string    // the re-set value when wantID is kept
	}{
		{"value MAC'ed with the first key is kept", validID + "." + goodTag, time.Time{}, validID, validID + "." + goodTag},
		{"value MAC'ed with an older key is re-set with the first", validID + "." + wantTag(k1, DefaultName, validID), time.Time{}, validID, validID + "." + goodTag},
		{"forged MAC gets a fresh ID", validID + "." + string(flipped), time.Time{}, "", ""},
		{"MAC under an unknown key gets a fresh ID", validID + "." + wantTag(foreign, DefaultName, validID), time.Time{}, "", ""},
		{"MAC for another cookie name gets a fresh ID", validID + "." + wantTag(k2, "OTHER", validID), time.Time{}, "", ""},
		{"MAC for another ID gets a fresh ID", validID + "." + wantTag(k2, DefaultName, "anon-11111111-1111-4111-8111-111111111111"), time.Time{}, "", ""},
		{"non-canonical base64 of a good MAC gets a fresh ID", validID + "." + nonCanonical, time.Time{}, "", ""},
		{"padded MAC gets a fresh ID", validID + "." + goodTag + "==", time.Time{}, "", ""},
		{"truncated MAC gets a fresh ID", validID + "." + goodTag[:tagLen-1], time.Time{}, "", ""},
		{"empty MAC gets a fresh ID", validID + ".", time.Time{}, "", ""},
		{"second separator gets a fresh ID", validID + "." + goodTag + ".x", time.Time{}, "", ""},
		{"authentic MAC over a malformed ID gets a fresh ID", upperID + "." + wantTag(k2, DefaultName, upperID), time.Time{}, "", ""},
		{"unbound value without a window gets a fresh ID", validID, time.Time{}, "", ""},
		{"unbound value after the window gets a fresh ID", validID, t0, "", ""},
		{"unbound value inside the window is kept and re-set bound, marked adopted", validID, t0.Add(time.Second), validID, validID + ".~" + adoptedTag(k2, DefaultName, validID)},
		{"adopted value is kept after the window", validID + ".~" + adoptedTag(k2, DefaultName, validID), t0, validID, validID + ".~" + adoptedTag(k2, DefaultName, validID)},
		{"adopted value with an older key is re-set with the first, still adopted", validID + ".~" + adoptedTag(k1, DefaultName, validID), time.Time{}, validID, validID + ".~" + adoptedTag(k2, DefaultName, validID)},
		{"a proven MAC marked adopted gets a fresh ID", validID + ".~" + goodTag, time.Time{}, "", ""},
		{"an adopted MAC without its mark gets a fresh ID", validID + "." + adoptedTag(k2, DefaultName, validID), time.Time{}, "", ""},
		{"malformed unbound value inside the window gets a fresh ID", "anon-1a2b3", t0.Add(time.Second), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAnonymous(t, Config{Now: fixedClock(t0), BindingKeys: newKeys, AcceptUnboundUntil: tt.window})
			rec := httptest.NewRecorder()
			id, isNew, err := a.GetOrSet(rec, request(false, DefaultName+"="+tt.value))
			if err != nil {
				t.Fatalf("GetOrSet: %v", err)
			}
			c := onlySetCookie(t, rec)
			if tt.wantID == "" {
				if !isNew || !uuidV4ID.MatchString(id) || id == validID {
					t.Errorf("got %q, isNew %v; want a fresh ID", id, isNew)
				}
				if want := id + "." + wantTag(k2, DefaultName, id); c.Value != want {
					t.Errorf("got cookie value %q, want %q", c.Value, want)
				}
				return
			}
			if id != tt.wantID || isNew || c.Value != tt.wantValue {
				t.Errorf("got %q, isNew %v, cookie %q; want %q, false, %q", id, isNew, c.Value, tt.wantID, tt.wantValue)
			}
		})
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestVerifyReportsTheMatchingKey(t *testing.T) {
	b := newBinder(DefaultName, bindContext, [][]byte{secretKey(1), secretKey(2), secretKey(3)})
	for i := range 3 {
		tag := wantTag(secretKey(byte(i+1)), DefaultName, validID)
		if key, ok := b.verify(validID, tag); !ok || key != i {
			t.Errorf("MAC under key %d: got key %d, %v; want %d, true", i, key, ok, i)
		}
	}
}

func TestBinderDoesNotAliasCallerKeys(t *testing.T) {
	key := secretKey(1)
	a := mustAnonymous(t, Config{BindingKeys: [][]byte{key}})
	value := a.plain.bind.sign(validID)
	key[0] ^= 0xff
	if id, _, ok := a.parse(&a.plain, value, t0); !ok || id.Value != validID {
		t.Errorf("after the caller changed its key slice: got %q, %v; want %q, true", id.Value, ok, validID)
	}
}

func TestBoundCookieWithBindingRemovedGetsFreshID(t *testing.T) {
	bound := mustAnonymous(t, Config{BindingKeys: [][]byte{secretKey(1)}})
	plain := mustAnonymous(t, Config{})
	id, isNew, _ := plain.GetOrSet(httptest.NewRecorder(), request(false, DefaultName+"="+bound.plain.bind.sign(validID)))
	if id == validID || !isNew {
		t.Errorf("got %q, %v; want a fresh ID (a bound value is not a bare ID)", id, isNew)
	}
}

func TestPeekWithBinding(t *testing.T) {
	a := mustAnonymous(t, Config{Now: fixedClock(t0), BindingKeys: [][]byte{secretKey(1)}, AcceptUnboundUntil: t0.Add(time.Hour)})
	tests := []struct {
		name   string
		value  string
		wantID string
		wantOK bool
	}{
		{"bound value", a.plain.bind.sign(validID), validID, true},
		{"unbound value inside the window", validID, validID, true},
		{"forged MAC", validID + "." + strings.Repeat("A", tagLen), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, ok := a.Peek(request(false, DefaultName+"="+tt.value)); id != tt.wantID || ok != tt.wantOK {
				t.Errorf("got %q, %v; want %q, %v", id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}
