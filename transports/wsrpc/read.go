package wsrpc

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/internal/bufpool"
	"github.com/polyrpc/polyrpc/internal/wire"
	"github.com/polyrpc/polyrpc/rpc"
)

// ReadMessage returns the next message, text or binary. When the server's request budget
// refuses it, the rest of the message is discarded and an rpc.RefusedError returned
// (rpc.ErrServerBusy, with the message's first bytes); the connection stays usable. Any other
// error is final and closes the connection.
func (c *conn) ReadMessage() ([]byte, error) {
	c.readSince.Store(c.now())
	defer c.readSince.Store(-1)
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, c.readFailed(err)
	}
	c.touch()
	msg, err := c.readBody(r)
	if err != nil && !errors.Is(err, rpc.ErrServerBusy) {
		return nil, c.readFailed(err)
	}
	return msg, err
}

// readBody reads one message into pooled chunks, charging its bytes to the budget as they
// arrive, and returns it copied into one slice (a pooled one for a large message).
func (c *conn) readBody(r io.Reader) ([]byte, error) {
	cur := smallChunks.Get().(*[]byte)
	var full []*[]byte // chunks filled before cur
	defer func() {
		// Only the chunks of a message's first MiB go back to the pool: a pool holding the
		// chunks of every large message read recently keeps memory the budget no longer counts.
		for i, ch := range full {
			if i < pooledChunks {
				putChunk(ch)
			}
		}
		if len(full) < pooledChunks {
			putChunk(cur)
		}
	}()
	n, total, charged := 0, 0, 0 // n: bytes in cur
	for {
		if n == len(*cur) {
			full = append(full, cur)
			cur, n = largeChunks.Get().(*[]byte), 0
		}
		m, err := r.Read((*cur)[n:])
		n += m
		total += m
		if m > 0 {
			c.touch()
			if c.cfg.readLimit > 0 && int64(total) > c.cfg.readLimit {
				c.releaseBytes(charged)
				return nil, c.tooBig()
			}
			if c.budget != nil {
				if !c.budget.Reserve(m) {
					c.releaseBytes(charged)
					first := (*cur)[:n]
					if len(full) > 0 {
						first = *full[0]
					}
					return nil, c.skip(r, total, first)
				}
				charged += m
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.releaseBytes(charged)
			return nil, err
		}
	}
	msg := bufpool.Get(total)[:0] // given back by Release
	for _, ch := range full {
		msg = append(msg, *ch...)
	}
	return append(msg, (*cur)[:n]...), nil
}

// Messages are read into chunks from these pools, shared by every connection, so that an idle
// connection holds no read buffer. The first chunk of a message is small: most requests fit in
// it, and a peer that trickles a message in holds little memory.
var (
	smallChunks = sync.Pool{New: func() any { b := make([]byte, smallChunk); return &b }}
	largeChunks = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}
)

// pooledChunks is how many chunks of one message go back to the pool (1 MiB).
const pooledChunks = 1 << 20 / readChunk

func putChunk(b *[]byte) {
	if len(*b) == smallChunk {
		smallChunks.Put(b)
	} else {
		largeChunks.Put(b)
	}
}

// skip discards the rest of a message the budget refused (read bytes were read so far, the
// first of them in first) and returns the refusal, with a copy of the message's head.
func (c *conn) skip(r io.Reader, read int, first []byte) error {
	head := append([]byte(nil), first[:min(len(first), wire.HeadBytes)]...)
	src := r
	if c.cfg.readLimit > 0 {
		src = io.LimitReader(r, c.cfg.readLimit-int64(read)+1)
	}
	n, err := io.Copy(io.Discard, src)
	if err != nil {
		return err
	}
	if c.cfg.readLimit > 0 && int64(read)+n > c.cfg.readLimit {
		return c.tooBig()
	}
	return &rpc.RefusedError{Err: rpc.ErrServerBusy, Head: head}
}

// tooBig handles a message over the read limit once decompressed, as gorilla/websocket handles
// one over the limit on the wire: close code 1009.
func (c *conn) tooBig() error {
	msg := websocket.FormatCloseMessage(websocket.CloseMessageTooBig, "")
	c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(controlWriteTimeout))
	return websocket.ErrReadLimit
}

func (c *conn) releaseBytes(n int) {
	if c.budget != nil && n > 0 {
		c.budget.Release(n)
	}
}

// Release gives back the budget held for msg once the server has answered it, and msg itself
// for reuse by the next large message (see rpc.Conn: the server releases a message only when
// nothing refers to it any longer).
func (c *conn) Release(msg []byte) {
	c.releaseBytes(len(msg))
	bufpool.Put(msg)
}

// readFailed closes the connection after a read error and returns the error to report: on the
// server side, io.EOF when the peer ended the connection (see peerClosed), so that the server
// does not report a failure for a client that left; PeerGone is closed by then.
func (c *conn) readFailed(err error) error {
	if errors.Is(err, websocket.ErrReadLimit) {
		c.linger() // the close frame is out; let it reach a peer that is still sending
	}
	c.shutdown(fmt.Errorf("wsrpc: %w", err))
	if c.endsAsEOF && peerClosed(err) {
		return io.EOF
	}
	return c.cause
}

// peerClosed reports whether a read error is the peer ending the connection: its close frame
// with a code of a normal end (1000 normal, 1001 going away, 1005 no code), or the socket
// closed without a close frame (gorilla's 1006).
func peerClosed(err error) bool {
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway,
		websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure)
}

// PeerGone is closed once the socket is closed. A WebSocket peer that sent its close frame
// reads no more messages (RFC 6455 §5.5.1), so the server cancels the calls it had received.
func (c *conn) PeerGone() <-chan struct{} { return c.down }

// linger half-closes the socket and reads until the peer closes its side (or closeLinger
// passes), so that the close frame already sent is not destroyed by a TCP reset caused by
// closing a socket that still has unread input.
func (c *conn) linger() {
	nc := c.ws.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	nc.SetReadDeadline(time.Now().Add(closeLinger))
	io.Copy(io.Discard, nc)
}
