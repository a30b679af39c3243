package wsrpc

import (
	"errors"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// Keepalive. Anything received from the peer (a message, a ping, a pong) proves it alive; a
// successful write proves nothing, since it only reached the kernel's buffer. So:
//
//   - after pingInterval without receiving anything, a ping is sent;
//   - if nothing at all is received within pongTimeout after it, the connection is closed.
//
// Frames are only received while the reader is waiting for input. A server whose reader is not
// reading (every call slot of the connection is busy, Options.MaxConcurrentCalls) cannot see
// the pong, so the pong timeout only counts time during which the reader was waiting: a busy
// server is not mistaken for a dead peer.

// now returns the monotonic time since the connection was set up.
func (c *conn) now() int64 { return int64(time.Since(c.epoch)) }

// touch records that a frame was received.
func (c *conn) touch() { c.lastRecv.Store(c.now()) }

// onPing answers a ping with a pong, as gorilla/websocket's default handler does, and records
// the traffic. It runs on the reader's goroutine.
func (c *conn) onPing(data string) error {
	c.touch()
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(controlWriteTimeout))
	var ne net.Error
	if err == nil || errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
		return nil // a pong that could not be sent in time is not worth ending the connection
	}
	return err
}

func (c *conn) onPong(string) error {
	c.touch()
	return nil
}

// keepalive runs on the keepalive timer, which is a timer rather than a goroutine so that an
// idle connection holds no stack for it: it pings an idle peer and closes the connection when a
// ping goes unanswered, and sets the timer for its next turn unless the connection is down.
func (c *conn) keepalive() {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if c.pingStopped {
		return
	}
	select {
	case <-c.down:
		return
	default:
	}
	if next, ok := c.keepaliveTurn(); ok {
		c.pingTimer.Reset(next)
	}
}

// keepaliveTurn does one turn of the keepalive and returns when the next one is due; it reports
// false when it has closed the connection.
func (c *conn) keepaliveTurn() (time.Duration, bool) {
	interval, timeout := c.cfg.pingInterval, c.cfg.pongTimeout
	now := c.now()
	last := c.lastRecv.Load()
	if c.pinged && last >= c.pingAt {
		c.pinged = false // answered (by the pong or by anything else)
	}
	if !c.pinged {
		if idle := time.Duration(now - last); idle < interval {
			return interval - idle, true
		}
		// pingAt is taken before the write, so that an answer that arrives while the write
		// returns is not mistaken for older traffic. A failed write is left to the pong
		// timeout.
		c.pinged, c.pingAt = true, now
		c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(controlWriteTimeout))
		return timeout, true
	}
	since := c.readSince.Load()
	if since < 0 {
		return timeout, true // the reader is busy: the answer may be waiting unread
	}
	if waited := time.Duration(now - max(c.pingAt, since)); waited < timeout {
		return timeout - waited, true
	}
	c.shutdown(errNoPong)
	return 0, false
}

// stopKeepalive stops the keepalive timer and waits for a turn in progress.
func (c *conn) stopKeepalive() {
	if c.pingTimer == nil {
		return
	}
	c.pingMu.Lock()
	c.pingStopped = true
	c.pingTimer.Stop()
	c.pingMu.Unlock()
}
