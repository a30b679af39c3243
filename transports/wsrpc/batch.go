package wsrpc

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// batchConn sits under gorilla/websocket (which writes every frame with its own Write call) so
// that a burst of messages costs one system call: between begin and flush, frames are gathered
// in a buffer; flush writes them at once. Outside a burst, and for a frame that would make the
// buffer larger than maxBatch, writes go straight through. gorilla serialises its writes, so
// frames keep their order; a control frame written during a burst joins it.
type batchConn struct {
	net.Conn

	mu       sync.Mutex
	batching bool
	buf      *[]byte   // from batchPool, only during a burst
	deadline time.Time // the last write deadline set during a burst, applied by writes
}

// maxBatch bounds the bytes gathered before they are written.
const maxBatch = 256 << 10

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// begin starts a burst, unless one is under way; it reports whether it started one.
func (b *batchConn) begin() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		return false
	}
	b.batching = true
	return true
}

// SetWriteDeadline records the deadline during a burst (gorilla sets one for every frame; only
// real writes need it) and sets it otherwise.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	if b.batching {
		b.deadline = t
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	return b.Conn.SetWriteDeadline(t)
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	if !b.batching {
		b.mu.Unlock()
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf = batchPool.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) <= maxBatch {
		*b.buf = append(*b.buf, p...)
		b.mu.Unlock()
		return len(p), nil
	}
	// Too much to gather: write what is gathered, then p, keeping the burst open.
	b.Conn.SetWriteDeadline(b.deadline)
	err := b.writeOutLocked()
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return b.Conn.Write(p)
}

// flush ends the burst and writes what it gathered, within deadline.
func (b *batchConn) flush(deadline time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	if b.buf == nil {
		return nil
	}
	b.Conn.SetWriteDeadline(deadline)
	return b.writeOutLocked()
}

// writeOutLocked writes the gathered bytes and gives the buffer back to the pool.
func (b *batchConn) writeOutLocked() error {
	var err error
	if len(*b.buf) > 0 {
		_, err = b.Conn.Write(*b.buf)
	}
	*b.buf = (*b.buf)[:0]
	batchPool.Put(b.buf)
	b.buf = nil
	return err
}

// hijacker hands gorilla's Upgrade a batchConn instead of the raw hijacked connection.
type hijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	return h.conn, rw, nil
}
