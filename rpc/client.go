package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Client calls methods on a JSON-RPC 2.0 server over any transport. It is safe for concurrent
// use; calls on a connection transport (WebSocket, IPC) are multiplexed on it and answered as
// the server finishes them.
//
// Create one with [NewClient] over a [Conn], or [NewTransportClient] over a request/response
// [Transport]; the packages under transports/ dial both kinds.
type Client struct {
	send      func(ctx context.Context, msg []byte) error
	closeConn func() error
	roundTrip bool          // Transport clients: Send returns after the answers were received
	readDone  chan struct{} // Conn clients: closed when the read loop ends
	rc        *reconnector  // reconnecting clients (client_reconnect.go); nil otherwise

	ids atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*pendingCall
	err     error         // why the client stopped; nil while it runs
	closed  chan struct{} // closed when err is set
	orphan  *Error        // last error answer whose id matched no call
	subs    map[string]*ClientSubscription
	subsWG  sync.WaitGroup // subscriptions' forwarding goroutines, unsubscribe calls, cancels

	cancelMethod string // see SetCancelMethod

	served  *Server  // the methods the client serves (clientserve.go); nil until first used
	serving *Session // serves the server's requests (not on a reconnecting client); or nil

	closeOnce sync.Once
}

// pendingCall is a call or a batch waiting for its answer. Its fields are guarded by mu: the
// read loop decodes answers into the caller's values only while the call is unfinished, so
// nothing is written to them after the call returns.
type pendingCall struct {
	mu       sync.Mutex
	finished bool
	result   any
	err      error
	done     chan struct{}

	batch []BatchElem // for a batch: its elements, ids base, base+1, …
	base  uint64
	seen  []bool
	left  int

	sub   *ClientSubscription // for a subscribe call
	resub bool                // the subscribe call resumes sub after a reconnect

	// cc is, on a reconnecting client, the connection the call is sent on. Set before the call
	// is registered, it confines the call to that connection (an unsubscribe, a resubscribe);
	// otherwise register sets it to the connection once one is up.
	cc *clientConn
}

// answer decodes the answer r for id into the call's result (or the batch element's).
func (pc *pendingCall) answer(id uint64, r response) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.sub != nil {
		pc.answerSubscribe(r)
		return
	}
	if pc.finished {
		return
	}
	if pc.batch == nil {
		pc.finishLocked(decodeResult(r, pc.result))
		return
	}
	k := int(id - pc.base)
	if pc.seen[k] {
		return
	}
	pc.batch[k].Error = decodeResult(r, pc.batch[k].Result)
	pc.seen[k] = true
	if pc.left--; pc.left == 0 {
		pc.finishLocked(nil)
	}
}

// finish ends the wait of pc with err unless it has ended already, and returns the outcome.
func (pc *pendingCall) finish(err error) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.finishLocked(err)
	return pc.err
}

// finishLocked ends the wait. For a batch, elements still unanswered get
// ErrMissingBatchResponse (or err, when the whole exchange failed).
func (pc *pendingCall) finishLocked(err error) {
	if pc.finished {
		return
	}
	pc.finished = true
	if pc.batch != nil {
		for i := range pc.batch {
			if !pc.seen[i] {
				pc.batch[i].Error = ErrMissingBatchResponse
				if err != nil {
					pc.batch[i].Error = err
				}
			}
		}
	}
	pc.err = err
	close(pc.done)
}

// BatchElem is one call of a [Client.BatchCall]. After the batch returns, Error holds the
// element's error (an *Error from the server, or a decoding error) and Result its result.
type BatchElem struct {
	Method string
	Args   []any // positional params; ignored when Params is set
	Params any   // by-name params: a struct or map encoding to a JSON object
	Result any   // pointer to decode the result into, or nil
	Error  error
}

// ErrMissingBatchResponse is the Error of a batch element the server did not answer (for
// example because the batch was over its item limit).
var ErrMissingBatchResponse = errors.New("rpc: missing batch response")

func newClient() *Client {
	return &Client{pending: make(map[uint64]*pendingCall), closed: make(chan struct{})}
}

// NewClient returns a client over a connection (see [Conn]) and starts reading from it. Calls
// fail with an error wrapping the read error once the connection fails.
func NewClient(conn Conn) *Client {
	c := newClient()
	var w writer
	w.init(conn, false)
	c.send = func(_ context.Context, msg []byte) error { return w.send(msg) }
	c.closeConn = conn.Close
	c.readDone = make(chan struct{})
	go c.readLoop(conn)
	return c
}

