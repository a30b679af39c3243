package rpc

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// Conn is a message connection, the seam between the server or client and a transport. A
// message is one complete JSON value: a request, a response, a notification or a batch.
// Transports only move bytes; they never parse JSON-RPC.
//
// ReadMessage is called from one goroutine at a time and returns a slice the caller may keep.
// WriteMessage calls are serialised by the caller; msg ends with '\n' and is valid only during
// the call. Close unblocks a pending ReadMessage. A Conn may also implement Flush() error (see
// [MessageWriter]).
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
	r.handoff = time.AfterFunc(time.Hour, r.loop)
	r.handoff.Stop()
	r.loop()
	return <-r.done
}

// inlineBudget is how long a message may run on the reading goroutine before reading moves
// to another goroutine (see reader).
const inlineBudget = 100 * time.Microsecond

// reader is ServeConn's read loop. When nothing else is in flight, it runs a message on its
// own goroutine: no hand-over to another goroutine, which is most of the cost of a small call
// on one connection. If the message runs longer than inlineBudget, the handoff timer starts
// the loop on a new goroutine, which reads on (so a fast call behind a slow one is still
// answered first), and the old goroutine stops once its message is done. At any time exactly
// one goroutine reads; the one that ends the loop sends the outcome on done.
type reader struct {
	s       *Server
	ss      *Session
	conn    Conn
	release func([]byte)
	handoff *time.Timer
	done    chan error
}

func (r *reader) loop() {
	ss := r.ss
	for {
		msg, err := r.conn.ReadMessage()
		switch {
		case err == nil:
			if ss.calls.n.Load() == 0 && ss.acquire() {
				r.handoff.Reset(inlineBudget)
				ss.run(msg)
				// Settle the handoff while holding the slot: until it is released no other
				// goroutine can run a message inline and so reset the timer.
				mine := r.handoff.Stop()
				ss.release()
				if r.release != nil {
					r.release(msg)
				}
				if !mine {
					return // the message ran long: another goroutine reads now
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
