package rpc

import (
	"io"

	"github.com/polyrpc/polyrpc/internal/bufpool"
	"github.com/polyrpc/polyrpc/internal/burst"
	"github.com/polyrpc/polyrpc/internal/wire"
)

// NewStreamConn frames a byte stream as a [Conn]: incoming bytes are a sequence of JSON values,
// with or without whitespace or newlines between them, in pieces or several per read; each
// outgoing message is written as one line. A value longer than maxMessage bytes is skipped and
// reported as [ErrMessageTooLarge] (in a [RefusedError] with the value's first bytes);
// maxMessage <= 0 means 32 MiB.
//
// The framer only finds where each value ends (by tracking strings and brackets); whether the
// value is valid JSON is for the server or client to decide, so a malformed value yields a
// -32700 answer and the stream goes on with the next one.
func NewStreamConn(rwc io.ReadWriteCloser, maxMessage int) Conn {
	return newStreamConn(rwc, maxMessage)
}

// newStreamConn is NewStreamConn, returning the concrete type for ServeStream and the tests.
func newStreamConn(rwc io.ReadWriteCloser, maxMessage int) *streamConn {
	if maxMessage <= 0 {
		maxMessage = 32 << 20
	}
	c := &streamConn{rwc: rwc, max: maxMessage}
	c.out = burst.Writer{W: rwc, Max: maxBurst, Direct: directWrite}
	return c
}

// streamConn is the Conn of NewStreamConn and Server.ServeStream.
type streamConn struct {
	rwc    io.ReadWriteCloser
	max    int
	out    burst.Writer // gathers the messages written until Flush
	budget *Budget      // when set, the bytes of each message are reserved from it

	buf        []byte
	start, end int    // unread bytes are buf[start:end]
	small      []byte // the connection's small buffer, kept while buf is a grown one
	hint       int    // the length of the last message that outgrew the small buffer
	eof        error
}

var (
	_ Conn           = (*streamConn)(nil)
	_ Flusher        = (*streamConn)(nil)
	_ Releaser       = (*streamConn)(nil)
	_ HangupNotifier = (*streamConn)(nil)
)

const (
	// smallBuffer is the size of the buffer a connection reads into between large messages:
	// what an idle connection holds.
	smallBuffer = 4 << 10

	// maxJump bounds how many times larger than the bytes it must hold a grown buffer may be
	// when the size of the last large message says to jump ahead, so that a small message
	// after a huge one costs a bounded allocation, not one as large as the huge one.
	maxJump = 32

	// directWrite is the length from which a message is written at once instead of being
	// gathered into the burst (see burst.Writer.Direct).
	directWrite = 32 << 10

	// maxBurst bounds the bytes a stream connection gathers before writing them.
	maxBurst = 256 << 10
)

// WriteMessage adds msg to the burst that Flush writes (the server and the client call Flush
// after every burst). A message of directWrite bytes or more, or one that would make the burst
// larger than maxBurst, is written at once, after what was gathered. It does not keep msg.
func (c *streamConn) WriteMessage(msg []byte) error {
	if c.out.Gather(msg) {
		return nil
	}
	if len(msg) >= directWrite {
		// Not worth gathering: what was gathered goes first, then msg, straight to the stream.
		if err := c.out.Flush(); err != nil {
			return err
		}
		_, err := c.rwc.Write(msg)
		return err
	}
	c.out.Begin()
	_, err := c.out.Write(msg)
	return err
}

// Flush writes the burst gathered so far.
func (c *streamConn) Flush() error { return c.out.Flush() }

// PeerGone passes on the stream's PeerGone if it is a HangupNotifier; otherwise it returns
// nil: the stream cannot tell.
func (c *streamConn) PeerGone() <-chan struct{} {
	if h, ok := c.rwc.(HangupNotifier); ok {
		return h.PeerGone()
	}
	return nil
}

// Close closes the underlying stream.
func (c *streamConn) Close() error { return c.rwc.Close() }

// ReadMessage returns the next JSON value in the stream.
func (c *streamConn) ReadMessage() ([]byte, error) {
	var fs wire.Framer
	var skip error // why the current value is being skipped, if it is
	skipped := 0   // bytes of a skipped value already discarded
	pos := 0       // bytes of the current value already scanned
	reserved := 0  // budget taken for the current value
	for {
		if skip == nil && pos == 0 {
			c.start = wire.SkipSpace(c.buf[:c.end], c.start)
		}
		data := c.buf[c.start+pos : c.end]
		if len(data) > 0 {
			n, complete := fs.Scan(data)
			pos += n
			if skip == nil && skipped+pos > c.max {
				skip = c.refused(ErrMessageTooLarge, min(pos, c.max))
			}
			if skip == nil && pos > reserved && c.budget != nil {
				more := max(pos-reserved, 64<<10)
				if c.budget.Reserve(more) {
					reserved += more
				} else {
					skip = c.refused(ErrServerBusy, pos)
				}
			}
			if skip != nil {
				c.budgetRelease(reserved)
				reserved = 0
				skipped += pos
				c.start += pos
				pos = 0
			}
			if complete {
				if skip != nil {
					c.shrink()
					return nil, skip
				}
				msg := c.take(pos)
				c.budgetRelease(reserved - len(msg)) // keep exactly len(msg) until Release
				return msg, nil
			}
		}
		if c.eof != nil {
			if skip != nil {
				c.buf, c.start, c.end = c.small, 0, 0 // nothing more is read: let a grown buffer go
				return nil, skip
			}
			if pos > 0 {
				// An unfinished value at the end: hand it over so that it is answered -32700.
				msg := c.take(pos)
				c.budgetRelease(reserved - len(msg))
				return msg, nil
			}
			return nil, c.eof
		}
		if err := c.fill(); err != nil {
			c.eof = err
		}
	}
}