// Transport carries a client's messages to a server in request/response fashion (HTTP POST, an
// in-process server). Send delivers one message and returns only after every answer to it has
// been handed to the receive function given to the connect func of [NewTransportClient]; it may
// also hand over server notifications at any time. msg is valid only during Send.
type Transport interface {
	Send(ctx context.Context, msg []byte) error
	Close() error
}

// Receiver takes a message a server sends back over a [Transport]: an answer or a notification,
// one line of JSON valid only during the call. A nil msg tells that the server closed the
// connection. It is an alias, so a plain func(msg []byte) is a Receiver.
type Receiver = func(msg []byte)

// NewTransportClient returns a client over a request/response transport. connect is called once
// with the Receiver that takes every message the server sends back; calling it with nil tells
// the client that the server closed the connection (calls and subscriptions then fail with
// [ErrClosed]).
func NewTransportClient(connect func(receive Receiver) (Transport, error)) (*Client, error) {
	c := newClient()
	t, err := connect(c.receive)
	if err != nil {
		return nil, err
	}
	c.send, c.closeConn, c.roundTrip = t.Send, t.Close, true
	return c, nil
}

func (c *Client) readLoop(conn Conn) {
	defer close(c.readDone)
	for {
		msg, err := conn.ReadMessage()
		if err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrConnectionLost, err))
			return
		}
		c.receive(msg)
	}
}

// Close closes the connection. Calls in flight and later calls fail with [ErrClosed]. A
// reconnecting client (see [NewReconnectingClient]) stops reconnecting. Close returns once every
// goroutine the client started has returned, and is idempotent.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.fail(ErrClosed)
		err = c.closeConn()
		if c.readDone != nil {
			<-c.readDone
		}
		c.subsWG.Wait()
		c.closeServing()
	})
	return err
}

// fail stops the client with err and fails every pending call.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.closed)
	pending := c.pending
	c.pending = make(map[uint64]*pendingCall)
	serving := c.serving
	c.mu.Unlock()
	for _, pc := range pending {
		pc.finish(err)
	}
	endServing(serving)
	c.failSubs(err)
}

// Call calls method with positional params args and decodes the result into result, a pointer
// (or nil to discard it). An error answer is returned as *[Error].
func (c *Client) Call(ctx context.Context, result any, method string, args ...any) error {
	return c.call(ctx, result, method, args, nil)
}

// CallNamed calls method with params by name: params must encode to a JSON object (a struct or
// a map).
func (c *Client) CallNamed(ctx context.Context, result any, method string, params any) error {
	return c.call(ctx, result, method, nil, params)
}

func (c *Client) call(ctx context.Context, result any, method string, args []any, named any) error {
	return c.callPending(ctx, &pendingCall{result: result, done: make(chan struct{})}, method, args, named)
}

// callPending sends one call and waits for pc to be answered.
func (c *Client) callPending(ctx context.Context, pc *pendingCall, method string, args []any, named any) error {
	bp := getBuf()
	defer putBuf(bp)
	id := c.ids.Add(1)
	buf, err := appendRequest(*bp, id, true, method, args, named)
	buf = append(buf, '\n')
	*bp = buf
	if err != nil {
		return err
	}
	if err := c.register(ctx, pc, id, 1); err != nil {
		return err
	}
	return c.roundtrip(ctx, pc, buf, id, 1)
}

// register records pc as waiting for the n ids from base. A reconnecting client first waits,
// up to ctx's end, for a connection (see reconnector.connLocked).
func (c *Client) register(ctx context.Context, pc *pendingCall, base uint64, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc != nil {
		cc, err := c.rc.connLocked(ctx, pc.cc)
		if err != nil {
			return err
		}
		pc.cc = cc
	}
	if c.err != nil {
		return c.err
	}
	for i := 0; i < n; i++ {
		c.pending[base+uint64(i)] = pc
	}
	return nil
}

func (c *Client) forget(base uint64, n int) {
	c.mu.Lock()
	for i := 0; i < n; i++ {
		delete(c.pending, base+uint64(i))
	}
	c.mu.Unlock()
}

