package rpc

import "sync"

// writer serialises a connection's output without a goroutine of its own: the first sender
// becomes the active writer, and senders that arrive meanwhile queue their message and wait
// until the active writer has written (and flushed) it, so a burst shares one flush, nothing is
// copied, and a sender returns only once its message is out. Waiting senders are calls holding
// their slot, which bounds what a slow reader can make the server hold.
type writer struct {
	w      MessageWriter
	flush  Flusher // nil if w has no Flush
	direct bool    // w takes concurrent writes (ConnOptions.ConcurrentWrites): no serialising

	mu      sync.Mutex
	cond    sync.Cond
	busy    bool     // a sender is writing
	pending [][]byte // messages of waiting senders
	queued  uint64   // tickets handed to waiting senders
	written uint64   // tickets whose message is out (or failed)
	err     error    // first write error; later sends fail with it
}

// init makes w write to mw; direct: mw takes concurrent writes.
func (w *writer) init(mw MessageWriter, direct bool) {
	w.w = mw
	w.flush, _ = mw.(Flusher)
	w.direct = direct
	w.cond.L = &w.mu
}

// send writes msg and returns once it is out, with the first write error the connection has
// seen, if any.
func (w *writer) send(msg []byte) error { return w.sendv(msg, nil) }

// sendMany is send for several messages, written in order with one flush.
func (w *writer) sendMany(msgs [][]byte) error {
	if len(msgs) == 0 {
		return nil
	}
	return w.sendv(msgs[0], msgs[1:])
}

// sendv writes msg and then rest.
func (w *writer) sendv(msg []byte, rest [][]byte) error {
	if w.direct {
		err := w.w.WriteMessage(msg)
		for _, m := range rest {
			if err != nil {
				break
			}
			err = w.w.WriteMessage(m)
		}
		return err
	}
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	if w.busy {
		w.pending = append(w.pending, msg)
		w.pending = append(w.pending, rest...)
		w.queued += uint64(1 + len(rest))
		ticket := w.queued
		for w.written < ticket {
			w.cond.Wait()
		}
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.busy = true
	w.mu.Unlock()

	err := w.w.WriteMessage(msg)
	for _, m := range rest {
		if err != nil {
			break
		}
		err = w.w.WriteMessage(m)
	}
	needFlush := true // something written has not been flushed
	var out uint64    // queued messages written but not yet released
	var spare [][]byte
	for {
		w.mu.Lock()
		if err == nil && len(w.pending) > 0 {
			q := w.pending
			w.pending, spare = spare, nil
			w.mu.Unlock()
			for i, m := range q {
				if err == nil {
					err = w.w.WriteMessage(m)
				}
				q[i] = nil
			}
			spare = q[:0]
			out += uint64(len(q))
			needFlush = true
			if w.flush == nil {
				w.release(out)
				out = 0
			}
			continue
		}
		if err == nil && w.flush != nil && needFlush {
			w.mu.Unlock()
			err = w.flush.Flush()
			needFlush = false
			w.release(out)
			out = 0
			continue
		}
		w.busy = false
		if err != nil && w.err == nil {
			w.err = err
		}
		if w.err != nil {
			// Nothing more will be written: release every waiting sender with the error.
			w.pending = nil
			w.written = w.queued
			w.cond.Broadcast()
		}
		w.mu.Unlock()
		return err
	}
}

// release marks n more queued messages as out and wakes their senders.
func (w *writer) release(n uint64) {
	if n == 0 {
		return
	}
	w.mu.Lock()
	w.written += n
	w.cond.Broadcast()
	w.mu.Unlock()
}
