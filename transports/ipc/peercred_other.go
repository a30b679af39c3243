//go:build !linux && !darwin

package ipc

import (
	"net"

	"github.com/polyrpc/polyrpc/rpc"
)

// peerProcess is not available here (Windows named pipes, other systems): nil.
func peerProcess(net.Conn) *rpc.ProcessCred { return nil }
