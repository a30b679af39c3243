package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The network benchmarks drive every server with the same thin raw client, so that the
// client's cost is equal for the three servers compared and small next to theirs (client and
// servers share the machine's two cores). It writes prebuilt request bytes with a fresh integer
// id, reads each answer into a reused buffer and verifies it without decoding it into Go values:
// a one-pass scan of the answer object checks "jsonrpc":"2.0", that the id is one it is waiting
// for (once) and that the result is byte for byte the expected JSON ("pong", or the echoed 64
// KiB document, which both libraries encode exactly as encoding/json wrote it: compact, keys
// sorted); an error member or anything else fails the benchmark.
//
//   - HTTP: HTTP/1.1 over one keep-alive TCP connection per client, one request at a time; the
//     answer is read by Content-Length (or chunked encoding).
//   - WebSocket: a gorilla/websocket client connection; one text message per request.
//   - IPC: a unix socket with buffered writes; requests and answers are lines.
//
// go-ethereum's or polyrpc's client would add their own, different costs (go-ethereum's client
// spends more CPU per call than polyrpc's server does), and would decide the ceiling's figure.

// opKind is what one operation of a benchmark sends.
type opKind int

const (
	opPing  opKind = iota // test_ping, answered "pong"
	opBatch               // a batch of batchSize test_ping calls
	opEcho                // test_echoAny with the 64 KiB document
)

// callsPerOp is how many JSON-RPC calls one operation makes.
func (k opKind) callsPerOp() int {
	if k == opBatch {
		return batchSize
	}
	return 1
}

var (
	pingHead = []byte(`{"jsonrpc":"2.0","id":`)
	pingTail = []byte(`,"method":"test_ping","params":[]}`)
	echoTail = []byte(`,"method":"test_echoAny","params":[`)
	pongJSON = []byte(`"pong"`)
)

// appendRequest appends the request of one operation with id (a batch uses ids id to
// id+batchSize-1), followed by a newline (IPC frames by lines; HTTP and WebSocket servers take
// it as trailing whitespace).
func appendRequest(dst []byte, k opKind, id uint64) []byte {
	switch k {
	case opBatch:
		dst = append(dst, '[')
		for i := range uint64(batchSize) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, pingHead...)
			dst = strconv.AppendUint(dst, id+i, 10)
			dst = append(dst, pingTail...)
		}
		dst = append(dst, ']')
	case opEcho:
		dst = append(dst, pingHead...)
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, echoTail...)
		dst = append(dst, echoDoc()...)
		dst = append(dst, "]}"...)
	default:
		dst = append(dst, pingHead...)
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, pingTail...)
	}
	return append(dst, '\n')
}

// wantResult is the exact JSON of the result of an operation's calls.
func (k opKind) wantResult() []byte {
	if k == opEcho {
		return echoDoc()
	}
	return pongJSON
}

// --- answer verification ---

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a '"').
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// skipValue returns the index after the JSON value starting at b[i]. It only tracks strings and
// brackets: it is used for members the benchmark does not expect.
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			j, err := skipString(b, i)
			if err != nil {
				return 0, err
			}
			if i = j; depth == 0 {
				return i, nil
			}
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return i, nil // the end of the enclosing object ends a scalar
			}
			if depth--; depth == 0 {
				return i + 1, nil
			}
		case c == ',' && depth == 0:
			return i, nil
		}
		i++
	}
	if depth == 0 {
		return i, nil
	}
	return 0, errors.New("unterminated value")
}

// parseAnswer checks the answer object at b[i:]: "jsonrpc":"2.0", a non-negative integer id
// and a result equal to want. It returns the id and the index after the object.
func parseAnswer(b []byte, i int, want []byte) (id uint64, end int, err error) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, 0, fmt.Errorf("answer is not an object: %.80q", b[i:])
	}
	i++
	var haveID, haveResult, haveVersion bool
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, 0, errors.New("truncated answer")
		}
		if b[i] == '}' {
			i++
			break
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '"' {
			return 0, 0, fmt.Errorf("bad answer near %.40q", b[i:])
		}
		ke, err := skipString(b, i)
		if err != nil {
			return 0, 0, err
		}
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, errors.New("missing colon")
		}
		i = skipWS(b, i+1)
		switch string(key) {
		case "jsonrpc":
			if !bytes.HasPrefix(b[i:], []byte(`"2.0"`)) {
				return 0, 0, fmt.Errorf("jsonrpc is %.10q", b[i:])
			}
			i += 5
			haveVersion = true
		case "id":
			j := i
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if id, err = strconv.ParseUint(string(b[i:j]), 10, 64); err != nil {
				return 0, 0, fmt.Errorf("id %.20q: %v", b[i:], err)
			}
			i = j
			haveID = true
		case "result":
			if !bytes.HasPrefix(b[i:], want) {
				return 0, 0, fmt.Errorf("result %.80q differs from the expected %.80q", b[i:], want)
			}
			i += len(want)
			haveResult = true
		default:
			j, err := skipValue(b, i)
			if err != nil {
				return 0, 0, err
			}
			if string(key) == "error" {
				return 0, 0, fmt.Errorf("error answer: %s", b[i:j])
			}
			i = j
		}
	}
	if !haveID || !haveResult || !haveVersion {
		return 0, 0, fmt.Errorf("incomplete answer %.200q", b)
	}
	return id, i, nil
}

