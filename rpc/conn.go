package rpc

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// Conn is a message connection, the seam between the server or client and a transport. A
// message is one complete JSON value: a request, a response, a notification or a batch.
// Transports only move bytes; they never parse JSON-RPC.
//
// ReadMessage is called from one goroutine at a time and returns a slice the caller may keep.
// WriteMessage calls are serialised by the caller; msg ends with '\n' and is valid only during
// the call. Close unblocks a pending ReadMessage. A Conn may also implement Flush() error (see
// [MessageWriter]), and Release(msg []byte): [Server.ServeConn] then calls it with each message
// it read, once the message has been answered and nothing the server started for it refers to
// msg any longer, so the transport may give back what it reserved for msg and reuse its bytes.
type Conn interface {
	ReadMessage() ([]byte, error)
	WriteMessage(msg []byte) error
	Close() error
}

// ErrServerBusy is returned by [Conn.ReadMessage] when the server-wide budget for request bytes
// in flight could not cover an incoming message, which has been skipped; the connection stays
// usable. The server answers it with -32005 and id null.
var ErrServerBusy = errors.New("rpc: server busy")

// ErrMessageTooLarge is returned by [Conn.ReadMessage] when an incoming message was over the
// size limit and has been skipped; the connection stays usable. The server answers it with
// -32600 and id null.
var ErrMessageTooLarge = errors.New("rpc: message too large")

// ServeConn serves one connection until it fails or is closed: it reads messages, runs their
// calls concurrently (up to Options.MaxConcurrentCalls) and writes each answer as it is ready.
// When the peer ends its side cleanly (io.EOF, for example after a half-close), answers to the
// calls already received are still written — unless conn (or, for ServeStream, the stream) has
// a PeerGone() <-chan struct{} method whose channel closes, telling that the peer is gone
// altogether (transports/ipc reports POLLHUP so on Linux): then the calls are cancelled, since
// nobody is left to read their answers. ServeConn closes conn before returning; it returns nil
// after a clean end.
func (s *Server) ServeConn(conn Conn, opts ConnOptions) error {
	ss, err := s.NewSession(context.Background(), opts, conn)
	if err != nil {
		conn.Close()
		return err
	}
	defer ss.Close()
	r := &reader{s: s, ss: ss, conn: conn, done: make(chan error, 1)}
	if rel, ok := conn.(interface{ Release([]byte) }); ok {
		r.release = rel.Release
	}
	r.wd = newWatchdog(s.cfg.inline.budget, r.takeover)
	defer r.wd.stop()
	r.loop()
	return <-r.done
}

// reader is ServeConn's read loop. When nothing else is in flight, it runs a message on its
// own goroutine: no hand-over to another goroutine, which is most of the cost of a small call
// on one connection. After a message that turned out slow (see inlinePolicy), the next one
// still runs on the goroutine that read it, but reading moves on to a worker first, so that
// pipelined slow calls run side by side. That hand-over is wasted on a peer that waits for
// each answer before it sends the next request, and it is not cheap (waking a thread for the
// new reader, which then waits in vain; for sequential 64 KiB calls, 10-15% more CPU per
// call), so the reader learns: when the message after a hand-over arrives only once the
// handed-over one has been answered, the next handoverSkips slow messages run plainly inline,
// and then another hand-over probes the peer again. A message that runs on and on inline is
// noticed by the watchdog, which starts the loop on another goroutine that reads on (so a fast
// call behind a slow one is still answered, at the latest after two watchdog periods), and the
// old goroutine stops once its message is done. At any time exactly one goroutine reads; the
// one that ends the loop sends the outcome on done.
type reader struct {
	s       *Server
	ss      *Session
	conn    Conn
	release func([]byte)
	wd      *watchdog
	done    chan error

	// lastSlow: the last message run by the loop's own goroutines (not a worker running a
	// dispatched one) ran longer than inlinePolicy.slow. Stored before the message's call slot
	// is released, so the reader sees it when it finds no call in flight.
	lastSlow atomic.Bool

	// Used by the reading goroutine only (a hand-over of reading publishes them).
	seq       uint64 // of the last message run inline
	probing   bool   // reading was handed over for the last message: was it of use?
	probeSent uint64 // Session.sent at that hand-over
	skips     int    // slow messages still to run inline without a hand-over
}

// handoverSkips is how many slow messages run inline without a hand-over of reading after
// one that was of no use, before the next probe.
const handoverSkips = 7

