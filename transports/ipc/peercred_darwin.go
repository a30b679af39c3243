//go:build darwin

package ipc

import (
	"net"
	"syscall"

	"github.com/polyrpc/polyrpc/rpc"
)

// Socket options of <sys/un.h>, which package syscall does not name.
const (
	solLocal      = 0 // SOL_LOCAL
	localPeerCred = 1 // LOCAL_PEERCRED: struct xucred
	localPeerPID  = 2 // LOCAL_PEERPID: pid_t
)

// peerProcess returns the identity of the process at the other end of c, a Unix socket, from
// LOCAL_PEERCRED and LOCAL_PEERPID. nil when c is not a socket.
//
// struct xucred is {u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]},
// the first group being the effective gid. Package syscall has no getsockopt for it, but the
// kernel copies out as much of it as the buffer holds, and GetsockoptICMPv6Filter reads 32
// bytes (eight uint32) into a struct: enough for the version, the uid, the count and the
// first group.
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
		x, err := syscall.GetsockoptICMPv6Filter(int(fd), solLocal, localPeerCred)
		if err != nil || x.Filt[0] != 0 { // XUCRED_VERSION is 0
			return
		}
		cred = &rpc.ProcessCred{UID: int(x.Filt[1]), GID: -1}
		if int16(x.Filt[2]) > 0 {
			cred.GID = int(x.Filt[3])
		}
		if pid, err := syscall.GetsockoptInt(int(fd), solLocal, localPeerPID); err == nil {
			cred.PID = pid
		}
	})
	return cred
}