// parseBatchAnswer checks a batch answer holding one "pong" answer for each id of
// [base, base+batchSize), in any order, and returns base (derived from the first answer).
func parseBatchAnswer(b []byte) (base uint64, err error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, fmt.Errorf("batch answer is not an array: %.80q", b)
	}
	i++
	var seen [batchSize]bool
	for n := 0; ; n++ {
		i = skipWS(b, i)
		if i < len(b) && b[i] == ']' {
			if n != batchSize {
				return 0, fmt.Errorf("batch answer has %d elements, want %d", n, batchSize)
			}
			return base, nil
		}
		if n > 0 {
			if i >= len(b) || b[i] != ',' {
				return 0, errors.New("bad batch answer")
			}
			i++
		}
		id, end, err := parseAnswer(b, i, pongJSON)
		if err != nil {
			return 0, err
		}
		i = end
		if n == 0 {
			base = id - id%batchSize
		}
		if id < base || id >= base+batchSize || seen[id-base] {
			return 0, fmt.Errorf("unexpected id %d in the batch answer of %d", id, base)
		}
		seen[id-base] = true
	}
}

// --- raw connections ---

// rawConn is one client connection of the raw client.
type rawConn interface {
	send(req []byte) error // may buffer until flush
	flush() error
	recv() ([]byte, error) // the next answer, valid until the next recv
	buffered() bool        // whether an answer is already buffered (so flush can wait)
	Close() error
}

// dialRaw opens a raw connection to the target on a transport.
func dialRaw(t *netTarget, transport string) (rawConn, error) {
	switch transport {
	case "http":
		nc, err := net.Dial("tcp", t.HTTP)
		if err != nil {
			return nil, err
		}
		return &httpRaw{nc: nc, host: t.HTTP, br: bufio.NewReaderSize(nc, 16<<10)}, nil
	case "ws":
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+t.WS+"/", nil)
		if err != nil {
			return nil, err
		}
		return &wsRaw{ws: ws}, nil
	case "ipc":
		nc, err := net.Dial("unix", t.IPC)
		if err != nil {
			return nil, err
		}
		return &ipcRaw{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", transport)
}

// httpRaw is HTTP/1.1 over one keep-alive connection.
type httpRaw struct {
	nc   net.Conn
	host string
	br   *bufio.Reader
	out  []byte
	body []byte
}

func (c *httpRaw) send(req []byte) error {
	c.out = append(c.out[:0], "POST / HTTP/1.1\r\nHost: "...)
	c.out = append(c.out, c.host...)
	c.out = append(c.out, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.out = strconv.AppendInt(c.out, int64(len(req)), 10)
	c.out = append(c.out, "\r\n\r\n"...)
	c.out = append(c.out, req...)
	_, err := c.nc.Write(c.out)
	return err
}

func (c *httpRaw) flush() error   { return nil }
func (c *httpRaw) buffered() bool { return false }
func (c *httpRaw) Close() error   { return c.nc.Close() }

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

func (c *httpRaw) recv() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("HTTP status %q", bytes.TrimSpace(line))
	}
	length, chunked := -1, false
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		switch {
		case hasPrefixFold(line, "content-length:"):
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len("content-length:"):])))
			if err != nil {
				return nil, err
			}
		case hasPrefixFold(line, "transfer-encoding:"):
			chunked = bytes.Contains(bytes.ToLower(line), []byte("chunked"))
		case hasPrefixFold(line, "connection:") && bytes.Contains(bytes.ToLower(line), []byte("close")):
			return nil, errors.New("the server closes the connection")
		}
	}
	switch {
	case chunked:
		c.body = c.body[:0]
		for {
			line, err = c.br.ReadSlice('\n')
			if err != nil {
				return nil, err
			}
			size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("chunk size %q: %v", line, err)
			}
			n := len(c.body)
			c.body = append(c.body, make([]byte, size+2)...)
			if _, err := io.ReadFull(c.br, c.body[n:]); err != nil {
				return nil, err
			}
			c.body = c.body[:n+int(size)] // drop the chunk's CRLF
			if size == 0 {
				return c.body, nil
			}
		}
	case length >= 0:
		if cap(c.body) < length {
			c.body = make([]byte, length)
		}
		c.body = c.body[:length]
		_, err = io.ReadFull(c.br, c.body)
		return c.body, err
	}
	return nil, errors.New("answer without Content-Length")
}

