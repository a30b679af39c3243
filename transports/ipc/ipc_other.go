//go:build !unix && !windows

package ipc

import (
	"context"
	"errors"
	"net"
	"runtime"
)

var errUnsupported = errors.New("ipc: not supported on " + runtime.GOOS)

func listen(string) (net.Listener, error) { return nil, errUnsupported }

func dial(context.Context, string) (net.Conn, error) { return nil, errUnsupported }

func retryable(err error) bool { return temporary(err) }
