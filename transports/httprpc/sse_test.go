package httprpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// event is one Server-Sent Event.
type event struct{ id, data, comment string }

// eventStream reads the events of a response.
type eventStream struct {
	resp   *http.Response
	events chan event
}

// openStream sends req and reads its events on a goroutine until the response ends.
func openStream(t *testing.T, req *http.Request) *eventStream {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &eventStream{resp: resp, events: make(chan event, 100)}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				s.events <- ev
				ev = event{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case strings.HasPrefix(line, ": "):
				ev.comment = line[2:]
			}
		}
	}()
	return s
}

// next returns the next event that is not a comment (or, with comments, any event).
func (s *eventStream) next(t *testing.T, comments bool) event {
	t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if ev.comment != "" && !comments {
				continue
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event after 10 s")
		}
	}
}

// ended waits for the stream's end.
func (s *eventStream) ended(t *testing.T) {
	t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the event stream did not end after 10 s")
		}
	}
}

func newSSEServer(t *testing.T, opts *httprpc.Options) (*rpc.Server, *httptest.Server) {
	srv := rpctest.NewServer(t, nil)
	hs := httptest.NewServer(httprpc.NewHandler(srv, opts))
	t.Cleanup(hs.Close)
	return srv, hs
}

func postSSE(t *testing.T, url, body, lastID string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return req
}

func call(t *testing.T, url, method string, params ...any) {
	t.Helper()
	c, err := httprpc.Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, nil, method, params...); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// notification is the part of a notification the tests look at.
type notification struct {
	Method string `json:"method"`
	Params struct {
		Result    json.RawMessage `json:"result"`
		Offset    uint64          `json:"offset"`
		Epoch     string          `json:"epoch"`
		Recovered *bool           `json:"recovered"`
	} `json:"params"`
}

func decode(t *testing.T, data string) notification {
	t.Helper()
	var n notification
	if err := json.Unmarshal([]byte(data), &n); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	return n
}

// TestSSE: the answer, the position notice and the notifications as events with their
// positions as ids; a reconnect with Last-Event-ID resumes after the last one received.
func TestSSE(t *testing.T) {
	_, hs := newSSEServer(t, nil)
	const sub = `{"jsonrpc":"2.0","id":7,"method":"nftest_subscribe","params":["topic","news"]}`
	s := openStream(t, postSSE(t, hs.URL, sub, ""))
	answer := s.next(t, false)
	if !strings.HasPrefix(answer.data, `{"jsonrpc":"2.0","id":7,"result":"0x`) || answer.id != "" {
		t.Fatalf("first event %+v, want the subscribe answer without an id", answer)
	}
	pos := s.next(t, false)
	if n := decode(t, pos.data); n.Method != "nftest_subscriptionPosition" || n.Params.Recovered == nil || !*n.Params.Recovered {
		t.Fatalf("second event %+v, want a position notice", pos)
	}
	for i := range 3 {
		call(t, hs.URL, "nftest_publish", "news", i)
	}
	var last event
	for i := range 3 {
		last = s.next(t, false)
		n := decode(t, last.data)
		if n.Method != "nftest_subscription" || string(n.Params.Result) != fmt.Sprint(i) {
			t.Fatalf("event %d: %s", i, last.data)
		}
		if want := fmt.Sprintf(":%d", n.Params.Offset); !strings.HasSuffix(last.id, want) || n.Params.Offset == 0 {
			t.Fatalf("event %d has id %q, want EPOCH%s", i, last.id, want)
		}
	}
	s.resp.Body.Close()

	// Two more while away; the reconnect gets them, then the live ones.
	call(t, hs.URL, "nftest_publish", "news", 3)
	call(t, hs.URL, "nftest_publish", "news", 4)
	r := openStream(t, postSSE(t, hs.URL, sub, last.id))
	r.next(t, false) // the answer
	if n := decode(t, r.next(t, false).data); n.Params.Recovered == nil || !*n.Params.Recovered {
		t.Fatalf("resumed with recovered false")
	}
	for i := 3; i < 5; i++ {
		if n := decode(t, r.next(t, false).data); string(n.Params.Result) != fmt.Sprint(i) {
			t.Fatalf("resumed event: %s, want %d", n.Params.Result, i)
		}
	}
}

// TestSSEGet: EventSource's GET with the call in the query; keep-alive comments; the stream
// ends when the server stops.
func TestSSEGet(t *testing.T) {
	srv, hs := newSSEServer(t, &httprpc.Options{SSEKeepAlive: 20 * time.Millisecond})
	q := url.Values{"method": {"nftest_subscribe"}, "params": {`["ticks",2,10]`}}
	req, err := http.NewRequest(http.MethodGet, hs.URL+"/events?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	s := openStream(t, req)
	if ev := s.next(t, false); !strings.Contains(ev.data, `"id":1,"result":"0x`) {
		t.Fatalf("first event %+v", ev)
	}
	for i := 10; i < 12; i++ {
		if n := decode(t, s.next(t, false).data); string(n.Params.Result) != fmt.Sprint(i) {
			t.Fatalf("tick %s, want %d", n.Params.Result, i)
		}
	}
	if ev := s.next(t, true); ev.comment != "keep-alive" {
		t.Fatalf("want a keep-alive comment, got %+v", ev)
	}
	srv.Stop()
	s.ended(t)
}

// TestSSEEnds: a call that is not a subscription, or fails, is one event and the end; a
// stream ends when the client goes.
func TestSSEEnds(t *testing.T) {
	srv, hs := newSSEServer(t, nil)
	for _, tt := range []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`, `"result":3`},
		{`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["nope"]}`, `"error":{"code":-32601`},
		{`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks","x",1]}`, `"error":{"code":-32602`},
	} {
		s := openStream(t, postSSE(t, hs.URL, tt.body, ""))
		if ev := s.next(t, false); !strings.Contains(ev.data, tt.want) {
			t.Errorf("%s: event %q, want %s", tt.body, ev.data, tt.want)
		}
		s.ended(t)
	}

	s := openStream(t, postSSE(t, hs.URL, `{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["topic","t"]}`, ""))
	s.next(t, false)
	s.next(t, false)
	call(t, hs.URL, "nftest_publish", "t", 1)
	s.next(t, false)
	s.resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Conns()) > 0 { // the session ends with the request
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left after the client went", len(srv.Conns()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
