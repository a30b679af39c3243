//go:build race

package rpc

// raceEnabled: the race detector makes sync.Pool drop items at random, so pooled buffers are
// allocated again now and then.
const raceEnabled = true
