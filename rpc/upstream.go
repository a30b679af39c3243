package rpc

import (
	"context"
	"io"
	"iter"
	"reflect"
	"sync"
)

// Client streams: a client streams values to a method that takes a [*Stream] as its last
// argument. The wire shape, which a plain JSON-RPC 2.0 client can drive by hand:
//
//   - calling the method (NS_method, with its other params) opens the stream and answers its
//     id, a string "0x…"; the method starts on a goroutine of its own;
//   - each value is a call NS_streamItem {"stream":ID,"value":V,"seq":N} (or [ID,V,N]),
//     answered true once the value is in the stream's buffer (Options.StreamBuffer values):
//     while the buffer is full the answer waits, so a client that waits for each answer, or
//     keeps a few answers outstanding, is slowed to the method's pace. seq (0, 1, 2, …) puts
//     pipelined values in order, since calls on a connection run concurrently; without it a
//     value takes its turn as it comes;
//   - NS_streamEnd {"stream":ID} (or [ID]) ends the input (the method's Recv reports io.EOF
//     after the values received) and answers the method's result or error.
//
// A value that waits holds its call slot (Options.MaxConcurrentCalls): a client that keeps
// fewer values outstanding than that never stops the connection's other calls, nor the answers
// to a method that calls it back. The stream's method runs with a context that ends when the
// connection closes, the server stops, or NS_streamEnd's own context ends (its timeout) before
// the method returns. Over HTTP, which keeps no connection, opening a stream is answered
// -32601.

// Stream is the values a client streams to a method: a method that takes a *Stream[T] as its
// last argument is a client-streaming method (see the package documentation). T is decoded
// from each value as an argument of type T would be. The method reads the values with Recv or
// All until the client ends the stream; it returns its result when it likes (the client gets
// it from NS_streamEnd).
type Stream[T any] struct{ core streamCore }

// Recv returns the next value, waiting for it; io.EOF once the client has ended the stream
// and every value has been received; the context's error once the method's context ends (the
// connection closed).
func (s *Stream[T]) Recv() (T, error) {
	v, err := s.core.recv()
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// All returns the values in order, until the client ends the stream: for v, err := range
// in.All(). The iteration ends after a value whose err is not nil (the method's context ended);
// the end of the stream itself yields no error.
func (s *Stream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := s.Recv()
			if err == io.EOF {
				return
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// ID returns the stream's id, as the client names it.
func (s *Stream[T]) ID() string { return s.core.id }

func (s *Stream[T]) base() *streamCore { return &s.core }

func (s *Stream[T]) elem() reflect.Type { return reflect.TypeFor[T]() }

// streamArg is implemented by every *Stream[T]: the registry recognises a stream argument by it.
type streamArg interface {
	base() *streamCore
	elem() reflect.Type // T
}

var streamArgType = reflect.TypeFor[streamArg]()

// streamCore is a stream's state, whatever its type of value.
//
// Invariants, under mu: len(q) <= limit; next counts the values taken in; waiting counts the
// NS_streamItem calls waiting for room or for their turn; changed, when not nil, is closed
// (and set to nil) at every change of q, next, waiting, ended and returned.
type streamCore struct {
	id     string
	ss     *Session
	dec    argType
	limit  int
	ctx    context.Context // the method's
	cancel context.CancelFunc
	done   chan struct{} // closed when the method has returned

	mu       sync.Mutex
	q        []any
	next     uint64
	waiting  int
	ended    bool // the client ended the stream
	returned bool // the method has returned: result and err are set
	changed  chan struct{}
	result   []byte
	err      *Error
}

// signal wakes whoever waits for a change (mu held).
func (c *streamCore) signal() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// wait returns a channel closed at the next change (mu held).
func (c *streamCore) wait() <-chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// recv takes the next value for the method.
func (c *streamCore) recv() (any, error) {
	c.mu.Lock()
	for {
		if len(c.q) > 0 {
			v := c.q[0]
			c.q[0] = nil
			c.q = c.q[1:]
			c.signal()
			c.mu.Unlock()
			return v, nil
		}
		if c.ended && c.waiting == 0 {
			c.mu.Unlock()
			return nil, io.EOF
		}
		ch := c.wait()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-c.ctx.Done():
			return nil, c.ctx.Err()
		}
		c.mu.Lock()
	}
}

// push adds raw, value seq (nil: whatever comes next) of the stream, once it is its turn and
// the buffer has room, or fails when ctx (the NS_streamItem call's) ends first.
func (c *streamCore) push(ctx context.Context, seq *uint64, raw []byte) error {
	rv, err := c.dec.decode(raw)
	if err != nil {
		return invalidParams("invalid stream value: %s", typeError(err))
	}
	v := rv.Interface()
	waited := false
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.returned:
			return errStreamReturned
		case c.ended && !waited:
			return errStreamEnded
		case seq != nil && *seq < c.next:
			return invalidParams("value %d of the stream was received already (the next is %d)", *seq, c.next)
		case (seq == nil || *seq == c.next) && len(c.q) < c.limit:
			if len(c.q) == cap(c.q) && cap(c.q) < c.limit {
				c.q = append(make([]any, 0, c.limit), c.q...)
			}
			c.q = append(c.q, v)
			c.next++
			if waited {
				c.waiting--
			}
			c.signal()
			return nil
		}
		if !waited {
			waited = true
			c.waiting++
		}
		ch := c.wait()
		c.mu.Unlock()
		c.ss.keepReading()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			c.waiting--
			c.signal()
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

// end ends the client's input and waits for the method's result, until ctx (NS_streamEnd's)
// ends: then the method's context ends too.
func (c *streamCore) end(ctx context.Context) ([]byte, *Error, error) {
	c.mu.Lock()
	c.ended = true
	c.signal()
	c.mu.Unlock()
	c.ss.keepReading()
	select {
	case <-c.done:
	case <-ctx.Done():
		c.cancel()
		return nil, nil, ctx.Err()
	}
	return c.result, c.err, nil
}

// finish records what the method returned.
func (c *streamCore) finish(result []byte, e *Error) {
	c.mu.Lock()
	c.result, c.err, c.returned = result, e, true
	c.q = nil
	c.signal()
	c.mu.Unlock()
	c.cancel()
	close(c.done)
}
