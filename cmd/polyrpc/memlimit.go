package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the server runs
// with unless the GOMEMLIMIT environment variable sets one.
//
// The server refuses requests beyond its budget of request bytes in flight (128 MiB by
// default), but the requests it takes in still cost several times their size while they run
// (the message, its decoded arguments, the encoded answer), and with the garbage collector's
// default pacing the heap may grow to twice what is live before a collection: under 64
// concurrent 30 MiB WebSocket requests the process peaked between 700 MiB and 1 GiB from one
// run to the next. With a soft limit the collector runs sooner as the heap nears it, instead of
// letting garbage pile up; below it, GOGC's pacing is unchanged, so a server with a small heap
// collects as often as it did. A deployment that expects more live memory than this (many
// large subscriptions, a large budget) raises it with GOMEMLIMIT, as for any Go program.
const defaultMemoryLimit = 768 << 20

// applyMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT is set (the runtime has applied
// that one already) and returns the limit in effect.
func applyMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1) // reads the limit without changing it
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	return defaultMemoryLimit
}
