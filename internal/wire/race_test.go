//go:build race

package wire

// raceEnabled: the race detector makes sync.Pool drop items at random, so pooled scratch space
// is allocated again now and then.
const raceEnabled = true
