// Package bufpool keeps large byte buffers between messages, so that a connection that
// carries large messages one after another reads each into a buffer the previous one used
// instead of a new allocation, which the runtime must zero and the garbage collector must
// reclaim.
//
// Buffers are pooled by size class (a power of two) in sync.Pools shared by all connections,
// so an idle connection holds none, and a pool holds nothing for long after its buffers stop
// being used (sync.Pool lets go of them over two garbage collections). Buffers under
// [MinSize] are left to the allocator; buffers over [MaxSize] are not kept, so that a burst of
// huge messages does not leave huge buffers behind.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 13
	maxShift = 20

	// MinSize is the smallest buffer Put keeps and Get looks for.
	MinSize = 1 << minShift
	// MaxSize is the largest buffer Put keeps and Get looks for.
	MaxSize = 1<<(maxShift+1) - 1
)

// pools[k] holds buffers whose capacity is in [2^(minShift+k), 2^(minShift+k+1)).
var pools [maxShift - minShift + 1]sync.Pool

// Get returns a buffer of length n and a capacity of at most n+n/2 (so that what a message
// keeps is close to its length). Its bytes are unspecified (a pooled buffer keeps what it held):
// the caller writes before it reads. It is a pooled buffer when one that fits is at hand, else
// a new one.
func Get(n int) []byte {
	if n < MinSize || n > MaxSize {
		return make([]byte, n)
	}
	limit := n + n/2
	// First the class of n itself, where a connection carrying messages of one size finds
	// the buffer it put back, then the next one.
	k := bits.Len(uint(n)) - 1
	for _, k := range [2]int{k, k + 1} {
		if k > maxShift || 1<<k > limit {
			break
		}
		// A buffer that does not fit is dropped: put back, it would be the one found first
		// again (a pool hands out what was put last), hiding the ones that fit.
		if p, ok := pools[k-minShift].Get().(*[]byte); ok && cap(*p) >= n && cap(*p) <= limit {
			return (*p)[:n]
		}
	}
	return make([]byte, n)
}

// Put gives b back for reuse. The caller must not use b, or any slice sharing its array,
// afterwards. Buffers outside [MinSize, MaxSize] are left to the garbage collector.
func Put(b []byte) {
	c := cap(b)
	if c < MinSize || c > MaxSize {
		return
	}
	b = b[:0]
	pools[bits.Len(uint(c))-1-minShift].Put(&b)
}
