package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// Wire names of the client-stream built-ins: NS_streamItem and NS_streamEnd (see upstream.go).
const (
	streamItemSuffix = "_streamItem"
	streamEndSuffix  = "_streamEnd"
)

var (
	errStreamsUnsupported = &Error{Code: CodeMethodNotFound, Message: "client streams need a connection that carries messages both ways (WebSocket, IPC, in-process), not HTTP"}
	errStreamNotFound     = &Error{Code: CodeServerError, Message: "stream not found"}
	errStreamEnded        = &Error{Code: CodeServerError, Message: "stream ended: no value may follow its end"}
	errStreamReturned     = &Error{Code: CodeServerError, Message: "stream closed: its method has returned (its end answers the result)"}
	errStreamNotification = invalidRequest("a stream is opened by a call with an id, which its answer gives the stream's id")
)

// upstreams are a session's open client streams, by id.
type upstreams struct {
	mu   sync.Mutex
	next uint64
	m    map[string]*streamCore
}

func (u *upstreams) get(id string) *streamCore {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[id]
}

func (u *upstreams) remove(id string) {
	u.mu.Lock()
	delete(u.m, id)
	u.mu.Unlock()
}

// keepReading makes sure the connection is read while a call waits for its peer (see
// reader.handOff).
func (ss *Session) keepReading() {
	if b := ss.back; b != nil && b.handOff != nil {
		b.handOff()
	}
}

// openStream runs a call to the client-streaming method cb: it starts the method on a worker
// with a new stream and appends the answer, the stream's id, to buf.
func (ss *Session) openStream(ctx context.Context, buf []byte, req *wire.Request, cb *callback) ([]byte, bool, *Error) {
	fail := func(e *Error) ([]byte, bool, *Error) {
		if req.ID == nil {
			return buf, false, e
		}
		return appendError(buf, req.ID, e), true, e
	}
	switch {
	case ss.back == nil:
		return fail(errStreamsUnsupported)
	case req.ID == nil:
		return fail(errStreamNotification)
	}
	mctx, cancel := context.WithCancel(ss.ctx)
	in := []reflect.Value{cb.rcvr}
	if cb.hasCtx {
		in = append(in, reflect.ValueOf(mctx))
	}
	in, e := cb.decodeArgs(req.Params, in)
	if e != nil {
		cancel()
		return fail(e)
	}
	sv := reflect.New(cb.stream.Elem())
	c := sv.Interface().(streamArg).base()
	*c = streamCore{ss: ss, dec: cb.streamElem, limit: ss.srv.cfg.streamBuffer, ctx: mctx, cancel: cancel, done: make(chan struct{})}
	u := &ss.streams
	u.mu.Lock()
	if n := ss.srv.cfg.maxStreams; len(u.m) >= n {
		u.mu.Unlock()
		cancel()
		return fail(&Error{Code: CodeServerBusy, Message: "too many streams on this connection (limit " + strconv.Itoa(n) + ")"})
	}
	if u.m == nil {
		u.m = make(map[string]*streamCore)
	}
	u.next++
	c.id = "0x" + strconv.FormatUint(u.next, 16)
	u.m[c.id] = c
	u.mu.Unlock()
	in = append(in, sv)
	// Stop waits for the method, as for a call; the session's own count (which a connection
	// whose peer ended its side waits for before it closes) leaves it out: it ends once the
	// session closes.
	ss.srv.inflight.add()
	ss.srv.workers.run(func() {
		defer ss.srv.inflight.done()
		res, e := ss.invoke(cb, in)
		var out []byte
		if e == nil {
			out = []byte("null")
			if res.IsValid() {
				var err error
				if out, err = appendValue(nil, res, cb.resultKind); err != nil {
					e = &Error{Code: CodeInternalError, Message: err.Error()}
				}
			}
		}
		c.finish(out, e)
	})
	buf = wire.AppendResultHead(buf, req.ID)
	buf = wire.AppendString(buf, c.id)
	return append(buf, '}'), true, nil
}

var streamBuiltinsType = reflect.TypeFor[streamBuiltins]()

// streamBuiltins are the NS_streamItem and NS_streamEnd methods of every namespace with a
// client-streaming method. A stream is found by its id alone, whatever the namespace.
type streamBuiltins struct{}

// StreamItem sends value, the next of the stream (or value seq, counted from 0); its answer,
// true, comes once the value is in the stream's buffer.
func (streamBuiltins) StreamItem(ctx context.Context, stream string, value json.RawMessage, seq *uint64) (bool, error) {
	c := sessionFromContext(ctx).streams.get(stream)
	if c == nil {
		return false, errStreamNotFound
	}
	if err := c.push(ctx, seq, value); err != nil {
		return false, err
	}
	return true, nil
}

// StreamEnd ends the stream and answers its method's result, once the method has returned.
func (streamBuiltins) StreamEnd(ctx context.Context, stream string) (json.RawMessage, error) {
	ss := sessionFromContext(ctx)
	c := ss.streams.get(stream)
	if c == nil {
		return nil, errStreamNotFound
	}
	res, e, err := c.end(ctx)
	if err != nil {
		ss.streams.remove(stream)
		return nil, err
	}
	ss.streams.remove(stream)
	if e != nil {
		return nil, e
	}
	return res, nil
}

// streamBuiltinCallbacks returns the NS_streamItem and NS_streamEnd callbacks of namespace.
func streamBuiltinCallbacks(namespace string) []*callback {
	reg := &registration{
		names: map[string][]string{"StreamItem": {"stream", "value", "seq"}, "StreamEnd": {"stream"}},
		meta: map[string]MethodMetadata{
			"StreamItem": {Summary: "Sends the next value of a client stream.", Doc: "Sends the next value of a client stream " +
				"(or value seq, counted from 0, for values sent without waiting for each answer). The answer, true, comes once " +
				"the value is in the stream's buffer: while it is full, the answer waits.", Params: []string{"stream", "value", "seq"}},
			"StreamEnd": {Summary: "Ends a client stream and answers its method's result.", Params: []string{"stream"}},
		},
	}
	cbs, err := newCallbacks(namespace, streamBuiltins{}, reg)
	if err != nil {
		panic(fmt.Sprintf("rpc: the stream built-ins: %v", err)) // known to be well formed
	}
	return cbs
}
