//go:build unix || windows

package ipc

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// TestAcceptRetry: temporary accept errors are retried with a growing backoff, and Close does
// not wait for a backoff to end.
func TestAcceptRetry(t *testing.T) {
	rpctest.CheckLeaks(t)
	tests := []struct {
		name     string
		errs     int
		minDelay time.Duration // before the listener is asked again after the last error
	}{
		{"three errors", 3, minBackoff + 2*minBackoff + 4*minBackoff},
		{"close during a long backoff", 12, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := newFakeListener(tt.errs)
			e := serve(rpctest.NewServer(t, nil), ln, "fake", nil)
			start := time.Now()
			if tt.minDelay > 0 {
				<-ln.drained
				if d := time.Since(start); d < tt.minDelay {
					t.Errorf("%d errors retried within %v, want a backoff of at least %v", tt.errs, d, tt.minDelay)
				}
			} else {
				time.Sleep(300 * time.Millisecond) // the backoff has reached hundreds of ms
			}
			closeStart := time.Now()
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(closeStart); d > 100*time.Millisecond {
				t.Errorf("Close took %v", d)
			}
		})
	}
}

// fakeListener fails Accept with n temporary errors, then blocks until closed.
type fakeListener struct {
	errs    chan error
	drained chan struct{} // closed when Accept is called after the last error
	closed  chan struct{}
	once    sync.Once
}

type tempErr struct{}

func (tempErr) Error() string   { return "temporary failure" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

func newFakeListener(n int) *fakeListener {
	l := &fakeListener{errs: make(chan error, n), drained: make(chan struct{}), closed: make(chan struct{})}
	for range n {
		l.errs <- tempErr{}
	}
	return l
}

func (l *fakeListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	default:
	}
	select {
	case <-l.drained:
	default:
		close(l.drained)
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return &net.UnixAddr{Name: "fake", Net: "unix"} }
