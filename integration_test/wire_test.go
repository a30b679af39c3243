package integration_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Raw clients of the three transports, as rpctest.Wire where they replay transcripts.

// lineWire is an IPC connection read line by line.
type lineWire struct {
	c net.Conn
	r *bufio.Reader
}

func (w *lineWire) Send(msg []byte) error {
	_, err := w.c.Write(append(bytes.Clone(msg), '\n'))
	return err
}

func (w *lineWire) Recv(timeout time.Duration) ([]byte, error) {
	w.c.SetReadDeadline(time.Now().Add(timeout))
	defer w.c.SetReadDeadline(time.Time{})
	line, err := w.r.ReadBytes('\n')
	return bytes.TrimSuffix(line, []byte("\n")), err
}

// wsWire is a gorilla/websocket client connection: one text frame per message sent, one
// message per Recv with its trailing newline trimmed.
type wsWire struct{ ws *websocket.Conn }

// dialWS opens a WebSocket connection to url; it is closed when the test ends.
func dialWS(t testing.TB, url string) *wsWire {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %v %s", url, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsWire{ws: ws}
}

func (w *wsWire) Send(msg []byte) error { return w.ws.WriteMessage(websocket.TextMessage, msg) }

func (w *wsWire) Recv(timeout time.Duration) ([]byte, error) {
	w.ws.SetReadDeadline(time.Now().Add(timeout))
	defer w.ws.SetReadDeadline(time.Time{})
	_, msg, err := w.ws.ReadMessage()
	return bytes.TrimSuffix(msg, []byte("\n")), err
}

func (w *wsWire) Close() error { return w.ws.Close() }

// wsFrame returns one unfragmented, final, masked client text frame carrying payload. The mask
// key is zero (legal, and it leaves the payload as it is), so that the frame can be built once
// and written to many connections: gorilla/websocket would split a long message into frames of
// its write buffer's size and mask each byte for each connection.
func wsFrame(payload []byte) []byte {
	h := []byte{0x81} // FIN, text
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n <= 0xffff:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	h = append(h, 0, 0, 0, 0) // the mask key
	return append(h, payload...)
}

// writeRaw writes bytes straight to the connection under the WebSocket, bypassing
// gorilla/websocket's writer (no other write may be in progress on it).
func (w *wsWire) writeRaw(p []byte, timeout time.Duration) error {
	nc := w.ws.NetConn()
	nc.SetWriteDeadline(time.Now().Add(timeout))
	defer nc.SetWriteDeadline(time.Time{})
	_, err := nc.Write(p)
	return err
}

// reset closes the connection abruptly: no close frame, and a TCP reset instead of a FIN.
func (w *wsWire) reset() {
	if tc, ok := w.ws.NetConn().(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	w.ws.NetConn().Close()
}
