package httprpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// defaultMaxResponseBytes is the default limit on a response body read by the client.
const defaultMaxResponseBytes = 128 << 20

// ClientOptions configures [Dial]. A nil *ClientOptions gives the defaults.
type ClientOptions struct {
	// HTTPClient sends the requests. nil: a client shared by every Dial of this package, with
	// go-ethereum's 10 s dial timeout, a 10 s TLS handshake timeout, 90 s idle connections and
	// no overall timeout (a call is bounded by its context).
	HTTPClient *http.Client

	// Header holds extra headers sent with every request: Authorization, Origin, and so on.
	// They replace the defaults of the same name (Content-Type and Accept: application/json);
	// a "Host" entry sets the request's Host.
	Header http.Header

	// TLSClientConfig, when set and HTTPClient is nil, is the TLS configuration of https://
	// requests (a private CA's roots, a client certificate for mutual TLS), on a client of
	// its own with the default client's settings. Default: the system's roots.
	TLSClientConfig *tls.Config

	// MaxResponseBytes bounds a response body; a larger one fails the call. Default
	// 128 MiB; negative: no limit.
	MaxResponseBytes int

	// HeaderFunc, when set, is called for each request with the context of its call (of the
	// first call of a batch) and the request's headers, which it may add to: a trace
	// propagator's traceparent, for example.
	HeaderFunc func(ctx context.Context, h http.Header)
}

// defaultClient is the HTTP client of Dial when ClientOptions.HTTPClient is nil.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ForceAttemptHTTP2:     true,
	MaxIdleConns:          100,
	MaxIdleConnsPerHost:   16,
	IdleConnTimeout:       90 * time.Second,
	TLSHandshakeTimeout:   10 * time.Second,
	ExpectContinueTimeout: time.Second,
}}

// HTTPError is returned by calls whose HTTP response has a status outside 2xx (the server
// refused the request before JSON-RPC: 403, 405, 413, 415, 503 and so on). It has the fields
// of go-ethereum's rpc.HTTPError.
type HTTPError struct {
	StatusCode int    // 415
	Status     string // "415 Unsupported Media Type"
	Body       []byte // the response body, up to 4 KiB
}

// maxErrorBody is how much of an error response's body HTTPError keeps.
const maxErrorBody = 4 << 10

// Error returns the status and the start of the body.
func (e *HTTPError) Error() string {
	body := bytes.TrimSpace(e.Body)
	if len(body) > 200 {
		body = append(body[:200:200], "..."...)
	}
	if len(body) == 0 {
		return "httprpc: " + e.Status
	}
	return fmt.Sprintf("httprpc: %s: %s", e.Status, body)
}

// Dial returns a client that calls the JSON-RPC server at rawURL (http or https) with HTTP
// POST, one request per call, batch or notification. No request is made until the first call;
// ctx is only checked. A nil opts gives the defaults.
//
// Closing the client ends the calls in flight and makes later ones fail with rpc.ErrClosed, and
// closes the idle keep-alive connections of its HTTP client (other clients sharing it simply
// open new ones).
func Dial(ctx context.Context, rawURL string, opts *ClientOptions) (*rpc.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("httprpc: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("httprpc: unsupported URL scheme %q (want http or https)", u.Scheme)
	}
	t := &transport{url: u.String(), client: defaultClient, max: defaultMaxResponseBytes}
	t.closing, t.close = context.WithCancel(context.Background())
	t.header = http.Header{"Content-Type": {contentTypeJSON}, "Accept": {contentTypeJSON}}
	if opts != nil {
		switch {
		case opts.HTTPClient != nil:
			t.client = opts.HTTPClient
		case opts.TLSClientConfig != nil:
			tr := defaultClient.Transport.(*http.Transport).Clone()
			tr.TLSClientConfig = opts.TLSClientConfig.Clone()
			t.client = &http.Client{Transport: tr}
		}
		for k, v := range opts.Header {
			if http.CanonicalHeaderKey(k) == "Host" {
				if len(v) > 0 {
					t.host = v[0]
				}
				continue
			}
			t.header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
		t.hf = opts.HeaderFunc
		switch {
		case opts.MaxResponseBytes < 0:
			t.max = -1
		case opts.MaxResponseBytes > 0:
			t.max = int64(opts.MaxResponseBytes)
		}
	}
	return rpc.NewTransportClient(func(receive rpc.Receiver) (rpc.Transport, error) {
		t.receive = receive
		return t, nil
	})
}

var _ rpc.Transport = (*transport)(nil)

// transport sends each message as one POST and hands the response body to the client.
type transport struct {
	url     string
	host    string // overrides the URL's host in the Host header, if set
	header  http.Header
	client  *http.Client
	max     int64 // < 0: no limit
	receive func([]byte)
	closing context.Context // done once Close is called
	close   context.CancelFunc
	hf      func(context.Context, http.Header) // ClientOptions.HeaderFunc
}

// Send implements rpc.Transport.
func (t *transport) Send(ctx context.Context, msg []byte) error {
	if t.closing.Err() != nil {
		return rpc.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.closing, cancel)()
	err := t.send(ctx, msg)
	if err != nil && t.closing.Err() != nil {
		return rpc.ErrClosed
	}
	return err
}

// send makes one POST and hands a non-empty answer to receive.
func (t *transport) send(ctx context.Context, msg []byte) error {
	// net/http may read the body after the response has arrived (when the server answers
	// early), and msg is valid only during Send: send a copy.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(bytes.Clone(msg)))
	if err != nil {
		return err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	if t.hf != nil {
		t.hf(ctx, req.Header)
	}
	if t.host != "" {
		req.Host = t.host
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		return &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status, Body: body}
	}
	bp := getBuf()
	defer putBuf(bp)
	buf := bytes.NewBuffer(*bp)
	var r io.Reader = resp.Body
	if t.max >= 0 {
		r = io.LimitReader(resp.Body, t.max+1)
	}
	_, err = buf.ReadFrom(r)
	*bp = buf.Bytes()
	if err != nil {
		return fmt.Errorf("httprpc: reading response: %w", err)
	}
	if t.max >= 0 && int64(buf.Len()) > t.max {
		return fmt.Errorf("httprpc: response larger than %d bytes", t.max)
	}
	if buf.Len() > 0 {
		t.receive(buf.Bytes())
	}
	return nil
}

// Close implements rpc.Transport: sends in flight and later ones fail with rpc.ErrClosed, and
// the HTTP client's idle connections are closed.
func (t *transport) Close() error {
	t.close()
	t.client.CloseIdleConnections()
	return nil
}
