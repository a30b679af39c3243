package rpc

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// request is the envelope of one request object. Its members are raw JSON slices of the message;
// params stay raw until the method's argument types are known.
type request struct {
	version    []byte
	id         []byte // nil when the member is absent: a notification
	method     []byte // the raw string token, quotes included
	params     []byte // nil when absent or null
	isResponse bool   // has result or error members
}

// parseRequest decodes the envelope of the object in b. A non-nil error means invalid JSON.
func parseRequest(b []byte) (request, error) {
	var r request
	i := skipSpace(b, 0)
	end, err := scanObject(b, i, 1, func(key []byte, esc bool, s, e int) error {
		r.member(key, esc, b[s:e])
		return nil
	})
	if err != nil {
		return r, err
	}
	if j := skipSpace(b, end); j != len(b) {
		return r, errAt("invalid character "+quoteChar(b[j])+" after top-level value", j)
	}
	return r, nil
}

// member records the object member key (raw, quotes included; escaped: it holds escape
// sequences) with raw value v.
func (r *request) member(key []byte, escaped bool, v []byte) {
	switch {
	case keyIs(key, escaped, "jsonrpc"):
		r.version = v
	case keyIs(key, escaped, "id"):
		r.id = v
	case keyIs(key, escaped, "method"):
		r.method = v
	case keyIs(key, escaped, "params"):
		r.params = v
	case keyIs(key, escaped, "result"), keyIs(key, escaped, "error"):
		r.isResponse = true
	}
}

// check validates the request object. On failure the id is cleared if it is itself invalid, so
// that the error is answered with id null.
func (r *request) check() *Error {
	if r.id != nil {
		switch c := r.id[0]; {
		case c == '"', c == 'n', c == '-', isDigit(c):
		default:
			r.id = nil
			return invalidRequest("invalid request: id must be a string, a number or null")
		}
	}
	if !bytes.Equal(r.version, []byte(`"2.0"`)) {
		if len(r.version) == 0 || r.version[0] != '"' {
			return errBadVersion
		}
		if v, ok := unquote(r.version, true); !ok || v != "2.0" {
			return errBadVersion
		}
	}
	switch {
	case r.method == nil && r.isResponse:
		return invalidRequest("invalid request: this server makes no calls, so it takes no responses")
	case r.method == nil:
		return invalidRequest(`invalid request: "method" is missing`)
	case r.method[0] != '"':
		return invalidRequest(`invalid request: "method" must be a string`)
	case len(r.method) == 2:
		return invalidRequest(`invalid request: "method" is empty`)
	}
	if r.params != nil {
		switch r.params[0] {
		case '[', '{':
		case 'n':
			r.params = nil // "params": null is taken as absent, as go-ethereum does
		default:
			return invalidRequest(`invalid request: "params" must be an array or an object`)
		}
	}
	return nil
}

// methodName returns the method as a Go string.
func (r *request) methodName() string {
	s, _ := unquote(r.method, bytes.IndexByte(r.method, '\\') >= 0)
	return s
}

var errBadVersion = invalidRequest(`invalid request: "jsonrpc" must be "2.0"`)

const responseHead = `{"jsonrpc":"2.0","id":`

// appendID appends the request id exactly as sent; a string id holding invalid UTF-8 is
// re-encoded so that the response stays valid UTF-8.
func appendID(buf, id []byte) []byte {
	switch {
	case id == nil:
		return append(buf, "null"...)
	case id[0] == '"' && !utf8.Valid(id):
		s, _ := unquote(id, true)
		return appendString(buf, s)
	}
	return append(buf, id...)
}

// appendError appends a complete error response object (no newline).
func appendError(buf, id []byte, e *Error) []byte {
	buf = append(buf, responseHead...)
	buf = appendID(buf, id)
	buf = append(buf, `,"error":{"code":`...)
	buf = strconv.AppendInt(buf, int64(e.Code), 10)
	buf = append(buf, `,"message":`...)
	buf = appendString(buf, e.Message)
	if e.Data != nil {
		mark := len(buf)
		buf = append(buf, `,"data":`...)
		var err error
		if buf, err = appendJSON(buf, e.Data); err != nil {
			buf = buf[:mark] // data that cannot be encoded is left out; the error still goes out
		}
	}
	return append(buf, "}}"...)
}