// roundtrip sends msg and waits for pc to be answered.
func (c *Client) roundtrip(ctx context.Context, pc *pendingCall, msg []byte, base uint64, n int) error {
	send := c.send
	if pc.cc != nil {
		send = pc.cc.send
	}
	if err := send(ctx, msg); err != nil {
		c.forget(base, n)
		return err
	}
	if c.roundTrip {
		// Every answer has been received: whatever is unanswered stays so.
		c.forget(base, n)
		c.mu.Lock()
		orphan := c.orphan
		c.orphan = nil
		c.mu.Unlock()
		var err error = errNoAnswer
		switch {
		case pc.batch != nil:
			err = nil // unanswered elements get ErrMissingBatchResponse
		case orphan != nil:
			err = orphan
		}
		return pc.finish(err)
	}
	select {
	case <-pc.done:
		return pc.finish(nil)
	case <-ctx.Done():
		c.forget(base, n)
		if err := pc.finish(ctx.Err()); err != ctx.Err() {
			return err // answered meanwhile
		}
		c.sendCancel(base)
		return ctx.Err()
	}
}

var errNoAnswer = errors.New("rpc: the server sent no answer")

// Notify sends a notification: the method runs on the server and nothing is answered.
func (c *Client) Notify(ctx context.Context, method string, args ...any) error {
	bp := getBuf()
	defer putBuf(bp)
	buf, err := appendRequest(*bp, 0, false, method, args, nil)
	buf = append(buf, '\n')
	*bp = buf
	if err != nil {
		return err
	}
	c.mu.Lock()
	err = c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.send(ctx, buf)
}

// BatchCall sends elems as one batch and waits for the answers. The returned error covers the
// exchange as a whole; each element's own outcome is in its Error field.
func (c *Client) BatchCall(ctx context.Context, elems []BatchElem) error {
	if len(elems) == 0 {
		return errors.New("rpc: empty batch")
	}
	n := len(elems)
	base := c.ids.Add(uint64(n)) - uint64(n) + 1
	bp := getBuf()
	defer putBuf(bp)
	buf := append(*bp, '[')
	for i := range elems {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendRequest(buf, base+uint64(i), true, elems[i].Method, elems[i].Args, elems[i].Params); err != nil {
			*bp = buf
			return fmt.Errorf("batch element %d: %w", i, err)
		}
		elems[i].Error = nil
	}
	buf = append(buf, ']', '\n')
	*bp = buf
	pc := &pendingCall{done: make(chan struct{}), batch: elems, base: base, seen: make([]bool, n), left: n}
	if err := c.register(ctx, pc, base, n); err != nil {
		return err
	}
	return c.roundtrip(ctx, pc, buf, base, n)
}

// appendRequest appends one request object (without a newline).
func appendRequest(buf []byte, id uint64, hasID bool, method string, args []any, named any) ([]byte, error) {
	buf = append(buf, `{"jsonrpc":"2.0",`...)
	if hasID {
		buf = append(buf, `"id":`...)
		buf = strconv.AppendUint(buf, id, 10)
		buf = append(buf, ',')
	}
	return appendCall(buf, method, args, named)
}

// appendCall appends the rest of a request object after its id: method and params, and the
// closing brace.
func appendCall(buf []byte, method string, args []any, named any) ([]byte, error) {
	buf = append(buf, `"method":`...)
	buf = wire.AppendString(buf, method)
	var err error
	switch {
	case named != nil:
		mark := len(buf)
		buf = append(buf, `,"params":`...)
		start := len(buf)
		if buf, err = wire.AppendJSON(buf, named); err != nil {
			return buf, err
		}
		if buf[start] != '{' {
			return buf[:mark], fmt.Errorf("rpc: params by name must encode to a JSON object, not %s", buf[start:])
		}
	case len(args) > 0:
		buf = append(buf, `,"params":[`...)
		for i, a := range args {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = appendArg(buf, a); err != nil {
				return buf, fmt.Errorf("rpc: argument %d: %w", i, err)
			}
		}
		buf = append(buf, ']')
	}
	return append(buf, '}'), nil
}

func appendArg(buf []byte, a any) ([]byte, error) {
	switch v := a.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return wire.AppendString(buf, v), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case uint64:
		return strconv.AppendUint(buf, v, 10), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	}
	return wire.AppendJSON(buf, a)
}
