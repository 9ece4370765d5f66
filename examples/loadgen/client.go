package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// The lean client: one net.Conn per connection, a request written from
// bytes built once, the answer read with a bufio.Reader into a reused
// buffer. net/http's Client costs several times the CPU per request
// (readLoop and writeLoop goroutines, channel hand-offs, header maps), CPU
// taken from the server measured on the same cores.

const (
	readBufSize = 8 << 10 // the longest status or header line accepted
	maxHeaders  = 128     // header lines per answer
	maxBody     = 1 << 20 // a token is about 1 kB
)

// errMalformed is an answer that is not HTTP/1.x as this client reads it.
var errMalformed = errors.New("malformed HTTP response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// response is one answer, its storage reused from request to request.
type response struct {
	status     int
	retryAfter int      // first Retry-After in whole seconds; -1 if none or not a number
	setCookies []string // Set-Cookie values, kept only when asked for
	close      bool     // the server closes the connection after this answer
	body       []byte
	arrived    int64 // kernel receive time of the answer's last bytes, Unix ns; 0 if unknown (see stampConn)
}

// readResponse reads one answer to a GET from br into r: the status line,
// the headers (Content-Length, Transfer-Encoding: chunked, Connection,
// Retry-After and, if cookies, Set-Cookie; others are skipped) and the
// body. It refuses interim 1xx answers (a token endpoint sends none),
// transfer codings other than chunked, lines longer than the reader's
// buffer, more than maxHeaders headers and bodies above maxBody.
func readResponse(br *bufio.Reader, r *response, cookies bool) error {
	r.status, r.retryAfter, r.close = 0, -1, false
	r.setCookies, r.body = r.setCookies[:0], r.body[:0]
	line, err := readLine(br)
	if err != nil {
		return err
	}
	var http10 bool
	switch {
	case bytes.HasPrefix(line, []byte("HTTP/1.1 ")):
	case bytes.HasPrefix(line, []byte("HTTP/1.0 ")):
		http10 = true
	default:
		return malformed("status line %.40q", line)
	}
	code := line[len("HTTP/1.1 "):]
	if len(code) < 3 || (len(code) > 3 && code[3] != ' ') {
		return malformed("status line %.40q", line)
	}
	for _, c := range code[:3] {
		if c < '0' || c > '9' {
			return malformed("status line %.40q", line)
		}
		r.status = r.status*10 + int(c-'0')
	}
	if r.status < 200 {
		return malformed("status %d (interim answers are not supported)", r.status)
	}
	length := int64(-1)
	var chunked, hasClose, keepAlive bool
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		if n == maxHeaders {
			return malformed("more than %d header lines", maxHeaders)
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			return malformed("header line %.40q", line)
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case asciiEqualFold(name, "Content-Length"):
			v, err := parseLength(value)
			if err != nil {
				return err
			}
			if length >= 0 && v != length {
				return malformed("two Content-Length headers, %d and %d", length, v)
			}
			length = v
		case asciiEqualFold(name, "Transfer-Encoding"):
			if http10 {
				continue // ignored in HTTP/1.0, as net/http does
			}
			if !asciiEqualFold(value, "chunked") || chunked {
				return malformed("Transfer-Encoding %.40q", value)
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				hasClose = hasClose || asciiEqualFold(tok, "close")
				keepAlive = keepAlive || asciiEqualFold(tok, "keep-alive")
			}
		case asciiEqualFold(name, "Retry-After"):
			if r.retryAfter == -1 {
				r.retryAfter = -2 // seen: later ones do not count
				if v, err := strconv.Atoi(string(value)); err == nil && v >= 0 {
					r.retryAfter = v
				}
			}
		case cookies && asciiEqualFold(name, "Set-Cookie"):
			r.setCookies = append(r.setCookies, string(value))
		}
	}
	if r.retryAfter < 0 {
		r.retryAfter = -1
	}
	r.close = hasClose || (http10 && !keepAlive) // HTTP/1.0 closes unless it says keep-alive
	switch {
	case r.status == http.StatusNoContent || r.status == http.StatusNotModified:
		return nil
	case chunked:
		r.body, err = readBody(httputil.NewChunkedReader(br), r.body)
		var ne net.Error
		if err != nil && !errors.As(err, &ne) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errMalformed) {
			err = fmt.Errorf("%w: chunked body: %v", errMalformed, err)
		}
		if err != nil {
			return err
		}
		for n := 0; ; n++ { // trailers, then the empty line
			line, err := readLine(br)
			if err != nil {
				return err
			}
			if len(line) == 0 {
				return nil
			}
			if n == maxHeaders {
				return malformed("more than %d trailer lines", maxHeaders)
			}
		}
	case length >= 0:
		if length > maxBody {
			return malformed("Content-Length %d above %d", length, maxBody)
		}
		r.body = append(r.body, make([]byte, length)...)
		_, err := io.ReadFull(br, r.body)
		return err
	default: // the body ends where the connection does
		r.close = true
		r.body, err = readBody(br, r.body)
		return err
	}
}

