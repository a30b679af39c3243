package rpc

import (
	"io"
	"sync"
)

// NewStreamConn frames a byte stream as a [Conn]: incoming bytes are a sequence of JSON values,
// with or without whitespace or newlines between them, in pieces or several per read; each
// outgoing message is written as one line. A value longer than maxMessage bytes is skipped and
// reported as [ErrMessageTooLarge]; maxMessage <= 0 means 32 MiB.
//
// The framer only finds where each value ends (by tracking strings and brackets); whether the
// value is valid JSON is for the server or client to decide, so a malformed value yields a
// -32700 answer and the stream goes on with the next one.
func NewStreamConn(rwc io.ReadWriteCloser, maxMessage int) Conn {
	return newStreamConn(rwc, maxMessage)
}

func newStreamConn(rwc io.ReadWriteCloser, maxMessage int) *streamConn {
	if maxMessage <= 0 {
		maxMessage = 32 << 20
	}
	return &streamConn{rwc: rwc, max: maxMessage}
}

type streamConn struct {
	rwc    io.ReadWriteCloser
	max    int
	out    *[]byte // a burst of messages not yet written, from burstPool; nil between bursts
	budget *Server // when set, the bytes of each message are reserved from its budget

	buf        []byte
	start, end int // unread bytes are buf[start:end]
	eof        error
}

// maxBurst bounds the bytes a stream connection gathers before writing them.
const maxBurst = 256 << 10

// burstPool holds the buffers of bursts: a connection holds one only between its first
// message of a burst and the Flush that ends it, so idle connections cost none.
var burstPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// WriteMessage adds msg to the burst that Flush writes (the server and the client call Flush
// after every burst); a message that would make the burst larger than maxBurst is written at
// once, after what was gathered.
func (c *streamConn) WriteMessage(msg []byte) error {
	if c.out == nil {
		c.out = burstPool.Get().(*[]byte)
	}
	if len(*c.out)+len(msg) <= maxBurst {
		*c.out = append(*c.out, msg...)
		return nil
	}
	if err := c.Flush(); err != nil {
		return err
	}
	_, err := c.rwc.Write(msg)
	return err
}

// Flush writes the burst gathered so far.
func (c *streamConn) Flush() error {
	if c.out == nil {
		return nil
	}
	var err error
	if len(*c.out) > 0 {
		_, err = c.rwc.Write(*c.out)
	}
	*c.out = (*c.out)[:0]
	if cap(*c.out) <= 2*maxBurst {
		burstPool.Put(c.out)
	}
	c.out = nil
	return err
}

// PeerGone passes on the underlying connection's PeerGone, if it has one (see ServeConn).
func (c *streamConn) PeerGone() <-chan struct{} {
	if g, ok := c.rwc.(interface{ PeerGone() <-chan struct{} }); ok {
		return g.PeerGone()
	}
	return nil
}

func (c *streamConn) Close() error { return c.rwc.Close() }

// ReadMessage returns the next JSON value in the stream.
func (c *streamConn) ReadMessage() ([]byte, error) {
	var fs frameScanner
	var skip error // why the current value is being skipped, if it is
	skipped := 0   // bytes of a skipped value already discarded
	pos := 0       // bytes of the current value already scanned
	reserved := 0  // budget taken for the current value
	for {
		if skip == nil && pos == 0 {
			for c.start < c.end && isSpace(c.buf[c.start]) {
				c.start++
			}
		}
		data := c.buf[c.start+pos : c.end]
		if len(data) > 0 {
			n, complete := fs.scan(data)
			pos += n
			if skip == nil && skipped+pos > c.max {
				skip = ErrMessageTooLarge
			}
			if skip == nil && pos > reserved && c.budget != nil {
				more := max(pos-reserved, 64<<10)
				if c.budget.ReserveBytes(more) {
					reserved += more
				} else {
					skip = ErrServerBusy
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
					return nil, skip
				}
				msg := append([]byte(nil), c.buf[c.start:c.start+pos]...)
				c.start += pos
				c.budgetRelease(reserved - len(msg)) // keep exactly len(msg) until Release
				return msg, nil
			}
		}
		if c.eof != nil {
			if skip != nil {
				c.start, c.end = 0, 0
				return nil, skip
			}
			if pos > 0 {
				// An unfinished value at the end: hand it over so that it is answered -32700.
				msg := append([]byte(nil), c.buf[c.start:c.start+pos]...)
				c.start += pos
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

func (c *streamConn) budgetRelease(n int) {
	if c.budget != nil && n != 0 {
		c.budget.ReleaseBytes(n)
	}
}

// Release gives back the budget held for msg once the server has answered it.
func (c *streamConn) Release(msg []byte) { c.budgetRelease(len(msg)) }

// fill reads more bytes, moving unread bytes to the front and growing the buffer as needed.
func (c *streamConn) fill() error {
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if c.end == 0 && len(c.buf) > 64<<10 {
		c.buf = nil // let a buffer grown for one large message go
	}
	if c.end == len(c.buf) {
		size := max(4096, 2*len(c.buf))
		nb := make([]byte, size)
		copy(nb, c.buf[:c.end])
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

// frameScanner finds the end of one JSON value fed to it in pieces. It tracks strings and the
// stack of open brackets; a top-level scalar (a number, a literal or junk) ends at the first
// space or structural character. A closing bracket that does not match the open one ends the
// value at once: it cannot be valid JSON, and ending it there lets the stream go on (the
// specification's "batch, invalid JSON" example is such a value).
type frameScanner struct {
	started bool
	scalar  bool
	inStr   bool
	esc     bool
	depth   int
	objects []uint64 // bit i set: the bracket open at depth i+1 is '{'
}

func (s *frameScanner) push(obj bool) {
	s.depth++
	word, bit := (s.depth-1)/64, uint((s.depth-1)%64)
	for len(s.objects) <= word {
		s.objects = append(s.objects, 0)
	}
	if obj {
		s.objects[word] |= 1 << bit
	} else {
		s.objects[word] &^= 1 << bit
	}
}

// pop closes the innermost bracket and reports whether c matches it.
func (s *frameScanner) pop(c byte) bool {
	word, bit := (s.depth-1)/64, uint((s.depth-1)%64)
	obj := s.objects[word]&(1<<bit) != 0
	s.depth--
	return obj == (c == '}')
}

// scan consumes data and returns how many bytes it used and whether the value is complete.
func (s *frameScanner) scan(data []byte) (int, bool) {
	for i := 0; i < len(data); i++ {
		if s.inStr && !s.esc {
			// Inside a string only a quote or a backslash matters: skip words without one.
			if i = skipPlain(data, i); i == len(data) {
				break
			}
		}
		c := data[i]
		if !s.started {
			s.started = true
			switch c {
			case '{', '[':
				s.push(c == '{')
			case '"':
				s.inStr = true
			default:
				s.scalar = true
				if isStructural(c) {
					return i + 1, true
				}
			}
			continue
		}
		switch {
		case s.scalar:
			if isSpace(c) || isStructural(c) {
				return i, true
			}
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.depth == 0 {
					return i + 1, true
				}
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.push(c == '{')
		case c == '}' || c == ']':
			if !s.pop(c) || s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(data), false
}

func isStructural(c byte) bool {
	switch c {
	case '{', '}', '[', ']', ',', ':', '"':
		return true
	}
	return false
}
