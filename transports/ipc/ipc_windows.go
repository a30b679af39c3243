//go:build windows

package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	npipe "gopkg.in/natefinch/npipe.v2"
)

const (
	pipePrefix = `\\.\pipe\`
	// defaultPipeDialTimeout is go-ethereum's wait for a busy pipe when ctx has no deadline.
	defaultPipeDialTimeout = 2 * time.Second

	// closeWakeTimeout bounds how long Close tries to wake a pending Accept.
	closeWakeTimeout = 5 * time.Second

	errorPipeBusy = syscall.Errno(231) // ERROR_PIPE_BUSY: every instance of the pipe is connected
	// securityAnonymous makes a probe's CreateFile refuse to let the pipe's server impersonate
	// this process (SECURITY_SQOS_PRESENT | SECURITY_ANONYMOUS).
	securityAnonymous = 0x00100000
)

// isPipeName reports whether path is a local named pipe, \\.\pipe\NAME.
func isPipeName(path string) bool {
	return len(path) > len(pipePrefix) && strings.EqualFold(path[:len(pipePrefix)], pipePrefix) &&
		!strings.Contains(path[len(pipePrefix):], `\`)
}

func listen(path string) (net.Listener, error) {
	if !isPipeName(path) {
		return nil, fmt.Errorf(`ipc: on Windows the path must be a named pipe \\.\pipe\NAME (NAME without backslashes), not %q`, path)
	}
	// npipe creates the pipe with FILE_FLAG_FIRST_PIPE_INSTANCE, so Windows refuses a name in
	// use with ERROR_ACCESS_DENIED; Wine ignores the flag, so the name is also probed first.
	if pipeInUse(path) {
		return nil, fmt.Errorf("ipc: %s is already in use: a server answers on it", path)
	}
	ln, err := npipe.Listen(path)
	if errors.Is(err, syscall.ERROR_ACCESS_DENIED) {
		return nil, fmt.Errorf("ipc: %s is already in use (or not accessible): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: listen on %s: %w", path, err)
	}
	return newPipeListener(ln, path)
}

// pipeInUse reports whether a server holds the pipe name. It connects as an anonymous client:
// a server of ours sees a connection that ends at once.
func pipeInUse(path string) bool {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return false
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
		syscall.OPEN_EXISTING, securityAnonymous, 0)
	if err == nil {
		syscall.CloseHandle(h)
	}
	return err == nil || err == errorPipeBusy || err == syscall.ERROR_ACCESS_DENIED
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	if !isPipeName(path) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := defaultPipeDialTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	c, err := npipe.DialTimeout(path, timeout)
	if err != nil {
		return nil, fmt.Errorf("ipc: dial %s: %w", path, err)
	}
	return &pipeConn{PipeConn: c}, nil
}

// retryable reports whether the accept loop should retry after err. npipe reports few errors
// as temporary, yet most of its accept errors are (creating the next pipe instance fails while
// all 255 are in use, for example), so every error is retried but those of a closed listener.
func retryable(err error) bool {
	return !errors.Is(err, npipe.ErrClosed) && !errors.Is(err, syscall.EINVAL)
}

// pipeListener hands out connections as *pipeConn, and closes npipe's listener only while no
// Accept is pending: npipe's Close with an Accept pending closes the accept's event handle,
// which the Accept closes again when it returns. A second CloseHandle closes whatever handle
// reused the value meanwhile (another connection's pipe, for example). So Close first wakes a
// pending Accept by connecting to it.
type pipeListener struct {
	*npipe.PipeListener
	name *uint16

	mu        sync.Mutex
	closed    bool
	accepting sync.WaitGroup // Accept calls in progress
	closeOnce sync.Once
	closeErr  error
}

func newPipeListener(ln *npipe.PipeListener, path string) (*pipeListener, error) {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &pipeListener{PipeListener: ln, name: name}, nil
}

func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	l.accepting.Add(1)
	l.mu.Unlock()
	defer l.accepting.Done()
	c, err := l.PipeListener.Accept()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		if c != nil {
			c.Close() // the connection that woke this Accept
		}
		return nil, net.ErrClosed
	}
	if err != nil {
		return nil, err
	}
	return &pipeConn{PipeConn: c.(*npipe.PipeConn)}, nil
}

// Close makes Accept return net.ErrClosed and closes the pipe.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		idle := make(chan struct{})
		go func() {
			l.accepting.Wait()
			close(idle)
		}()
		// Connect until the pending Accept has returned. An attempt fails while npipe is
		// between two pipe instances; a client that connects and leaves before npipe waits
		// for it is skipped by npipe, hence the loop. Should that never succeed, npipe's
		// Close is the last resort.
		wake := time.NewTicker(5 * time.Millisecond)
		defer wake.Stop()
		giveUp := time.NewTimer(closeWakeTimeout)
		defer giveUp.Stop()
		for done := false; !done; {
			if h, err := syscall.CreateFile(l.name, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
				syscall.OPEN_EXISTING, securityAnonymous, 0); err == nil {
				syscall.CloseHandle(h)
			}
			select {
			case <-idle:
				done = true
			case <-giveUp.C:
				done = true
			case <-wake.C:
			}
		}
		l.closeErr = l.PipeListener.Close()
	})
	return l.closeErr
}

// pipeConn mends npipe's PipeConn where the server depends on it:
//
//   - after Close, Read reports net.ErrClosed: npipe's pending read returns io.EOF, which the
//     server would take for the client's clean end and wait for the calls in flight;
//   - Close closes the handle once: a second CloseHandle could close a handle that reused the
//     value;
//   - a write still pending at the write deadline closes the connection (which ends the write)
//     and fails with os.ErrDeadlineExceeded. npipe's own write deadline leaves a goroutine
//     blocked forever each time it expires.
type pipeConn struct {
	*npipe.PipeConn
	closed atomic.Bool
	once   sync.Once
	err    error

	mu            sync.Mutex
	writeDeadline time.Time
}

func (c *pipeConn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.PipeConn.Read(p)
	if err != nil && c.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

func (c *pipeConn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	dl := c.writeDeadline
	c.mu.Unlock()
	var timer *time.Timer
	if !dl.IsZero() {
		timer = time.AfterFunc(time.Until(dl), func() { c.Close() })
	}
	n, err := c.PipeConn.Write(p)
	if timer != nil && !timer.Stop() {
		return n, fmt.Errorf("ipc: write: %w", os.ErrDeadlineExceeded)
	}
	if err != nil && c.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

// SetWriteDeadline sets when a pending write closes the connection; the zero time: never.
func (c *pipeConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = t
	c.mu.Unlock()
	return nil
}

// SetDeadline sets npipe's read deadline and this write deadline.
func (c *pipeConn) SetDeadline(t time.Time) error {
	c.PipeConn.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *pipeConn) Close() error {
	c.once.Do(func() {
		c.closed.Store(true)
		c.err = c.PipeConn.Close()
	})
	return c.err
}