// readLine returns the next line without its "\n" or "\r\n"; the slice is
// valid until the next read from br.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, malformed("line longer than %d bytes", br.Size())
	}
	if err == io.EOF && len(line) > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readBody appends r up to its EOF to buf, at most maxBody bytes.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), maxBody+1)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxBody {
			return buf, malformed("body above %d bytes", maxBody)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, malformed("Content-Length %.40q", v)
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, malformed("Content-Length %.40q", v)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// asciiEqualFold reports whether b is s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// client is one keep-alive HTTP/1.1 connection to one URL, for one
// goroutine. It sends GET requests with an optional Cookie header.
type client struct {
	addr     string // host:port dialled
	tlsName  string // https: the name the certificate must have; "" for http
	prefix   []byte // "GET <path?query> HTTP/1.1\r\nHost: <host>\r\n"
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout  time.Duration
	cookies  bool // keep the answers' Set-Cookie values
	conn     net.Conn
	br       *bufio.Reader
	wbuf     []byte
	reused   bool         // conn has carried an answer already
	stopWake func() bool  // stops the context's wake-up of conn
	stamp    arrivalTimer // conn's kernel receive times; nil if unknown
}

// arrivalTimer is a connection that knows when its last bytes read reached
// the kernel (stampConn, Linux).
type arrivalTimer interface {
	// lastArrival is the Unix time in nanoseconds, 0 if unknown.
	lastArrival() int64
}

// newClient returns a client for raw (a URL checkLoopback accepted) that
// dials with dial.
func newClient(raw string, dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration, cookies bool) (*client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	c := &client{dial: dial, timeout: timeout, cookies: cookies, br: bufio.NewReaderSize(nil, readBufSize)}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	c.addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		c.tlsName = u.Hostname()
	}
	c.prefix = fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	return c, nil
}

// do sends one GET with the Cookie header cookie (none if empty) and reads
// the answer into r. A reused connection that fails before any byte of
// the answer (the server closed it while idle) is dialled again and the
// request sent once more, as net/http's Transport does for a GET.
func (c *client) do(ctx context.Context, cookie []byte, r *response) error {
	r.status = 0
	c.wbuf = append(c.wbuf[:0], c.prefix...)
	if len(cookie) > 0 {
		c.wbuf = append(c.wbuf, "Cookie: "...)
		c.wbuf = append(c.wbuf, cookie...)
		c.wbuf = append(c.wbuf, "\r\n"...)
	}
	c.wbuf = append(c.wbuf, "\r\n"...)
	for {
		if c.conn == nil {
			if err := c.connect(ctx); err != nil {
				return err
			}
		}
		reused := c.reused
		if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
			c.Close()
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := c.conn.Write(c.wbuf)
		if err == nil {
			_, err = c.br.Peek(1)
		}
		if err != nil {
			c.Close()
			if reused && !isTimeout(err) && ctx.Err() == nil {
				continue // closed while idle: once more on a new connection
			}
			return err
		}
		err = readResponse(c.br, r, c.cookies)
		r.arrived = 0
		if c.stamp != nil {
			r.arrived = c.stamp.lastArrival()
		}
		if err != nil || r.close {
			c.Close()
		} else {
			c.reused = true
		}
		return err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *client) connect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	c.stamp, _ = conn.(arrivalTimer)
	if c.tlsName != "" {
		tc := tls.Client(conn, &tls.Config{ServerName: c.tlsName, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.conn, c.reused = conn, false
	c.br.Reset(conn)
	// An interrupt (ctx) unblocks a read or write in progress.
	c.stopWake = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// Close closes the connection, if any; the next do dials a new one.
func (c *client) Close() {
	if c.conn == nil {
		return
	}
	c.stopWake()
	c.conn.Close()
	c.conn, c.reused, c.stamp = nil, false, nil
	c.br.Reset(nil)
}

// getOnce is one GET on a connection of its own, for -prime.
func getOnce(ctx context.Context, raw, cookie string, timeout time.Duration) (response, error) {
	c, err := newClient(raw, loopbackDial(new(atomic.Int64)), timeout, true)
	if err != nil {
		return response{}, err
	}
	defer c.Close()
	var r response
	err = c.do(ctx, []byte(cookie), &r)
	return r, err
}
