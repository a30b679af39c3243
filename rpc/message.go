package rpc

import (
	"bytes"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// checkRequest validates the request object r (its envelope as wire.ParseRequest gives it). On
// failure the id is cleared if it is itself invalid, so that the error is answered with id null.
func checkRequest(r *wire.Request) *Error {
	if r.ID != nil {
		switch c := r.ID[0]; {
		case c == '"', c == 'n', c == '-', isDigit(c):
		default:
			r.ID = nil
			return invalidRequest("invalid request: id must be a string, a number or null")
		}
	}
	if !bytes.Equal(r.Version, []byte(`"2.0"`)) {
		if len(r.Version) == 0 || r.Version[0] != '"' {
			return errBadVersion
		}
		if v, ok := wire.Unquote(r.Version, true); !ok || v != "2.0" {
			return errBadVersion
		}
	}
	switch {
	case r.Method == nil && r.IsResponse:
		return invalidRequest("invalid request: an answer is not a request")
	case r.Method == nil:
		return invalidRequest(`invalid request: "method" is missing`)
	case r.Method[0] != '"':
		return invalidRequest(`invalid request: "method" must be a string`)
	case len(r.Method) == 2:
		return invalidRequest(`invalid request: "method" is empty`)
	}
	if r.Params != nil {
		switch r.Params[0] {
		case '[', '{':
		case 'n':
			r.Params = nil // "params": null is taken as absent, as go-ethereum does
		default:
			return invalidRequest(`invalid request: "params" must be an array or an object`)
		}
	}
	return nil
}

var errBadVersion = invalidRequest(`invalid request: "jsonrpc" must be "2.0"`)

// appendError appends a complete error answer carrying e to the request with id (no newline).
func appendError(buf, id []byte, e *Error) []byte {
	return wire.AppendError(buf, id, e.Code, e.Message, e.Data)
}
