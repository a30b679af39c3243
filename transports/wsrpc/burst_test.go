package wsrpc

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// recConn is a net.Conn that records the writes and write deadlines it is given, as
// "deadline" and "write N" (N the length), and keeps the bytes written.
type recConn struct {
	net.Conn // nil: only the methods below are called

	mu      sync.Mutex
	calls   []string
	written []byte
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, fmt.Sprintf("write %d", len(p)))
	c.written = append(c.written, p...)
	return len(p), nil
}

func (c *recConn) SetWriteDeadline(time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "deadline")
	return nil
}

func (c *recConn) SetDeadline(time.Time) error     { return nil }
func (c *recConn) SetReadDeadline(time.Time) error { return nil }
func (c *recConn) Close() error                    { return nil }
func (c *recConn) LocalAddr() net.Addr             { return &net.TCPAddr{} }
func (c *recConn) RemoteAddr() net.Addr            { return &net.TCPAddr{} }

// take returns the calls recorded so far and forgets them.
func (c *recConn) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

// hijackRW is an http.ResponseWriter whose Hijack hands out conn.
type hijackRW struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRW) Header() http.Header { return http.Header{} }

func (h *hijackRW) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// upgradeOver returns a server-side gorilla connection over nc, upgraded as NewHandler does
// (same buffer sizes and pool), through rw (which hijacks nc).
func upgradeOver(t *testing.T, rw http.ResponseWriter) *websocket.Conn {
	t.Helper()
	h := NewHandler(nil, &Options{DisableCompression: true}).(*handler)
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	ws, err := h.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestGorillaWritePattern pins how gorilla/websocket writes to the connection under it, which
// burstConn relies on: every frame (control frames included) is written after a
// SetWriteDeadline, a message that fits the write buffer in one Write, a larger one in two
// (the buffer, then the rest), and nothing is written outside Write. A new gorilla version
// that changes this must be checked against burstConn.
func TestGorillaWritePattern(t *testing.T) {
	rc := &recConn{}
	ws := upgradeOver(t, &hijackRW{conn: rc})
	rc.take() // the handshake
	large := strings.Repeat("x", 3*bufferSize)
	for _, tc := range []struct {
		name  string
		write func() error
		want  []string
	}{
		{"small text message", func() error { return ws.WriteMessage(websocket.TextMessage, []byte("hello\n")) },
			[]string{"deadline", "write 8"}},
		{"large text message", func() error { return ws.WriteMessage(websocket.TextMessage, []byte(large)) },
			// A 4-byte header and the write buffer, then the rest of the payload.
			[]string{"deadline", fmt.Sprintf("write %d", 4+bufferSize), fmt.Sprintf("write %d", len(large)-bufferSize)}},
		{"ping", func() error { return ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) },
			[]string{"deadline", "write 2"}},
		{"close frame", func() error {
			return ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1001, "bye"), time.Now().Add(time.Second))
		}, []string{"deadline", "write 7"}},
	} {
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := rc.take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: gorilla made the calls %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestBurstConn: under gorilla, a burst of messages reaches the network as one write, with
// the deadline given to flush; outside a burst every frame is written as gorilla writes it;
// a burst over maxBurst writes what it gathered and then the frame that did not fit.
func TestBurstConn(t *testing.T) {
	big := strings.Repeat("y", maxBurst)
	for _, tc := range []struct {
		name  string
		burst bool
		msgs  []string
		want  []string // calls that reach the network
	}{
		{"no burst: each frame written", false, []string{"a", "b"},
			[]string{"deadline", "write 3", "deadline", "write 3"}},
		{"burst: one write", true, []string{"a", "b", "c"}, []string{"deadline", "write 9"}},
		{"burst: an empty one writes nothing", true, nil, nil},
		{"burst: too big to gather", true, []string{"a", big, "c"},
			// Gathered: "a" (3 bytes) and the first write of big (a 10-byte header and the
			// write buffer). The rest of big does not fit: the gathered bytes are written, then
			// it; "c" is gathered again, and written by flush within its deadline.
			[]string{"deadline", fmt.Sprintf("write %d", 3+10+bufferSize), fmt.Sprintf("write %d", maxBurst-bufferSize),
				"deadline", "write 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recConn{}
			hj := &hijacker{ResponseWriter: &hijackRW{conn: rc}}
			ws := upgradeOver(t, hj)
			rc.take()
			start := len(rc.written)
			if tc.burst {
				hj.conn.begin()
			}
			for _, m := range tc.msgs {
				ws.SetWriteDeadline(time.Now().Add(time.Minute))
				if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			if err := hj.conn.flush(time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := rc.take(); !slices.Equal(got, tc.want) {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
			// Every payload arrives, in order (frame headers between them).
			written := rc.written[start:]
			for _, m := range tc.msgs {
				i := bytes.Index(written, []byte(m))
				if i < 0 {
					t.Fatalf("message %.10q... not written in order", m)
				}
				written = written[i+len(m):]
			}
		})
	}
}
