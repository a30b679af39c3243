package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Error codes that polyrpc puts on the wire. The first five are defined by the JSON-RPC 2.0
// specification; the others sit in the range it reserves for implementation-defined server errors
// and match go-ethereum's values where go-ethereum has one.
const (
	CodeParseError       = -32700 // the message is not valid JSON
	CodeInvalidRequest   = -32600 // the JSON is not a valid request object
	CodeMethodNotFound   = -32601 // no such method, or not exposed on this transport
	CodeInvalidParams    = -32602 // params do not fit the method's arguments
	CodeInternalError    = -32603 // the method panicked or its result could not be encoded
	CodeServerError      = -32000 // default for a returned error that carries no code of its own
	CodeTimeout          = -32002 // the call outlived its timeout (go-ethereum's "request timed out")
	CodeResponseTooLarge = -32003 // a batch answer outgrew Options.BatchResponseMaxBytes
	CodeServerBusy       = -32005 // a server-wide limit refused the request; retry later
	CodeShuttingDown     = -32006 // the server is stopping and takes no new calls
	// CodePermissionDenied answers a call the caller's principal may not make (see
	// [WithPermission]). go-ethereum, EIP-1474 and jsonrpsee use no -32012; -32001 is avoided
	// because go-ethereum's clients still read it as "notifications not supported".
	CodePermissionDenied = -32012
	// CodeRequestCancelled answers a call its client cancelled (the Language Server Protocol's
	// RequestCancelled; see Options.CancelMethod).
	CodeRequestCancelled = -32800
)

// Error is a JSON-RPC error object. Servers send it for failed calls; the [Client] returns it,
// as *Error, when the server answers a call with an error.
//
// On the client, Data holds the raw JSON of the error's data member (a [json.RawMessage]) or nil.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("json-rpc error %d", e.Code)
	}
	return e.Message
}

// ErrorCode returns the JSON-RPC error code; it makes *Error a [CodedError].
func (e *Error) ErrorCode() int { return e.Code }

// ErrorData returns the error's data member; it makes *Error a [DataError].
func (e *Error) ErrorData() any { return e.Data }

// CodedError is implemented by errors that choose their JSON-RPC error code. A method that returns
// one answers with that code; go-ethereum's rpc.Error types satisfy it unchanged.
type CodedError interface {
	error
	ErrorCode() int
}

// DataError is implemented by errors that carry a data member for the JSON-RPC error object.
type DataError interface {
	error
	ErrorData() any
}

var (
	_ CodedError = (*Error)(nil)
	_ DataError  = (*Error)(nil)
)

// Errors returned by the client and the server's Go API.
var (
	// ErrClosed is returned for calls on a client or session that has been closed.
	ErrClosed = errors.New("rpc: connection closed")
	// ErrServerStopped is returned when a connection is offered to a stopped server.
	ErrServerStopped = errors.New("rpc: server stopped")
	// ErrNoResult is returned by Client calls when the response has neither result nor error.
	ErrNoResult = errors.New("rpc: response has no result")
)

// errorObject converts any error returned by a method into the wire error object.
func errorObject(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	obj := &Error{Code: CodeServerError, Message: err.Error()}
	var ce CodedError
	if errors.As(err, &ce) {
		obj.Code = ce.ErrorCode()
	}
	var de DataError
	if errors.As(err, &de) {
		obj.Data = de.ErrorData()
	}
	return obj
}

func invalidParams(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

func invalidRequest(msg string) *Error {
	return &Error{Code: CodeInvalidRequest, Message: msg}
}

// Wire errors that need no formatting, allocated once.
var (
	errEmptyBatch               = invalidRequest("empty batch")
	errBatchTooLarge            = invalidRequest("batch too large")
	errTimeout                  = &Error{Code: CodeTimeout, Message: "request timed out"}
	errTooLarge                 = &Error{Code: CodeResponseTooLarge, Message: "response too large"}
	errPanic                    = &Error{Code: CodeInternalError, Message: "method handler crashed"}
	errShuttingDown             = &Error{Code: CodeShuttingDown, Message: "server is shutting down"}
	errNotificationsUnsupported = &Error{Code: CodeMethodNotFound, Message: "notifications not supported"}
	errBusy                     = &Error{Code: CodeServerBusy, Message: "server busy: too many request bytes in flight, retry later"}
	errCancelled                = &Error{Code: CodeRequestCancelled, Message: "request cancelled"}
)

// rawData lets a client-side Error keep its data member undecoded.
func rawData(b []byte) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.RawMessage(append([]byte(nil), b...))
}
