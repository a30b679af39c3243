package wsrpc

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/internal/burst"
)

// burstConn sits under gorilla/websocket so that a burst of messages costs one system call:
// between begin and flush, the frames gorilla writes are gathered by a burst.Writer, and flush
// writes them at once. It relies on how gorilla writes (pinned by TestGorillaWritePattern):
// every frame, control frames included, is written with Write calls made under gorilla's write
// lock, each after a SetWriteDeadline; frames keep their order, and a control frame written
// during a burst joins it.
type burstConn struct {
	net.Conn

	mu       sync.Mutex
	out      burst.Writer // writes to deadlined{b}
	deadline time.Time    // the write deadline last asked for
	applied  time.Time    // the write deadline last set on Conn: deadline, outside a burst
}

// maxBurst bounds the bytes gathered before they are written.
const maxBurst = 256 << 10

func newBurstConn(c net.Conn) *burstConn {
	b := &burstConn{Conn: c}
	b.out = burst.Writer{W: deadlined{b}, Max: maxBurst}
	return b
}

// begin starts a burst, unless one is under way; it reports whether it started one.
func (b *burstConn) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.Begin()
}

// SetWriteDeadline records the deadline during a burst (gorilla sets one for every frame; only
// the writes that reach the network need it) and sets it otherwise.
func (b *burstConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deadline = t
	if b.out.Open() {
		return nil
	}
	b.applied = t
	return b.Conn.SetWriteDeadline(t)
}

// Write gathers p during a burst and writes it otherwise (see burst.Writer).
func (b *burstConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.Write(p)
}

// flush ends the burst and writes what it gathered, within deadline.
func (b *burstConn) flush(deadline time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deadline = deadline
	return b.out.Flush()
}

// deadlined is what the burst writer of a burstConn writes to: the connection, within the
// deadline last asked for (b.mu held).
type deadlined struct{ b *burstConn }

// Write writes p within the deadline asked for. A deadline set on the socket is a timer for
// the runtime to move, which a connection writing a burst every few milliseconds would do at
// every burst: the deadline already set is kept while it is no later than the one asked for
// and leaves the write at least half the time that one would, so each write has between half
// and all of its timeout.
func (d deadlined) Write(p []byte) (int, error) {
	b := d.b
	if !b.deadline.Equal(b.applied) {
		now := time.Now()
		if b.applied.IsZero() || b.applied.After(b.deadline) || 2*b.applied.Sub(now) < b.deadline.Sub(now) {
			b.applied = b.deadline
			b.Conn.SetWriteDeadline(b.deadline)
		}
	}
	return b.Conn.Write(p)
}

// hijacker hands gorilla's Upgrade a burstConn instead of the raw hijacked connection.
type hijacker struct {
	http.ResponseWriter
	conn *burstConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = newBurstConn(c)
	return h.conn, rw, nil
}
