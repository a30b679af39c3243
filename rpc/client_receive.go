package rpc

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/polyrpc/polyrpc/internal/wire"
)

var errServerClosed = fmt.Errorf("%w by the server", ErrClosed)

// response is the envelope of a message the client receives.
type response struct {
	id     []byte
	result []byte
	errObj []byte
	method []byte
	params []byte
}

func parseResponse(b []byte) (response, error) {
	var r response
	_, err := wire.Object(b, wire.SkipSpace(b, 0), func(key []byte, esc bool, s, e int) error {
		switch {
		case wire.KeyIs(key, esc, "id"):
			r.id = b[s:e]
		case wire.KeyIs(key, esc, "result"):
			r.result = b[s:e]
		case wire.KeyIs(key, esc, "error"):
			r.errObj = b[s:e]
		case wire.KeyIs(key, esc, "method"):
			r.method = b[s:e]
		case wire.KeyIs(key, esc, "params"):
			r.params = b[s:e]
		}
		return nil
	})
	return r, err
}

// receive takes one message from the server: an answer, a batch of answers, a notification or
// a request.
func (c *Client) receive(msg []byte) { c.receiveOn(nil, msg) }

// receiveOn is receive for a message read from cc (nil: the client's only connection).
func (c *Client) receiveOn(cc *clientConn, msg []byte) {
	if msg == nil {
		c.fail(errServerClosed)
		return
	}
	i := wire.SkipSpace(msg, 0)
	if i == len(msg) {
		return
	}
	if msg[i] != '[' {
		c.receiveOne(cc, msg[i:])
		return
	}
	elems, err := wire.SplitArray(msg[i:])
	if err != nil {
		return
	}
	var batches []*pendingCall
	for _, e := range elems {
		pc := c.receiveOne(cc, e)
		if pc != nil && pc.batch != nil && (len(batches) == 0 || batches[len(batches)-1] != pc) {
			batches = append(batches, pc)
		}
	}
	// A batch is answered by one array: elements it left out will not come.
	c.mu.Lock()
	closed := c.err // a Close meanwhile took the rest of the batch's ids: report that
	c.mu.Unlock()
	for _, pc := range batches {
		c.forget(pc.base, len(pc.batch))
		pc.finish(closed)
	}
}

// receiveOne handles one object from cc and returns the call it answered, if any. A request
// (or a notification that is not a subscription's) goes to the methods the client serves.
func (c *Client) receiveOne(cc *clientConn, b []byte) *pendingCall {
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	r, err := parseResponse(b)
	if err != nil {
		return nil
	}
	if r.method != nil {
		switch {
		case r.id == nil && isSubNotification(r.method):
			if r.params != nil && r.params[0] == '{' {
				c.notification(r.method, r.params)
			}
		case r.method[0] == '"':
			// Never answer garbage, nor an invalid notification (it has nobody to tell).
			if req, err := wire.ParseRequest(b); err == nil && (r.id != nil || checkRequest(&req) == nil) {
				c.serveRequest(cc, b)
			}
		}
		return nil
	}
	id, ok := parseUint(r.id)
	if !ok {
		if r.errObj != nil {
			c.orphanError(decodeError(r.errObj))
		}
		return nil
	}
	c.mu.Lock()
	pc := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if pc != nil {
		pc.answer(id, r)
	}
	return pc
}

// orphanError handles an error answer with no usable id (the server could not read the
// request). With exactly one call waiting it must be that call's; otherwise it is kept for a
// request/response transport to report.
func (c *Client) orphanError(e *Error) {
	c.mu.Lock()
	var only *pendingCall
	var onlyID uint64
	if !c.roundTrip && len(c.pending) == 1 {
		for id, pc := range c.pending {
			only, onlyID = pc, id
		}
		delete(c.pending, onlyID)
	}
	if only == nil {
		c.orphan = e
	}
	c.mu.Unlock()
	if only != nil {
		only.finish(e)
	}
}

func decodeResult(r response, result any) error {
	switch {
	case r.errObj != nil:
		return decodeError(r.errObj)
	case r.result == nil:
		return ErrNoResult
	case result == nil:
		return nil
	}
	if decodePlain(r.result, result) {
		return nil
	}
	return json.Unmarshal(r.result, result)
}

// decodePlain decodes the most common results (strings without escapes, integers, booleans)
// without encoding/json, and reports whether it did.
func decodePlain(raw []byte, result any) bool {
	switch p := result.(type) {
	case *string:
		if len(raw) >= 2 && raw[0] == '"' && !hasEscape(raw) && utf8.Valid(raw) {
			*p = string(raw[1 : len(raw)-1])
			return true
		}
	case *bool:
		switch string(raw) {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	case *int, *int64, *uint64:
		neg := len(raw) > 0 && raw[0] == '-'
		digits := raw
		if neg {
			digits = raw[1:]
		}
		n, ok := parseUint(digits)
		switch p := p.(type) {
		case *uint64:
			if ok && !neg {
				*p = n
				return true
			}
		case *int64:
			if ok && n <= 1<<63-1 {
				*p = int64(n)
				if neg {
					*p = -*p
				}
				return true
			}
		case *int:
			if ok && n <= uint64(^uint(0)>>1) {
				*p = int(n)
				if neg {
					*p = -*p
				}
				return true
			}
		}
	}
	return false
}

func decodeError(raw []byte) *Error {
	var w struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return &Error{Code: CodeInternalError, Message: "rpc: malformed error object: " + err.Error()}
	}
	return &Error{Code: w.Code, Message: w.Message, Data: rawData(w.Data)}
}
