//go:build linux

package ipc

import (
	"syscall"
	"time"
	"unsafe"

	"github.com/polyrpc/polyrpc/rpc"
)

var _ rpc.HangupNotifier = (*conn)(nil)

// pollHup is POLLHUP of <poll.h>: the peer has closed its end (package syscall has no name for
// it).
const pollHup = 0x10

// PeerGone returns a channel closed once the peer has closed its end of the socket altogether,
// not just shut down its writing side: the kernel then reports POLLHUP on our end. The server
// asks for it after reading EOF, to cancel calls nobody is waiting for anymore.
func (c *conn) PeerGone() <-chan struct{} {
	gone := make(chan struct{})
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			hup := false
			err := rc.Control(func(fd uintptr) {
				pfd := struct {
					fd              int32
					events, revents int16
				}{fd: int32(fd)}
				var ts syscall.Timespec
				n, _, _ := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
				hup = n == 1 && pfd.revents&pollHup != 0
			})
			if err != nil { // closed
				return
			}
			if hup {
				close(gone)
				return
			}
		}
	}()
	return gone
}