// inlinePolicy tunes reader (tests shorten or lengthen it).
type inlinePolicy struct {
	// slow: how long a message may run on the reading goroutine before the next one is run
	// with reading handed to a worker. A goroutine hand-over costs tens of microseconds,
	// which matters for a quick call but not for a slow one; and a quick call that was slow
	// once (preempted, or caught by a GC pause) costs one hand-over, not more.
	slow time.Duration
	// budget: the watchdog's period; a message still running at two of its checks has
	// reading taken away from it. Each check costs a timer, which wakes the runtime's
	// network poller: checking every few milliseconds costs a small call on one connection
	// a sizeable share of its time, so the period is long and the slow rule, which needs no
	// timer, does the everyday work.
	budget time.Duration
}

var defaultInline = inlinePolicy{slow: 250 * time.Microsecond, budget: 20 * time.Millisecond}

// takeover is the watchdog's: the reading goroutine is stuck in a message, so this one reads
// on.
func (r *reader) takeover() { r.loop() }

// runInline runs msg on this goroutine, holding a call slot that it has taken, and releases
// msg. It reports false if the watchdog took reading over meanwhile.
func (r *reader) runInline(msg []byte, start time.Time) bool {
	if r.seq++; r.seq == claimed {
		r.seq = 1
	}
	seq := r.seq
	r.wd.begin(seq)
	r.ss.run(msg)
	// Settle the hand-over while holding the slot: until it is released no other goroutine
	// can run a message inline and so begin another.
	mine := r.wd.end(seq)
	r.finish(msg, start)
	return mine
}

// runHandingOver runs msg on this goroutine, holding a call slot that it has taken, after
// starting the read loop on a worker; this goroutine reads no more.
func (r *reader) runHandingOver(msg []byte, start time.Time) {
	r.s.handovers.Add(1)
	r.s.workers.run(r.loop)
	r.ss.run(msg)
	r.finish(msg, start)
}

// finish records whether msg, which started at start, was slow, and releases its slot and msg.
func (r *reader) finish(msg []byte, start time.Time) {
	r.lastSlow.Store(time.Since(start) > r.s.cfg.inline.slow)
	r.ss.release()
	if r.release != nil {
		r.release(msg)
	}
}

func (r *reader) loop() {
	ss := r.ss
	for {
		msg, err := r.conn.ReadMessage()
		switch {
		case err == nil:
			if r.probing {
				// The message after a hand-over came before the handed-over one was
				// answered: the hand-over is worth its cost; after: it is not. (Nothing else
				// was in flight at the hand-over, and nothing has been read since.)
				r.probing = false
				r.skips = 0
				if ss.sent.Load() != r.probeSent {
					r.skips = handoverSkips
				}
			}
			if ss.calls.n.Load() == 0 && ss.acquire() {
				if r.lastSlow.Load() {
					if r.skips == 0 {
						r.probing, r.probeSent = true, ss.sent.Load()
						r.runHandingOver(msg, time.Now())
						return // reading moved to a worker
					}
					r.skips--
				}
				if !r.runInline(msg, time.Now()) {
					return // reading moved to another goroutine
				}
				continue
			}
			if !ss.dispatch(msg, r.release) {
				if r.release != nil {
					r.release(msg)
				}
				r.done <- nil // closed meanwhile
				return
			}
		case errors.Is(err, ErrMessageTooLarge), errors.Is(err, ErrServerBusy):
			e := errBusy
			if errors.Is(err, ErrMessageTooLarge) {
				e = r.s.errTooLarge()
			}
			// Answered like any request, off the read loop, so that a peer that is still
			// writing is not blocked by this answer.
			if !ss.acquire() {
				r.done <- nil
				return
			}
			go func() {
				defer ss.release()
				ss.sendError(nil, nil, e)
			}()
		case errors.Is(err, io.EOF):
			// The peer ended its side: answer the calls already received, unless the
			// transport tells that the peer is gone altogether (nobody left to answer).
			var gone <-chan struct{}
			if g, ok := r.conn.(interface{ PeerGone() <-chan struct{} }); ok {
				gone = g.PeerGone()
			}
			select {
			case <-ss.calls.zero():
			case <-gone:
				ss.cancel()
				ss.Wait()
			}
			r.done <- nil
			return
		default:
			ss.cancel()
			if ss.ctx.Err() != nil && errors.Is(err, io.ErrClosedPipe) {
				err = nil
			}
			r.done <- err
			return
		}
	}
}

func (s *Server) errTooLarge() *Error {
	return invalidRequest("message too large: the limit is " + strconv.Itoa(s.cfg.maxMessage) + " bytes")
}

// ServeStream serves a byte stream (a unix socket, a named pipe, a TCP connection) that carries
// consecutive JSON values, with the server's message size limit. See [NewStreamConn].
func (s *Server) ServeStream(rwc io.ReadWriteCloser, opts ConnOptions) error {
	c := newStreamConn(rwc, s.cfg.maxMessage)
	c.budget = s
	return s.ServeConn(c, opts)
}
