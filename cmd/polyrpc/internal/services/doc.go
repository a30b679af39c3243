// Package services holds the built-in services of the polyrpc binary: admin (the node and its
// connections) and chat (rooms with history and live messages over subscriptions).
//
// Each service is a Go value whose RPC surface is a separate receiver returned by its API
// method, so the setters the binary uses to configure it are never callable remotely.
package services

//go:generate go run github.com/polyrpc/polyrpc/cmd/polyrpc-gen -type chatAPI,adminAPI -output services_rpcmeta.go

// invalidParams is an error answered with code -32602 (invalid params).
type invalidParams string

func (e invalidParams) Error() string { return string(e) }

// ErrorCode makes invalidParams an rpc.CodedError.
func (invalidParams) ErrorCode() int { return -32602 }
