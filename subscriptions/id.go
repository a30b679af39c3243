package subscriptions

import (
	"crypto/rand"
	"encoding/hex"
)

// ID identifies a subscription on the wire: "0x" followed by 32 hex digits.
type ID string

// NewID returns a random, unguessable subscription id (16 bytes from crypto/rand).
func NewID() ID {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	var out [2 + 32]byte
	out[0], out[1] = '0', 'x'
	hex.Encode(out[2:], b[:])
	return ID(out[:])
}
