package identity

// identity's tests run the signing queue without the poller hand-over
// (tokenpath.go, pollOnHandover): many of them run a Server inside a
// testing/synctest bubble, where a goroutine blocked reading a pipe is not
// durably blocked, so synctest.Wait would never return. The hand-over
// itself is tested in identity/internal/admission and, through real
// connections, by examples/webchat's load and browser tests.
func init() { pollOnHandover = false }
