package httprpc_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// discardWriter is a ResponseWriter that keeps only the status and the length of the body: the
// handler's own cost, without a connection.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *discardWriter) Flush()                      {}

// BenchmarkHandler: the handler's work for one request, a single call and a batch of 100, from
// the parsed http.Request to the bytes of the response (net/http's own work excluded).
func BenchmarkHandler(b *testing.B) {
	srv := rpctest.NewServer(b, nil)
	h := httprpc.NewHandler(srv, nil)
	var batch bytes.Buffer
	batch.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.WriteString(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"test_add","params":[1,2]}`)
	}
	batch.WriteByte(']')
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"single", []byte(addCall)},
		{"batch100", batch.Bytes()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := bytes.NewReader(bc.body)
			req, err := http.NewRequest(http.MethodPost, "http://localhost/", body)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(bc.body)
				req.Body = io.NopCloser(body)
				req.ContentLength = int64(len(bc.body))
				clear(w.h)
				w.n = 0
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK || w.n == 0 {
					b.Fatalf("status %d, %d bytes", w.status, w.n)
				}
			}
		})
	}
}
