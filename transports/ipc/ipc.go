package ipc

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Options configures an [Endpoint]. A nil *Options gives the defaults.
type Options struct {
	// Namespaces, when non-nil, lists the namespaces callable on the endpoint's connections;
	// other methods answer -32601. The rpc namespace is always callable. Nil exposes all.
	Namespaces []string

	// WriteTimeout bounds each write to a client. A write that does not complete in time
	// closes the connection. Default 10 s; a negative value disables the timeout.
	WriteTimeout time.Duration

	// Authenticator, when set, runs for each accepted connection before it is served, with
	// the identity of the client's process as the operating system reports it
	// (rpc.Credentials.Process: SO_PEERCRED on Linux, LOCAL_PEERCRED and LOCAL_PEERPID on
	// macOS; not available on Windows named pipes, where it is nil). A connection it refuses is
	// closed; the principal it returns is the connection's (rpc.ConnOptions.Principal), closed
	// when the expiry it returns passes. nil: no authentication (the socket's mode 0600, or the
	// pipe's access control, decides who connects).
	Authenticator rpc.Authenticator
}

const (
	defaultWriteTimeout = 10 * time.Second
	minBackoff          = 5 * time.Millisecond
	maxBackoff          = time.Second
)

// Listen returns a listener for IPC connections at path: a Unix domain socket, or on Windows a
// named pipe \\.\pipe\NAME. See the package documentation for the checks it makes and how it
// replaces a stale socket. Closing the listener removes the socket file.
func Listen(path string) (net.Listener, error) { return listen(path) }

// Dial connects to the IPC endpoint at path and returns a client for it. path is a socket
// path, optionally written unix://PATH, or on Windows a named pipe \\.\pipe\NAME. ctx bounds
// the connection attempt only (on Windows, without a deadline, a busy pipe is waited for at
// most 2 s). The client multiplexes concurrent calls on the one connection; close it to close
// the connection.
func Dial(ctx context.Context, path string) (*rpc.Client, error) {
	return DialWith(ctx, path, nil)
}

// DialOptions configures [DialWith]. A nil *DialOptions gives the defaults.
type DialOptions struct {
	// Reconnect, when set, makes the client dial path again whenever the connection fails,
	// and resume its subscriptions: see rpc.NewReconnectingClient. Nil: the client fails once
	// its connection does.
	Reconnect *rpc.ReconnectOptions
}

// DialWith is [Dial] with options: DialWith(ctx, path, &ipc.DialOptions{Reconnect:
// &rpc.ReconnectOptions{}}) returns a client that reconnects.
func DialWith(ctx context.Context, path string, opts *DialOptions) (*rpc.Client, error) {
	path = strings.TrimPrefix(path, "unix://")
	open := func(ctx context.Context) (rpc.Conn, error) {
		c, err := dial(ctx, path)
		if err != nil {
			return nil, err
		}
		return rpc.NewStreamConn(c, 0), nil
	}
	if opts != nil && opts.Reconnect != nil {
		return rpc.NewReconnectingClient(ctx, open, opts.Reconnect)
	}
	conn, err := open(ctx)
	if err != nil {
		return nil, err
	}
	return rpc.NewClient(conn), nil
}

// Endpoint serves an [rpc.Server] on an IPC listener: it accepts connections and serves each
// one on its own goroutine until the endpoint is closed. Create one with [Serve].
type Endpoint struct {
	srv          *rpc.Server
	ln           net.Listener
	path         string
	opts         rpc.ConnOptions
	writeTimeout time.Duration
	auth         rpc.Authenticator

	done   chan struct{}   // closed when Close begins
	ctx    context.Context // cancelled when Close begins: the authenticator's
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	conns     map[*conn]struct{} // nil once closed
	acceptErr error              // why the accept loop stopped on its own, if it did

	closeOnce sync.Once
	closeErr  error
}

// Serve listens at path (see [Listen]) and serves srv on every connection accepted there, with
// the namespaces and write timeout of opts (nil: the defaults). It returns once the endpoint is
// listening; connections are served in the background until [Endpoint.Close].
func Serve(srv *rpc.Server, path string, opts *Options) (*Endpoint, error) {
	ln, err := Listen(path)
	if err != nil {
		return nil, err
	}
	return serve(srv, ln, path, opts), nil
}