// refused returns why the message being read is skipped, err, with a copy of its first n
// bytes (at most wire.HeadBytes), from which the server recovers the request's id. It is
// called before anything of the message has been skipped, so the buffer holds them from
// c.start.
func (c *streamConn) refused(err error, n int) error {
	head := c.buf[c.start : c.start+min(n, wire.HeadBytes)]
	return &RefusedError{Err: err, Head: append([]byte(nil), head...)}
}

// take removes the message that is the next n unread bytes from the buffer and returns it.
//
// A message in the small buffer is copied, so that the buffer serves the next ones. A message
// that outgrew it is the bulk of the grown buffer, which was made for it: the buffer itself
// becomes the message (no copy), and the bytes after it move to the small buffer (or, when
// they are already more than it holds, to a new grown one), so the message shares its array
// with nothing. It keeps the buffer's capacity, so that Release gives the whole buffer back
// to the pool. The message is copied instead when the grown buffer is much larger than it,
// which would otherwise keep memory that the budget does not count, and when it is small (it
// followed a large one in a read).
func (c *streamConn) take(n int) []byte {
	msg := c.buf[c.start : c.start+n]
	c.start += n
	if len(c.buf) <= smallBuffer {
		return append([]byte(nil), msg...)
	}
	if n > smallBuffer {
		c.hint = n
	}
	if n <= smallBuffer || cap(c.buf)-n > n/2 {
		if n <= smallBuffer {
			msg = append([]byte(nil), msg...) // below bufpool's sizes: no zeroed buffer
		} else {
			msg = append(bufpool.Get(n)[:0], msg...)
		}
		c.shrink()
		return msg
	}
	rest := c.buf[c.start:c.end]
	if len(rest) <= smallBuffer {
		c.buf = c.smallBuf()
	} else {
		c.buf = c.grown(len(rest))
	}
	c.start, c.end = 0, copy(c.buf, rest)
	return msg
}

// shrink leaves a grown buffer for the small one when the unread bytes fit in the small one:
// the grown buffer was for a message that is over, so that a connection neither waits for
// input nor waits for the answer to a message holding a large buffer.
func (c *streamConn) shrink() {
	if len(c.buf) > smallBuffer && c.end-c.start <= smallBuffer {
		small := c.smallBuf()
		c.end = copy(small, c.buf[c.start:c.end])
		bufpool.Put(c.buf) // not lent out: take lends a grown buffer only as it leaves it
		c.buf, c.start = small, 0
	}
}

// smallBuf returns the connection's small buffer, making it the first time.
func (c *streamConn) smallBuf() []byte {
	if c.small == nil {
		c.small = make([]byte, smallBuffer)
	}
	return c.small
}

// growSize returns the size of the buffer to grow to when n unread bytes of one message fill
// the buffer. It grows geometrically, so that a message of any length is read with few copies,
// and jumps to just over the length of the last large message (up to maxJump times n): a
// connection that carries large messages tends to carry ones of about the same length, which
// are then read into one buffer each, copying only what the small buffer held. It needs not
// exceed max+1 bytes, enough to see that a value is over the limit.
func (c *streamConn) growSize(n int) int {
	size := max(2*n, smallBuffer)
	if h := c.hint + c.hint/8; h > size {
		size = min(h, maxJump*n)
	}
	if c.max < size {
		size = max(c.max+1, n+1)
	}
	return size
}

// grown returns a buffer to grow to when n unread bytes fill the buffer (see growSize). It may
// be a pooled one of a larger capacity, which take counts when it decides whether the buffer
// may become the message; reads use its length.
func (c *streamConn) grown(n int) []byte { return bufpool.Get(c.growSize(n)) }

// budgetRelease gives n bytes back to the server's budget, if the connection has one.
func (c *streamConn) budgetRelease(n int) {
	if c.budget != nil && n != 0 {
		c.budget.Release(n)
	}
}

// Release gives back the budget held for msg once the server has answered it, and msg itself
// for reuse by the next large message (of any stream connection): ReadMessage returns slices
// that no other message shares, and the server releases a message only when nothing it
// started refers to it any longer.
func (c *streamConn) Release(msg []byte) {
	c.budgetRelease(len(msg))
	bufpool.Put(msg)
}

// fill reads more bytes, moving unread bytes to the front and growing the buffer as needed
// (or shrinking it: a skipped value may have ended in the middle of a read).
func (c *streamConn) fill() error {
	c.shrink()
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if c.buf == nil {
		c.buf = c.smallBuf()
	}
	if c.end == len(c.buf) {
		nb := c.grown(c.end)
		copy(nb, c.buf[:c.end])
		if len(c.buf) > smallBuffer {
			bufpool.Put(c.buf)
		}
		c.buf = nb
	}
	n, err := c.rwc.Read(c.buf[c.end:])
	c.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
