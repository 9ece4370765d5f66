//go:build !unix

package main

import "time"

// selfCPU is unknown here: no getrusage.
func selfCPU() (time.Duration, bool) { return 0, false }
