package wsrpc

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
)

// conn is one WebSocket connection as an [rpc.Conn], on the server or the client side. The rpc
// layer gives it one reader (ReadMessage) and one serialised writer (WriteMessage); the
// keepalive timer and Close only use WriteControl and Close, which gorilla/websocket allows
// concurrently with both.
type conn struct {
	ws        *websocket.Conn
	cfg       connConfig
	budget    *rpc.Budget // server side: the bytes of each message are reserved from it
	closeCode int         // sent by Close on a healthy connection
	closeText string
	burst     *burstConn // under ws, when this side gathers bursts (the server); or nil
	endsAsEOF bool       // the server side: the peer's closing ends input with io.EOF

	// Keepalive state (keepalive.go); times are nanoseconds since epoch (monotonic).
	epoch     time.Time
	lastRecv  atomic.Int64 // when a frame was last received
	readSince atomic.Int64 // when the reader began waiting for input; -1 while it is not

	writing   atomic.Bool // a WriteMessage is in progress
	closeOnce sync.Once
	downOnce  sync.Once
	cause     error         // why the connection went down; set once, inside downOnce
	down      chan struct{} // closed when the socket has been closed

	// Keepalive timer (keepalive.go): its callback runs under pingMu.
	pingMu      sync.Mutex
	pingTimer   *time.Timer // nil without keepalive
	pingStopped bool
	pinged      bool  // a ping is waiting for its answer
	pingAt      int64 // when it was sent
}

var (
	_ rpc.Conn           = (*conn)(nil)
	_ rpc.Flusher        = (*conn)(nil)
	_ rpc.Releaser       = (*conn)(nil)
	_ rpc.ReasonCloser   = (*conn)(nil)
	_ rpc.HangupNotifier = (*conn)(nil)
)

var (
	// errClosed is what ReadMessage returns after Close. It wraps io.ErrClosedPipe, which
	// rpc.Server.ServeConn takes for a connection it closed itself.
	errClosed = fmt.Errorf("wsrpc: connection closed: %w", io.ErrClosedPipe)
	// errNoPong is what ReadMessage returns after the keepalive gave up on the peer.
	errNoPong = errors.New("wsrpc: connection closed: no answer to a ping within the pong timeout")
)

// writeBufferPool holds the write buffers of every connection: a buffer is held only while a
// message is being written, so idle connections cost no write buffer.
var writeBufferPool = &sync.Pool{}

func newConn(ws *websocket.Conn, cfg connConfig, budget *rpc.Budget, closeCode int, closeText string) *conn {
	c := &conn{
		ws:        ws,
		cfg:       cfg,
		budget:    budget,
		closeCode: closeCode,
		closeText: closeText,
		epoch:     time.Now(),
		down:      make(chan struct{}),
	}
	c.readSince.Store(-1)
	ws.SetReadLimit(cfg.readLimit) // on the wire; readBody checks the decompressed size
	ws.SetPingHandler(c.onPing)
	ws.SetPongHandler(c.onPong)
	if cfg.pingInterval > 0 {
		c.pingMu.Lock() // the first turn waits until pingTimer is set
		c.pingTimer = time.AfterFunc(cfg.pingInterval, c.keepalive)
		c.pingMu.Unlock()
	}
	return c
}

// WriteMessage sends msg as one text frame, the trailing newline included (go-ethereum's frames
// end with one too). A message of minCompressSize bytes or more is compressed if the connection
// negotiated permessage-deflate. A failed write closes the connection.
func (c *conn) WriteMessage(msg []byte) error {
	c.writing.Store(true)
	defer c.writing.Store(false)
	if c.burst == nil || c.burst.begin() {
		// One deadline for a burst (the rpc writer calls Flush at its end), not one per frame.
		c.ws.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout))
	}
	c.ws.EnableWriteCompression(len(msg) >= minCompressSize)
	if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		err = fmt.Errorf("wsrpc: write: %w", err)
		c.shutdown(err)
		return err
	}
	return nil
}

// Flush writes the frames of a burst gathered since the first WriteMessage: the rpc writer
// calls it once after a burst of messages, so that they cost one system call.
func (c *conn) Flush() error {
	if c.burst == nil {
		return nil
	}
	c.writing.Store(true)
	defer c.writing.Store(false)
	if err := c.burst.flush(time.Now().Add(c.cfg.writeTimeout)); err != nil {
		err = fmt.Errorf("wsrpc: write: %w", err)
		c.shutdown(err)
		return err
	}
	return nil
}

// Close sends a close frame, unless the connection is already down, and closes the socket. It
// is idempotent and safe to call concurrently with the reader and the writer.
//
// The close frame is skipped while a message is being written (it could only follow it, and a
// write that takes long is one to a peer that stopped reading), and its own write is bounded by
// closeFrameTimeout, so that Close is quick even on a stalled connection: rpc.Server.Stop closes
// its connections one after another.
func (c *conn) Close() error { return c.closeWith(c.closeCode, c.closeText) }

func (c *conn) closeWith(code int, text string) error {
	c.closeOnce.Do(func() {
		select {
		case <-c.down:
		default:
			if !c.writing.Load() {
				msg := websocket.FormatCloseMessage(code, text)
				deadline := time.Now().Add(closeFrameTimeout)
				c.ws.WriteControl(websocket.CloseMessage, msg, deadline)
				if c.burst != nil {
					c.burst.flush(deadline) // in case a burst had begun
				}
			}
		}
		c.shutdown(errClosed)
		c.stopKeepalive()
	})
	return nil
}

// CloseWithReason closes the connection with close code 1008 (policy violation) and reason as
// its text, truncated to fit a control frame; rpc calls it when a client does not read its
// notifications. Like Close, it skips the frame while a write is stalled.
func (c *conn) CloseWithReason(reason string) error {
	if len(reason) > maxCloseText {
		reason = reason[:maxCloseText]
	}
	return c.closeWith(websocket.ClosePolicyViolation, reason)
}

// maxCloseText is the most reason text a close frame holds (125 bytes of payload, 2 of code).
const maxCloseText = 123

// shutdown closes the socket, which ends a pending read, and stops the keepalive. The first
// cause is kept and reported by ReadMessage.
func (c *conn) shutdown(cause error) {
	c.downOnce.Do(func() {
		c.cause = cause
		c.ws.Close()
		close(c.down)
	})
}
