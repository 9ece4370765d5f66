package main

import (
	"encoding/binary"
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampConn reads a TCP connection with recvmsg and keeps the kernel's
// receive time (SO_TIMESTAMPNS, CLOCK_REALTIME) of the last bytes read:
// when the answer reached this machine, before this process's goroutine
// got a CPU to read it. On two shared cores the two can be milliseconds
// apart, and the difference is the client's wait, not the server's.
type stampConn struct {
	*net.TCPConn
	rc      syscall.RawConn
	oob     []byte
	arrived int64 // Unix nanoseconds of the last read's bytes; 0 if unknown
}

// stamped returns conn reading through a stampConn, or conn itself if the
// kernel refuses SO_TIMESTAMPNS (arrival times are then unknown).
func stamped(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return conn
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return conn
	}
	return &stampConn{TCPConn: tc, rc: rc, oob: make([]byte, syscall.CmsgSpace(16))}
}

func (c *stampConn) lastArrival() int64 { return c.arrived }

func (c *stampConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, wrapReadErr(err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	if t, ok := timestampNS(c.oob[:oobn]); ok {
		c.arrived = t
	}
	return n, nil
}

// wrapReadErr makes a recvmsg errno look like net.Conn's read errors.
func wrapReadErr(err error) error {
	if _, ok := err.(syscall.Errno); ok {
		return &net.OpError{Op: "read", Net: "tcp", Err: err}
	}
	return err
}

// timestampNS finds SCM_TIMESTAMPNS in control messages.
func timestampNS(oob []byte) (int64, bool) {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		data := oob[syscall.CmsgLen(0):l]
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			return sec*int64(time.Second) + nsec, true
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}
