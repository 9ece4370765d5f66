//go:build !linux

package main

import "net"

// stamped returns conn: kernel receive times are read on Linux only.
func stamped(conn net.Conn) net.Conn { return conn }