// wsRaw is a gorilla/websocket client connection.
type wsRaw struct {
	ws  *websocket.Conn
	buf []byte
}

func (c *wsRaw) send(req []byte) error { return c.ws.WriteMessage(websocket.TextMessage, req) }
func (c *wsRaw) flush() error          { return nil }
func (c *wsRaw) buffered() bool        { return false }
func (c *wsRaw) Close() error          { return c.ws.Close() }

func (c *wsRaw) recv() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	c.buf, err = readAllInto(c.buf[:0], r, 0)
	return c.buf, err
}

// ipcRaw is a unix socket carrying lines.
type ipcRaw struct {
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	scratch []byte
}

func (c *ipcRaw) send(req []byte) error { _, err := c.bw.Write(req); return err }
func (c *ipcRaw) flush() error          { return c.bw.Flush() }
func (c *ipcRaw) buffered() bool        { return c.br.Buffered() > 0 }
func (c *ipcRaw) Close() error          { return c.nc.Close() }
func (c *ipcRaw) recv() ([]byte, error) { return readLine(c.br, &c.scratch) }

// --- load ---

// load hands out operations to the connections of a run: a fixed number (a benchmark's b.N)
// or as many as fit until stop is set (a timed run).
type load struct {
	left  atomic.Int64
	stop  atomic.Bool
	ids   atomic.Uint64 // the last id handed out
	calls atomic.Int64  // calls answered and verified
}

func (l *load) take() bool { return !l.stop.Load() && l.left.Add(-1) >= 0 }

// nextID returns a fresh id (for a batch, the first of batchSize consecutive ones, a multiple
// of batchSize).
func (l *load) nextID(k opKind) uint64 {
	if k == opBatch {
		return l.ids.Add(batchSize) // ids start at batchSize
	}
	return l.ids.Add(1)
}

// drive runs operations of kind k on c, inflight at a time, until l runs out, verifying every
// answer; lat, if not nil, receives each operation's latency.
func drive(c rawConn, l *load, k opKind, inflight int, lat *[]time.Duration) error {
	type slot struct {
		id   uint64
		sent time.Time
	}
	pending := make([]slot, 0, inflight)
	var req []byte
	want := k.wantResult()
	send := func() error {
		id := l.nextID(k)
		req = appendRequest(req[:0], k, id)
		pending = append(pending, slot{id, time.Now()})
		return c.send(req)
	}
	for len(pending) < inflight && l.take() {
		if err := send(); err != nil {
			return err
		}
	}
	if err := c.flush(); err != nil {
		return err
	}
	for len(pending) > 0 {
		ans, err := c.recv()
		if err != nil {
			return err
		}
		var id uint64
		if k == opBatch {
			id, err = parseBatchAnswer(ans)
		} else {
			var end int
			id, end, err = parseAnswer(ans, 0, want)
			if err == nil && skipWS(ans, end) != len(ans) {
				err = fmt.Errorf("trailing bytes after the answer: %.40q", ans[end:])
			}
		}
		if err != nil {
			return err
		}
		found := -1
		for i, s := range pending {
			if s.id == id {
				found = i
				break
			}
		}
		if found < 0 {
			return fmt.Errorf("answer with id %d, which is not in flight", id)
		}
		if lat != nil {
			*lat = append(*lat, time.Since(pending[found].sent))
		}
		pending[found] = pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		l.calls.Add(int64(k.callsPerOp()))
		if l.take() {
			if err := send(); err != nil {
				return err
			}
		}
		if !c.buffered() {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}
