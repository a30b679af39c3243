package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
)

// DefaultStreamWindow is the number of values a [ClientStream] keeps unanswered at most.
const DefaultStreamWindow = 8

// ClientStream sends values to a client-streaming method of the server (see [Stream]): open it
// with [Client.OpenStream], Send each value, then CloseAndRecv for the method's result. Send
// does not wait for each value's answer, but keeps at most [DefaultStreamWindow] of them
// unanswered, numbered so that the server takes them in order: a server whose method consumes
// slowly slows Send down. Its methods are not for concurrent use.
type ClientStream struct {
	c     *Client
	ns    string
	id    string
	seq   uint64
	slots chan struct{} // one per value awaiting its answer

	mu  sync.Mutex
	err error // the first value refused
}

// OpenStream calls method, a client-streaming method, with positional params args (those
// before its stream) and returns the stream to send its values on.
func (c *Client) OpenStream(ctx context.Context, method string, args ...any) (*ClientStream, error) {
	ns, _, ok := strings.Cut(method, separator)
	if !ok {
		return nil, errors.New("rpc: OpenStream: " + method + " has no namespace")
	}
	s := &ClientStream{c: c, ns: ns, slots: make(chan struct{}, DefaultStreamWindow)}
	if err := c.Call(ctx, &s.id, method, args...); err != nil {
		return nil, err
	}
	return s, nil
}

// ID returns the stream's id.
func (s *ClientStream) ID() string { return s.id }

// Send sends v, the stream's next value. It returns once v is written, after waiting (until
// ctx ends) while the window of values awaiting their answers is full; an error the server
// answered an earlier value with is returned by the next Send and by CloseAndRecv.
func (s *ClientStream) Send(ctx context.Context, v any) error {
	if err := s.failed(); err != nil {
		return err
	}
	raw, err := json.Marshal(v) // now: the caller may change v once Send returns
	if err != nil {
		return err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	seq := s.seq
	s.seq++
	c := s.c
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		<-s.slots
		return err
	}
	c.subsWG.Add(1) // Close waits for it
	c.mu.Unlock()
	go func() {
		defer c.subsWG.Done()
		defer func() { <-s.slots }()
		var ok bool
		if err := c.Call(context.Background(), &ok, s.ns+streamItemSuffix, s.id, json.RawMessage(raw), seq); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
	}()
	return nil
}

func (s *ClientStream) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// CloseAndRecv waits for the answers to the values sent, ends the stream and decodes the
// method's result into result (a pointer, or nil to discard it). It returns the method's
// error, or else the first error a value was answered with.
func (s *ClientStream) CloseAndRecv(ctx context.Context, result any) error {
	for range cap(s.slots) {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() {
		for range cap(s.slots) {
			<-s.slots
		}
	}()
	if err := s.c.Call(ctx, result, s.ns+streamEndSuffix, s.id); err != nil {
		return err
	}
	return s.failed()
}
