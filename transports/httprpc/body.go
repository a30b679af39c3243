package httprpc

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// readChunk is the most a chunked body is read at a time before its bytes are reserved.
const readChunk = 32 << 10

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooled {
		*bp = (*bp)[:0]
		bufPool.Put(bp)
	}
}

// errBusy and errTooLarge say why readBody refused a body.
var (
	errBusy     = errors.New("server busy")
	errTooLarge = errors.New("request body too large")
)

// readBody reads the request body into *bp, reserving its bytes from the server's budget: all
// at once when the length is declared, before reading; chunk by chunk as they arrive otherwise.
// It returns the bytes reserved, which the caller releases once the request is answered (they
// are released here when it fails), and errBusy, errTooLarge or the read error. With errBusy,
// *bp holds the body's first bytes (up to wire.HeadBytes), for the refusal's id.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, bp *[]byte) (reserved int, err error) {
	body := r.Body
	if h.cfg.maxBody >= 0 {
		body = http.MaxBytesReader(w, r.Body, h.cfg.maxBody)
	}
	defer func() {
		if err == errBusy {
			// Read the head of the body, and the rest into nothing (bounded by the body limit
			// and the server's read timeout), so that a client still sending it gets the 503
			// rather than a connection reset, and the connection stays usable.
			if n := len(*bp); n < wire.HeadBytes {
				*bp = slices.Grow(*bp, wire.HeadBytes-n)
				m, _ := io.ReadFull(body, (*bp)[n:wire.HeadBytes])
				*bp = (*bp)[:n+m]
			}
			io.Copy(io.Discard, body)
		}
		if err != nil {
			h.budget.Release(reserved)
			reserved = 0
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = errTooLarge
			}
		}
	}()
	if n := r.ContentLength; n >= 0 {
		if int64(int(n)) != n {
			return 0, errTooLarge
		}
		if !h.budget.Reserve(int(n)) {
			return 0, errBusy
		}
		if cap(*bp) < int(n) {
			*bp = make([]byte, n)
		}
		*bp = (*bp)[:n]
		_, err := io.ReadFull(body, *bp)
		return int(n), err
	}
	buf := *bp
	defer func() { *bp = buf }()
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(cap(buf), 4<<10), 1<<20))
		}
		n, err := body.Read(buf[len(buf):min(cap(buf), len(buf)+readChunk)])
		if n > 0 {
			if !h.budget.Reserve(n) {
				buf = buf[:len(buf)+n] // the head of the body, for the refusal
				return reserved, errBusy
			}
			reserved += n
			buf = buf[:len(buf)+n]
		}
		switch {
		case err == io.EOF:
			return reserved, nil
		case err != nil:
			return reserved, err
		}
	}
}
