package httprpc

import (
	"compress/gzip"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
	"github.com/polyrpc/polyrpc/rpc"
)

// capture is the session's writer for one HTTP request. An HTTP session writes at most one
// message, the answer to the request (a single answer or a batch array), and capture sends it as
// the HTTP response at once, with its exact length: usually on the handler's goroutine, inside
// Session.Handle; at a call deadline, from the session's timer while the method still holds the
// handler's goroutine (rpc.ConnOptions.InlineTimedCalls), so that the -32002 answer is not held
// up by a method that ignores its context. The handler touches the ResponseWriter only after
// Handle has returned, and after done, which takes mu.
type capture struct {
	w http.ResponseWriter
	r *http.Request

	ss *rpc.Session // set once the session exists, before it writes

	mu   sync.Mutex
	sent bool // the answer has been sent, or done was called
}

var _ rpc.MessageWriter = (*capture)(nil)

var errTaken = errors.New("httprpc: response already sent")

func newCapture(w http.ResponseWriter, r *http.Request) *capture { return &capture{w: w, r: r} }

// WriteMessage implements rpc.MessageWriter: it sends msg as the response.
func (c *capture) WriteMessage(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent {
		return errTaken
	}
	c.sent = true
	closeAfter(c.w, c.ss)
	writeAnswer(c.w, c.r, http.StatusOK, msg)
	http.NewResponseController(c.w).Flush() // out now, even if the handler is still held
	return nil
}

// done stops further writes and reports whether the answer has been sent.
func (c *capture) done() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent := c.sent
	c.sent = true
	return sent
}

// closeAfter asks net/http to close the connection after the response when a middleware asked
// the session to close (HTTP has no place for the reason). An HTTP/2 connection, which carries
// other requests, is not closed.
func closeAfter(w http.ResponseWriter, ss *rpc.Session) {
	if _, ok := ss.CloseRequested(); ok {
		w.Header().Set("Connection", "close")
	}
}

// writeAnswer sends a JSON-RPC answer (empty for notifications) with its exact length,
// gzip-compressed when the client accepts it.
func writeAnswer(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	if len(body) > 0 {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			zb := getBuf()
			defer putBuf(zb)
			*zb = gzipAppend((*zb)[:0], body)
			body = *zb
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// Refusals answered with 503 before the request is parsed. busy: the request-bytes budget is
// spent (the -32005 error the rpc package sends on connections); stopped: the server is
// stopping (the -32006 error the rpc package answers calls with while it stops).
const (
	busyMessage    = "server busy: too many request bytes in flight, retry later"
	stoppedMessage = "server is shutting down"
)

// refusal returns an error answer, as one line, to the request whose body begins with head:
// with its id when head shows it (wire.HeadID), id null otherwise.
func refusal(code int, message string, head []byte) []byte {
	return append(wire.AppendError(nil, wire.HeadID(head), code, message, nil), '\n')
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a non-zero quality.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if !ok {
				return true
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err != nil || f > 0 {
				return true
			}
		}
	}
	return false
}

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// sliceWriter appends to a byte slice.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// gzipAppend appends the gzip compression of data to dst.
func gzipAppend(dst, data []byte) []byte {
	sw := &sliceWriter{b: dst}
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(sw)
	zw.Write(data) // writes to a slice cannot fail
	zw.Close()
	zw.Reset(nil)
	gzipPool.Put(zw)
	return sw.b
}
