package rpctest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

var (
	_ rpc.MessageWriter = (*Inbox)(nil)
	_ Wire              = (*StreamWire)(nil)
	_ Wire              = (*HTTPWire)(nil)
)

// Inbox collects messages written by a server and hands them out in order. It implements
// rpc.MessageWriter, so a Session can write to it directly.
type Inbox struct {
	mu     sync.Mutex
	msgs   [][]byte
	notify chan struct{}
}

// NewInbox returns an empty Inbox.
func NewInbox() *Inbox { return &Inbox{notify: make(chan struct{}, 1)} }

// WriteMessage stores a copy of msg without its trailing newline.
func (in *Inbox) WriteMessage(msg []byte) error {
	in.Put(msg)
	return nil
}

// Put stores a copy of msg without its trailing newline. It ignores nil, with which the
// in-process transport reports a closed connection.
func (in *Inbox) Put(msg []byte) {
	if msg == nil {
		return
	}
	m := bytes.TrimSuffix(bytes.Clone(msg), []byte("\n"))
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.notify <- struct{}{}:
	default:
	}
}

// Recv returns the oldest message, waiting up to timeout for one.
func (in *Inbox) Recv(timeout time.Duration) ([]byte, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		in.mu.Lock()
		if len(in.msgs) > 0 {
			m := in.msgs[0]
			in.msgs = in.msgs[1:]
			in.mu.Unlock()
			return m, nil
		}
		in.mu.Unlock()
		select {
		case <-in.notify:
		case <-deadline.C:
			return nil, errors.New("rpctest: no message within " + timeout.String())
		}
	}
}

// StreamWire is a Wire over a byte stream whose server writes one message per line (IPC, TCP).
type StreamWire struct {
	Conn io.ReadWriteCloser
	r    *bufio.Reader
}

// NewStreamWire returns a Wire over c.
func NewStreamWire(c io.ReadWriteCloser) *StreamWire {
	return &StreamWire{Conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// Send writes msg followed by a newline.
func (w *StreamWire) Send(msg []byte) error {
	_, err := w.Conn.Write(append(bytes.Clone(msg), '\n'))
	return err
}

// readDeadliner is a connection whose reads can time out (a net.Conn).
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// Recv reads one line.
func (w *StreamWire) Recv(timeout time.Duration) ([]byte, error) {
	if d, ok := w.Conn.(readDeadliner); ok {
		d.SetReadDeadline(time.Now().Add(timeout))
		defer d.SetReadDeadline(time.Time{})
	}
	line, err := w.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

// Close closes the connection.
func (w *StreamWire) Close() error { return w.Conn.Close() }

// HTTPWire is a Wire over HTTP: each message is POSTed as application/json, and every non-empty
// answer body is queued for Recv (notifications get empty bodies, so nothing is queued).
type HTTPWire struct {
	url    string
	client *http.Client
	inbox  *Inbox
}

// NewHTTPWire returns a Wire that POSTs to url over its own connections.
func NewHTTPWire(url string) *HTTPWire {
	return &HTTPWire{url: url, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}, inbox: NewInbox()}
}

// Send POSTs msg; a status other than 200 is an error.
func (w *HTTPWire) Send(msg []byte) error {
	resp, err := w.client.Post(w.url, "application/json", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rpctest: status %s: %s", resp.Status, body)
	}
	if len(body) > 0 {
		w.inbox.Put(body)
	}
	return nil
}

// Recv returns the next answer.
func (w *HTTPWire) Recv(timeout time.Duration) ([]byte, error) { return w.inbox.Recv(timeout) }

// Close closes the wire's idle connections.
func (w *HTTPWire) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
