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

// keepalive pings an idle peer and closes the connection when a ping goes unanswered. It ends
// when the connection goes down.
func (c *conn) keepalive() {
	defer close(c.pingDone)
	interval, timeout := c.cfg.pingInterval, c.cfg.pongTimeout
	t := time.NewTimer(interval)
	defer t.Stop()
	pinged := false // a ping is waiting for its answer
	var pingAt int64
	for {
		select {
		case <-c.down:
			return
		case <-t.C:
		}
		now := c.now()
		last := c.lastRecv.Load()
		if pinged && last >= pingAt {
			pinged = false // answered (by the pong or by anything else)
		}
		if !pinged {
			if idle := time.Duration(now - last); idle < interval {
				t.Reset(interval - idle)
				continue
			}
			// pingAt is taken before the write, so that an answer that arrives while the
			// write returns is not mistaken for older traffic. A failed write is left to the
			// pong timeout.
			pinged, pingAt = true, now
			c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(controlWriteTimeout))
			t.Reset(timeout)
			continue
		}
		since := c.readSince.Load()
		if since < 0 {
			t.Reset(timeout) // the reader is busy: the answer may be waiting unread
			continue
		}
		if waited := time.Duration(now - max(pingAt, since)); waited < timeout {
			t.Reset(timeout - waited)
			continue
		}
		c.shutdown(errNoPong)
		return
	}
}
