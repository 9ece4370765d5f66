package cookie_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/webchatid/webchatid/cookie"
)

func ExampleGetOrSetAnonymousID() {
	createJWT := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, isNew, err := cookie.GetOrSetAnonymousID(w, r)
		if err != nil {
			http.Error(w, "cannot issue an ID", http.StatusInternalServerError)
			return
		}
		// id becomes the token's sub; isNew tells a ledger to record it.
		fmt.Printf("new: %v, ID: %s…, %d bytes\n", isNew, id[:5], len(id))
	})

	// The first visit gets a fresh ID in a cookie.
	rec := httptest.NewRecorder()
	createJWT.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/createJWT", nil))
	setCookie := rec.Header().Get("Set-Cookie")
	for _, attr := range strings.Split(setCookie, "; ")[1:] {
		if !strings.HasPrefix(attr, "Expires=") { // the value and expiry vary
			fmt.Println(attr)
		}
	}

	// The browser sends it back: same ID, and the cookie is renewed.
	r := httptest.NewRequest(http.MethodGet, "/createJWT", nil)
	r.Header.Set("Cookie", strings.Split(setCookie, "; ")[0])
	createJWT.ServeHTTP(httptest.NewRecorder(), r)

	// Output:
	// new: true, ID: anon-…, 41 bytes
	// Path=/
	// Max-Age=3888000
	// HttpOnly
	// SameSite=Lax
	// new: false, ID: anon-…, 41 bytes
}

func ExampleNewAnonymous() {
	anon, err := cookie.NewAnonymous(cookie.Config{
		Name: "__Host-anon", // Secure, Path=/, no Domain: enforced here
		// Bind the ID to the cookie, so knowing a sub is not enough to use it.
		// A fixed key for the example; never use this key. Load real keys from
		// a secret store.
		BindingKeys: [][]byte{[]byte("example-binding-key-32-bytes-!!!")},
		Now:         func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}

	rec := httptest.NewRecorder()
	id, isNew, err := anon.GetOrSet(rec, httptest.NewRequest(http.MethodGet, "https://example.com/createJWT", nil))
	if err != nil {
		log.Fatal(err)
	}
	name, rest, _ := strings.Cut(rec.Header().Get("Set-Cookie"), "=")
	value, attrs, _ := strings.Cut(rest, "; ")
	fmt.Println(name, isNew)
	fmt.Println(strings.HasPrefix(value, id+"."), len(value)-len(id)) // the ID, '.', 22-character MAC
	fmt.Println(attrs)

	// Someone who learned the ID from a token cannot present it bare.
	r := httptest.NewRequest(http.MethodGet, "https://example.com/createJWT", nil)
	r.Header.Set("Cookie", "__Host-anon="+id)
	_, ok := anon.Peek(r)
	fmt.Println("bare ID accepted:", ok)

	// Output:
	// __Host-anon true
	// true 23
	// Path=/; Expires=Mon, 16 Feb 2026 03:04:05 GMT; Max-Age=3888000; HttpOnly; Secure; SameSite=Lax
	// bare ID accepted: false
}

func ExampleSealer() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	session, err := cookie.NewSealer(cookie.SealerConfig{
		Name: "__Host-session",
		// A fixed key for the example; never use this key.
		Keys:   [][]byte{[]byte("example-sealing-key-32-bytes-!!!")},
		MaxAge: 8 * time.Hour,
		Now:    func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}

	// After a successful login:
	rec := httptest.NewRecorder()
	login := httptest.NewRequest(http.MethodPost, "https://example.com/login", nil)
	if err := session.Write(rec, login, []byte(`{"custom_user_id":"alice"}`)); err != nil {
		log.Fatal(err)
	}
	setCookie := rec.Header().Get("Set-Cookie")
	fmt.Println(setCookie[strings.Index(setCookie, "; ")+2:])

	// On a later request:
	r := httptest.NewRequest(http.MethodGet, "https://example.com/createJWT", nil)
	r.Header.Set("Cookie", strings.Split(setCookie, "; ")[0])
	user, err := session.Read(r)
	fmt.Printf("%s %v\n", user, err)

	// A changed value does not open; neither does one past its expiry.
	value := strings.TrimPrefix(strings.Split(setCookie, "; ")[0], "__Host-session=")
	tampered := []byte(value)
	tampered[10] ^= 1
	_, err = session.Open(string(tampered))
	fmt.Println(errors.Is(err, cookie.ErrInvalid), err)
	now = now.Add(9 * time.Hour)
	_, err = session.Open(value)
	fmt.Println(errors.Is(err, cookie.ErrExpired), err)

	// Output:
	// Path=/; Expires=Fri, 02 Jan 2026 11:04:05 GMT; Max-Age=28800; HttpOnly; Secure; SameSite=Lax
	// {"custom_user_id":"alice"} <nil>
	// true cookie: invalid value
	// true cookie: value expired
}
