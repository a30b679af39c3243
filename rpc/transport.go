package rpc

import "errors"

// This file is the whole contract between package rpc and a transport: the interfaces a
// transport implements, the optional capabilities rpc looks for (each one an interface that a
// transport asserts at compile time, as in var _ rpc.Flusher = (*conn)(nil)), and the errors a
// transport returns. Per-connection switches that are not capabilities are fields of
// [ConnOptions].
//
// A transport hands its connections to the server in one of three ways:
//
//   - [Server.ServeConn] with a [Conn] that reads and writes whole messages (WebSocket). rpc
//     uses [Flusher], [Releaser], [HangupNotifier] and [ReasonCloser] when the Conn has them.
//   - [Server.ServeStream] with a byte stream (IPC), which rpc frames itself. rpc uses
//     [HangupNotifier] when the stream has it.
//   - [Server.NewSession] with a [MessageWriter], feeding each message it reads to
//     [Session.Handle] (HTTP, in-process). rpc uses [Flusher], [ReasonCloser] and io.Closer
//     when the writer has them.

// MessageWriter takes the server's outgoing messages for one connection. Each message is one
// complete JSON value ending in '\n', valid only until WriteMessage returns. The server never
// calls WriteMessage concurrently unless the connection's [ConnOptions].ConcurrentWrites says
// the writer takes concurrent calls.
//
// A MessageWriter may also be an io.Closer: the session closes it when it closes.
type MessageWriter interface {
	WriteMessage(msg []byte) error
}

// Conn is a message connection, the seam between the server or client and a transport. A
// message is one complete JSON value: a request, a response, a notification or a batch.
// Transports only move bytes; they never parse JSON-RPC.
//
// ReadMessage is called from one goroutine at a time and returns a slice the caller may keep
// (see [Releaser] for giving it back). WriteMessage calls are serialised by the caller; msg ends
// with '\n' and is valid only during the call. Close unblocks a pending ReadMessage and may be
// called concurrently with both.
type Conn interface {
	ReadMessage() ([]byte, error)
	WriteMessage(msg []byte) error
	Close() error
}

// Flusher is implemented by a [MessageWriter] or [Conn] that gathers what WriteMessage is
// given. The server (and the client) call WriteMessage for every message they have ready and
// then Flush once, so that a burst of messages costs one system call; after Flush returns,
// everything written before it has been handed to the network.
type Flusher interface {
	Flush() error
}

// Releaser is implemented by a [Conn] that wants back the messages its ReadMessage returned.
// [Server.ServeConn] calls Release with each message it read once the message has been
// answered and nothing the server started for it refers to msg any longer, so that the
// transport may give back what it reserved for msg (see [Budget]) and reuse its bytes.
type Releaser interface {
	Release(msg []byte)
}

// HangupNotifier is implemented by a [Conn], or by the stream given to [Server.ServeStream],
// that can tell a peer that is gone altogether from one that only ended its side of the
// connection. When ReadMessage reports io.EOF, the server still answers the calls already
// received, unless the channel PeerGone returns closes: then nobody is left to read the
// answers, and the calls are cancelled. A nil channel means the transport cannot tell.
type HangupNotifier interface {
	PeerGone() <-chan struct{}
}

// ReasonCloser is implemented by a [MessageWriter] or [Conn] that can tell the peer why the
// server closes the connection (a WebSocket close frame with code 1008 and reason as its
// text). The server calls it instead of Close when it ends a connection for a cause the
// client should see, such as a client that does not read its notifications.
type ReasonCloser interface {
	CloseWithReason(reason string) error
}

// ErrServerBusy is returned by [Conn.ReadMessage] when the server's [Budget] for request bytes
// in flight could not cover an incoming message, which has been skipped; the connection stays
// usable. The server answers it with -32005 (see [RefusedError] for its id).
var ErrServerBusy = errors.New("rpc: server busy")

// ErrMessageTooLarge is returned by [Conn.ReadMessage] when an incoming message was over the
// size limit and has been skipped; the connection stays usable. The server answers it with
// -32600 (see [RefusedError] for its id).
var ErrMessageTooLarge = errors.New("rpc: message too large")

// RefusedError is what [Conn.ReadMessage] returns for a message it skipped without reading it
// whole: Err is [ErrServerBusy] or [ErrMessageTooLarge], and Head holds the first bytes of the
// message that were read (at most 4 KiB; the transport's copy, which the server keeps). The
// server answers the refusal with the request's id when Head shows it (the "id" member of the
// request object, which usually comes before its large member) and with id null otherwise, as
// it answers a bare ErrServerBusy or ErrMessageTooLarge.
type RefusedError struct {
	Err  error
	Head []byte
}

// Error returns Err's text.
func (e *RefusedError) Error() string { return e.Err.Error() }

// Unwrap returns Err, so that errors.Is(err, ErrServerBusy) holds for a RefusedError.
func (e *RefusedError) Unwrap() error { return e.Err }
