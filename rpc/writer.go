package rpc

import "sync"

// MessageWriter takes the server's outgoing messages for one connection. Each message is one
// complete JSON value ending in '\n'. The server never calls WriteMessage concurrently, and msg
// is valid only until WriteMessage returns.
//
// If the writer also has a Flush() error method, the server calls WriteMessage for every message
// it has ready and then Flush once, so that a burst of answers costs one system call. If it has a
// Close() error method, the server calls it when the connection is closed.
type MessageWriter interface {
	WriteMessage(msg []byte) error
}

type flusher interface{ Flush() error }

// writer serialises a connection's output without a goroutine of its own: the first sender
// writes, and senders that arrive meanwhile leave a copy of their message for it to write too
// (flat combining). Bursts therefore share one flush.
type writer struct {
	w     MessageWriter
	flush flusher // nil if w has no Flush

	mu      sync.Mutex
	busy    bool     // a sender is writing
	pending [][]byte // copies queued for the active sender
	spare   [][]byte // the last queue, reused
	err     error    // first write error; later sends fail with it
}

func (w *writer) init(mw MessageWriter) {
	w.w = mw
	w.flush, _ = mw.(flusher)
}

// send writes msg, or queues a copy for the sender already writing. It returns the first write
// error the connection has seen.
func (w *writer) send(msg []byte) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	if w.busy {
		w.pending = append(w.pending, append([]byte(nil), msg...))
		w.mu.Unlock()
		return nil
	}
	w.busy = true
	w.mu.Unlock()

	err := w.w.WriteMessage(msg)
	flushed := false
	for {
		w.mu.Lock()
		if err == nil && len(w.pending) > 0 {
			q := w.pending
			w.pending, w.spare = w.spare[:0], nil
			w.mu.Unlock()
			for i, m := range q {
				if err == nil {
					err = w.w.WriteMessage(m)
				}
				q[i] = nil
			}
			w.mu.Lock()
			w.spare = q[:0]
			w.mu.Unlock()
			flushed = false
			continue
		}
		if err == nil && w.flush != nil && !flushed {
			w.mu.Unlock()
			err = w.flush.Flush()
			flushed = true
			continue
		}
		w.busy = false
		if err != nil && w.err == nil {
			w.err = err
			w.pending = nil
		}
		w.mu.Unlock()
		return err
	}
}
