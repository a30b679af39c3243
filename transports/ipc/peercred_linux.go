//go:build linux

package ipc

import (
	"net"
	"syscall"

	"github.com/polyrpc/polyrpc/rpc"
)

// peerProcess returns the identity of the process at the other end of c, a Unix socket, from
// SO_PEERCRED: its credentials when it connected. nil when c is not a socket.
func peerProcess(c net.Conn) *rpc.ProcessCred {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *rpc.ProcessCred
	rc.Control(func(fd uintptr) {
		u, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		if err == nil {
			cred = &rpc.ProcessCred{UID: int(u.Uid), GID: int(u.Gid), PID: int(u.Pid)}
		}
	})
	return cred
}
