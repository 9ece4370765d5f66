package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadResponse feeds arbitrary bytes to readResponse, the parser of the
// answers loadgen reads from the server measured: it must neither panic
// nor loop, and where both it and net/http's http.ReadResponse accept an
// answer they must agree on its status, body, cookies, Retry-After and
// whether the connection closes after it.
func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Max-Age=3600; HttpOnly\r\nSet-Cookie: b=; Max-Age=0\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nretry-after:  7 \r\nconnection: Close\r\ncontent-length: 1\r\n\r\nx",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
		"HTTP/1.1 304 Not Modified\n\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
		"HTTP/1.1 200 OK\r\nSet-Cookie: old=y; Expires=Thu, 01 Jan 1970 00:00:01 GMT\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 2x0 OK\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r response
		err := readResponse(bufio.NewReaderSize(bytes.NewReader(data), readBufSize), &r, true)
		if err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), &http.Request{Method: "GET"})
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return
		}
		if r.status != resp.StatusCode {
			t.Errorf("status %d, net/http %d", r.status, resp.StatusCode)
		}
		if !bytes.Equal(r.body, body) {
			t.Errorf("body %q, net/http %q", r.body, body)
		}
		if r.close != resp.Close {
			t.Errorf("close %v, net/http %v", r.close, resp.Close)
		}
		wantRetry := -1
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 {
			wantRetry = n
		}
		if r.retryAfter != wantRetry {
			t.Errorf("Retry-After %d, net/http %d", r.retryAfter, wantRetry)
		}
		var got []string
		for _, line := range r.setCookies {
			if c, err := http.ParseSetCookie(line); err == nil {
				got = append(got, c.String())
			}
		}
		var want []string
		for _, c := range resp.Cookies() {
			want = append(want, c.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("cookies %q, net/http %q", got, want)
		}
	})
}

// FuzzRenews checks visitor.renews, the shortcut past http.ParseSetCookie
// for a Set-Cookie line that renews a cookie the visitor has: whenever it
// says so, the general path (ParseSetCookie and the browser's rules in
// update) must leave the visitor's cookies as they were.
func FuzzRenews(f *testing.F) {
	for _, seed := range [][2]string{
		{"ANONYMOUS-USER-ID=anon-1", "ANONYMOUS-USER-ID=anon-1; Path=/; Expires=Mon, 18 Jan 2027 03:20:25 GMT; Max-Age=3888000; HttpOnly; SameSite=Lax"},
		{"a=1", "a=1; max-age=60"},
		{"a=1", "a=1; Max-Age=0"},
		{"a=1", "a=1; Max-Age=-1"},
		{"a=1", "a=1; Max-Age=60; Max-Age=0"},
		{"a=1", "a=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT"},
		{"a=1", "a=2; Max-Age=60"},
		{"a=\"1\"", "a=\"1\"; Max-Age=60"},
		{"a=1", " a=1; Max-Age=60"},
		{"a=1", "a=1; Max-Age=060"},
		{"a=1", "a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:01 GMT"},
		{"a b=1", "a b=1; Max-Age=60"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, have, line string) {
		name, value, ok := strings.Cut(have, "=")
		if !ok {
			return
		}
		v := visitor{cookies: map[string]string{name: value}}
		if !v.renews(line) {
			return
		}
		if _, err := http.ParseSetCookie(line); err != nil {
			t.Fatalf("renews(%q) with %q, but http.ParseSetCookie refuses it: %v", line, have, err)
		}
		general := visitor{cookies: map[string]string{name: value}}
		general.apply(line)
		if len(general.cookies) != 1 || general.cookies[name] != value {
			t.Errorf("renews(%q) with %q, but the general path gives %q", line, have, general.cookies)
		}
	})
}
