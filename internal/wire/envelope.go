package wire

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// This file reads the envelope of JSON-RPC 2.0 requests and writes the envelopes of what a
// server sends: answers, error answers and subscription notifications. What the members mean (a
// valid version, an id's type, which codes exist) is for package rpc to decide.

// Request is the envelope of one request object. Its members are raw JSON slices of the
// message, nil when absent; params stay raw until the method's argument types are known.
type Request struct {
	Version    []byte // the "jsonrpc" member
	ID         []byte // nil when the member is absent: a notification
	Method     []byte // the raw token, quotes included when it is a string
	Params     []byte
	IsResponse bool // the object has a "result" or an "error" member
}

// ParseRequest validates the JSON object in b (its first byte that is not space is '{'; space
// may follow it) and returns its envelope. A non-nil error means invalid JSON.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	i := SkipSpace(b, 0)
	end, err := scanObject(b, i, 1, func(key []byte, esc bool, s, e int) error {
		r.member(key, esc, b[s:e])
		return nil
	})
	if err != nil {
		return r, err
	}
	if j := SkipSpace(b, end); j != len(b) {
		return r, errAfterValue(b, j)
	}
	return r, nil
}

// ParseBatch validates the JSON array in b (a batch; space around it allowed) and, in the same
// pass, calls f with the envelope of each element in order, once the element is known to be
// valid: object is false for an element that is not an object (r is then empty). A non-nil
// error means invalid JSON; f has then been called for the elements before the error.
func ParseBatch(b []byte, f func(r Request, object bool)) error {
	var r Request
	member := func(key []byte, esc bool, s, e int) error {
		r.member(key, esc, b[s:e])
		return nil
	}
	end, err := scanElems(b, SkipSpace(b, 0), 1, func(start int) (int, error) {
		if start >= len(b) || b[start] != '{' {
			end, err := scanValueDepth(b, start, 1)
			if err == nil {
				f(Request{}, false)
			}
			return end, err
		}
		r = Request{}
		end, err := scanObject(b, start, 2, member)
		if err == nil {
			f(r, true)
		}
		return end, err
	})
	if err != nil {
		return err
	}
	if j := SkipSpace(b, end); j != len(b) {
		return errAfterValue(b, j)
	}
	return nil
}

// member records the object member key (raw, quotes included; escaped: it holds escape
// sequences) with raw value v.
func (r *Request) member(key []byte, escaped bool, v []byte) {
	switch {
	case KeyIs(key, escaped, "jsonrpc"):
		r.Version = v
	case KeyIs(key, escaped, "id"):
		r.ID = v
	case KeyIs(key, escaped, "method"):
		r.Method = v
	case KeyIs(key, escaped, "params"):
		r.Params = v
	case KeyIs(key, escaped, "result"), KeyIs(key, escaped, "error"):
		r.IsResponse = true
	}
}

// MethodName returns the method as a Go string, or "" if it is not a JSON string.
func (r *Request) MethodName() string {
	s, _ := Unquote(r.Method, bytes.IndexByte(r.Method, '\\') >= 0)
	return s
}

const responseHead = `{"jsonrpc":"2.0","id":`

// appendID appends the request id exactly as sent (nil: null); a string id holding invalid
// UTF-8 is re-encoded so that the answer stays valid UTF-8.
func appendID(buf, id []byte) []byte {
	switch {
	case id == nil:
		return append(buf, "null"...)
	case id[0] == '"' && !utf8.Valid(id):
		s, _ := Unquote(id, true)
		return AppendString(buf, s)
	}
	return append(buf, id...)
}

// AppendResultHead appends the start of the answer to the request with id (raw, as
// [Request.ID] holds it; nil for null), up to its result: {"jsonrpc":"2.0","id":ID,"result":
// The caller appends the result and then '}'. The id is echoed byte for byte, except that a
// string holding invalid UTF-8 is re-encoded so that the answer stays valid UTF-8.
func AppendResultHead(buf, id []byte) []byte {
	buf = append(buf, responseHead...)
	buf = appendID(buf, id)
	return append(buf, `,"result":`...)
}

// AppendError appends a complete error answer to the request with id (as for
// [AppendResultHead]), without a newline:
// {"jsonrpc":"2.0","id":ID,"error":{"code":CODE,"message":MESSAGE,"data":DATA}}. Data is left out
// when nil, and also when [AppendJSON] cannot encode it: the error still goes out.
func AppendError(buf, id []byte, code int, message string, data any) []byte {
	buf = append(buf, responseHead...)
	buf = appendID(buf, id)
	buf = append(buf, `,"error":{"code":`...)
	buf = strconv.AppendInt(buf, int64(code), 10)
	buf = append(buf, `,"message":`...)
	buf = AppendString(buf, message)
	if data != nil {
		mark := len(buf)
		buf = append(buf, `,"data":`...)
		var err error
		if buf, err = AppendJSON(buf, data); err != nil {
			buf = buf[:mark]
		}
	}
	return append(buf, "}}"...)
}

// AppendNotificationHead appends the start of a notification of subscription sub, up to its
// result: {"jsonrpc":"2.0","method":METHOD,"params":{"subscription":SUB,"result":
// The caller appends the result and then [AppendNotificationEnd].
func AppendNotificationHead(buf []byte, method, sub string) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","method":`...)
	buf = AppendString(buf, method)
	buf = append(buf, `,"params":{"subscription":`...)
	buf = AppendString(buf, sub)
	return append(buf, `,"result":`...)
}

// AppendNotificationEnd closes a notification opened by [AppendNotificationHead] whose result
// has been appended: with the event's "offset" member after the result when offset is not 0.
func AppendNotificationEnd(buf []byte, offset uint64) []byte {
	if offset != 0 {
		buf = append(buf, `,"offset":`...)
		buf = strconv.AppendUint(buf, offset, 10)
	}
	return append(buf, "}}"...)
}

// AppendLagNotice appends the notice that dropped notifications of subscription sub were lost,
// the first of them at offset from (0: not known, and left out), without a newline:
// {"jsonrpc":"2.0","method":METHOD,"params":{"subscription":SUB,"dropped":N,"offset":FROM}}.
func AppendLagNotice(buf []byte, method, sub string, dropped, from uint64) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","method":`...)
	buf = AppendString(buf, method)
	buf = append(buf, `,"params":{"subscription":`...)
	buf = AppendString(buf, sub)
	buf = append(buf, `,"dropped":`...)
	buf = strconv.AppendUint(buf, dropped, 10)
	return AppendNotificationEnd(buf, from)
}

// AppendPositionNotice appends the notice that the notifications of subscription sub continue
// after offset in epoch, and whether they continue what the subscriber had without a gap,
// without a newline: {"jsonrpc":"2.0","method":METHOD,"params":{"subscription":SUB,
// "epoch":EPOCH,"offset":N,"recovered":BOOL}}.
func AppendPositionNotice(buf []byte, method, sub, epoch string, offset uint64, recovered bool) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","method":`...)
	buf = AppendString(buf, method)
	buf = append(buf, `,"params":{"subscription":`...)
	buf = AppendString(buf, sub)
	buf = append(buf, `,"epoch":`...)
	buf = AppendString(buf, epoch)
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendUint(buf, offset, 10)
	buf = append(buf, `,"recovered":`...)
	buf = strconv.AppendBool(buf, recovered)
	return append(buf, "}}"...)
}
