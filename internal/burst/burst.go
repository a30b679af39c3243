// Package burst gathers the writes of a burst into one write. A connection that writes several
// messages at once (the answers of pipelined calls, a batch of notifications) opens a burst,
// writes them, and flushes: the writer below sees one write instead of one per message.
//
// The IPC stream connection of package rpc gathers its messages with it, and the WebSocket
// transport the frames that gorilla/websocket writes. It imports the standard library only.
package burst

import (
	"io"
	"sync"
)

// Writer gathers what is written between Begin and Flush and writes it to W at Flush, in one
// write. Outside a burst, writes go straight to W. A write that would make the gathered bytes
// more than Max, or of Direct bytes or more, is written to W at once, after what was gathered
// before it: the burst stays open, and the bytes reach W in the order they were written.
//
// While bytes are gathered the Writer holds a buffer from a pool shared by all Writers, so an
// idle one holds none. A Writer is not safe for concurrent use.
type Writer struct {
	// W receives the gathered bytes and the writes that are not gathered.
	W io.Writer
	// Max bounds the bytes gathered before they are written.
	Max int
	// Direct, when positive, is the length from which a write is not gathered: copying a
	// large write costs more than the extra write, and would grow the pooled buffer.
	Direct int

	open bool
	buf  *[]byte // from pool; nil while nothing is gathered
	// While buf is held: a write shorter than short that keeps the gathered bytes within room
	// is copied into buf's spare capacity (Write's inlined case). room <= Max.
	short, room int
}

// initialSize is the capacity of a new pooled buffer.
const initialSize = 32 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, 0, initialSize); return &b }}

// Begin opens a burst, unless one is open; it reports whether it opened one.
func (w *Writer) Begin() bool {
	if w.open {
		return false
	}
	w.open = true
	return true
}

// Open reports whether a burst is open.
func (w *Writer) Open() bool { return w.open }

// Write gathers p during a burst (see Writer for the writes that are not gathered) and writes
// it to W otherwise. It does not keep p: the caller may reuse p once Write returns.
func (w *Writer) Write(p []byte) (int, error) {
	if w.Gather(p) {
		return len(p), nil
	}
	return w.write(p)
}

// Gather is Write's common case, small enough to be inlined: it gathers p if a burst has bytes
// gathered already and p joins them within the bounds, and reports whether it did. A caller
// on a hot path tries it before Write.
func (w *Writer) Gather(p []byte) bool {
	if b := w.buf; b != nil && len(p) < w.short {
		if n := len(*b); n+len(p) <= w.room {
			*b = (*b)[:n+len(p)]
			copy((*b)[n:], p)
			return true
		}
	}
	return false
}

// write is Write's general case.
func (w *Writer) write(p []byte) (int, error) {
	if w.open && (w.Direct <= 0 || len(p) < w.Direct) && w.gathered()+len(p) <= w.Max {
		if w.buf == nil {
			w.buf = pool.Get().(*[]byte)
		}
		*w.buf = append(*w.buf, p...)
		w.short, w.room = w.Direct, min(cap(*w.buf), w.Max)
		if w.short <= 0 {
			w.short = w.Max + 1
		}
		return len(p), nil
	}
	if err := w.writeOut(); err != nil {
		return 0, err
	}
	return w.W.Write(p)
}

// Flush closes the burst and writes what it gathered.
func (w *Writer) Flush() error {
	w.open = false
	return w.writeOut()
}

func (w *Writer) gathered() int {
	if w.buf == nil {
		return 0
	}
	return len(*w.buf)
}

// writeOut writes the gathered bytes, if any, and gives the buffer back to the pool.
func (w *Writer) writeOut() error {
	if w.buf == nil {
		return nil
	}
	var err error
	if len(*w.buf) > 0 {
		_, err = w.W.Write(*w.buf)
	}
	*w.buf = (*w.buf)[:0]
	if cap(*w.buf) <= 2*max(w.Max, initialSize) {
		pool.Put(w.buf)
	}
	w.buf = nil
	return err
}