// serve runs the accept loop over ln.
func serve(srv *rpc.Server, ln net.Listener, path string, opts *Options) *Endpoint {
	if opts == nil {
		opts = &Options{}
	}
	e := &Endpoint{
		srv:  srv,
		ln:   ln,
		path: path,
		opts: rpc.ConnOptions{
			Peer:       rpc.PeerInfo{Transport: rpc.TransportIPC, RemoteAddr: path},
			Namespaces: opts.Namespaces,
		},
		writeTimeout: opts.WriteTimeout,
		auth:         opts.Authenticator,
		done:         make(chan struct{}),
		conns:        make(map[*conn]struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.writeTimeout == 0 {
		e.writeTimeout = defaultWriteTimeout
	}
	e.wg.Go(e.acceptLoop)
	return e
}

// Path returns the path the endpoint listens on, as given to [Serve].
func (e *Endpoint) Path() string { return e.path }

// Close stops accepting, closes the listener (removing the socket file), closes every
// connection the endpoint accepted (calls in flight on them are cancelled and their clients
// see the connection end) and waits for the endpoint's goroutines to return. It returns the
// error that stopped the accept loop early, if one did, or the listener's close error. Close is
// idempotent; every call returns once the endpoint is closed.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		conns := e.conns
		e.conns = nil
		e.mu.Unlock()
		close(e.done)
		e.cancel()
		err := e.ln.Close()
		for c := range conns {
			c.Close()
		}
		e.wg.Wait()
		e.closeErr = err
		if e.acceptErr != nil {
			e.closeErr = e.acceptErr
		}
	})
	return e.closeErr
}

func (e *Endpoint) acceptLoop() {
	var delay time.Duration
	for {
		nc, err := e.ln.Accept()
		if err != nil {
			select {
			case <-e.done:
				return
			default:
			}
			if !retryable(err) {
				e.mu.Lock()
				e.acceptErr = err
				e.mu.Unlock()
				return
			}
			delay = min(max(2*delay, minBackoff), maxBackoff)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-e.done:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		c := &conn{Conn: nc, timeout: e.writeTimeout}
		e.mu.Lock()
		if e.conns == nil {
			e.mu.Unlock()
			c.Close()
			return
		}
		e.conns[c] = struct{}{}
		e.mu.Unlock()
		e.wg.Go(func() {
			if opts, ok := e.authenticate(c); ok {
				e.srv.ServeStream(c, opts) // closes c
			} else {
				c.Close()
			}
			e.mu.Lock()
			delete(e.conns, c)
			e.mu.Unlock()
		})
	}
}

// authenticate returns the options to serve c with: the endpoint's, with the principal of
// the endpoint's authenticator, if it has one. It reports false when the authenticator
// refuses c.
func (e *Endpoint) authenticate(c *conn) (rpc.ConnOptions, bool) {
	opts := e.opts
	if e.auth == nil {
		return opts, true
	}
	cred := &rpc.Credentials{Peer: opts.Peer, Process: peerProcess(c.Conn)}
	principal, expires, err := e.auth.Authenticate(e.ctx, cred)
	if err == nil && !expires.IsZero() && !time.Now().Before(expires) {
		err = errExpired
	}
	if err != nil {
		e.srv.ReportRefusal(opts.Peer, rpc.RefusedAuth)
		return opts, false
	}
	opts.Principal, opts.PrincipalExpires = principal, expires
	return opts, true
}

// errExpired refuses a principal that the authenticator returned already expired.
var errExpired = errors.New("ipc: the credentials have expired")

// temporary reports whether err says it is temporary (net.Error's deprecated Temporary, which
// is still how accept reports EMFILE and friends).
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// conn is an accepted connection: each write has a deadline, and a failed write closes the
// connection (its stream is broken, and closing unblocks the server's read loop). Close closes
// the underlying connection once. It is the stream given to rpc.Server.ServeStream, and an
// rpc.HangupNotifier on Linux (hangup_linux.go).
type conn struct {
	net.Conn
	timeout time.Duration
	once    sync.Once
	err     error
}

var _ io.ReadWriteCloser = (*conn)(nil)

func (c *conn) Write(p []byte) (int, error) {
	if c.timeout > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
			c.Close()
			return 0, err
		}
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.Close()
	}
	return n, err
}

func (c *conn) Close() error {
	c.once.Do(func() { c.err = c.Conn.Close() })
	return c.err
}
