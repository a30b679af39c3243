package scaleout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A subscriber of chat room lobby over WebSocket through haproxy, which records what it
// receives and, when its connection drops, reconnects and resumes from its last position
// (by hand: the Go client's automatic reconnect is not used here).

const room = "lobby"

type position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

type subscriber struct {
	i    int
	url  string
	room string

	mu        sync.Mutex
	conn      *websocket.Conn
	node      string
	epoch     string
	last      uint64
	offsets   []uint64        // every offset received, in order
	lat       []time.Duration // publish to delivery, for messages of this run
	notices   []bool          // recovered of each position notice
	problems  []string        // order, duplicates, lag notices, failed resumes
	resumed   time.Time       // the first notification after the last reconnection
	resumes   int
	more      chan struct{}
	resumable bool // reconnect when the connection drops
	closed    bool // close was called: no more connections

	wg sync.WaitGroup
}

// wsMessage is what the subscriber reads: answers, notifications and notices.
type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
	Params struct {
		Result    json.RawMessage `json:"result"`
		Offset    uint64          `json:"offset"`
		Epoch     string          `json:"epoch"`
		Recovered *bool           `json:"recovered"`
		Dropped   uint64          `json:"dropped"`
	} `json:"params"`
}

// chatMessage is the part of a chat message the subscriber reads: the text is "k=K t=NANOS".
type chatMessage struct {
	ID   uint64 `json:"id"`
	Text string `json:"text"`
}

// subscribe connects through url and subscribes, from since when given.
func (s *subscriber) subscribe(since *position) error {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial(s.url, nil)
	if err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	call := func(id int, method string, params ...any) (json.RawMessage, error) {
		if err := conn.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
			return nil, err
		}
		for {
			var m wsMessage
			if err := conn.ReadJSON(&m); err != nil {
				return nil, err
			}
			if string(m.ID) != strconv.Itoa(id) {
				s.handle(&m, time.Now()) // a notice of the subscription, after its answer
				continue
			}
			if m.Error != nil {
				return nil, m.Error
			}
			return m.Result, nil
		}
	}
	var info struct{ Name string }
	res, err := call(1, "admin_nodeInfo")
	if err == nil {
		err = json.Unmarshal(res, &info)
	}
	if err == nil {
		params := []any{"messages", s.room}
		if since != nil {
			params = append(params, since)
		}
		_, err = call(2, "chat_subscribe", params...)
	}
	if err != nil {
		conn.Close()
		return err
	}
	conn.SetReadDeadline(time.Time{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return errClosed
	}
	s.conn, s.node = conn, info.Name
	s.mu.Unlock()
	s.wg.Go(func() { s.read(conn) })
	return nil
}

// read handles what conn receives until it fails; then, if resumable, reconnects.
func (s *subscriber) read(conn *websocket.Conn) {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		now := time.Now()
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			s.problem("undecodable message %q", data)
			continue
		}
		s.handle(&m, now)
	}
	conn.Close()
	s.mu.Lock()
	resume := s.resumable && s.conn == conn
	since := &position{Epoch: s.epoch, Offset: s.last}
	s.mu.Unlock()
	if !resume {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.subscribe(since)
		if err == nil {
			s.mu.Lock()
			s.resumes++
			s.resumed = time.Time{}
			s.mu.Unlock()
			return
		}
		if err == errClosed {
			return
		}
		if time.Now().After(deadline) {
			s.problem("no resume after 10 s: %v", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// handle records one notification or notice.
func (s *subscriber) handle(m *wsMessage, now time.Time) {
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
	}()
	switch {
	case strings.HasSuffix(m.Method, "_subscriptionPosition"):
		s.notices = append(s.notices, m.Params.Recovered != nil && *m.Params.Recovered)
		if m.Params.Epoch != s.epoch {
			s.epoch, s.last = m.Params.Epoch, m.Params.Offset
		}
	case strings.HasSuffix(m.Method, "_subscriptionLag"):
		s.problems = append(s.problems, fmt.Sprintf("lag notice: %d dropped", m.Params.Dropped))
	case strings.HasSuffix(m.Method, "_subscription"):
		var msg chatMessage
		json.Unmarshal(m.Params.Result, &msg)
		off := m.Params.Offset
		if off <= s.last && len(s.offsets) > 0 {
			s.problems = append(s.problems, fmt.Sprintf("offset %d after %d", off, s.last))
			return
		}
		if msg.ID != off {
			s.problems = append(s.problems, fmt.Sprintf("message id %d at offset %d", msg.ID, off))
		}
		s.last = off
		s.offsets = append(s.offsets, off)
		if s.resumed.IsZero() {
			s.resumed = now
		}
		if _, ts, ok := strings.Cut(msg.Text, " t="); ok {
			if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
				s.lat = append(s.lat, now.Sub(time.Unix(0, ns)))
			}
		}
	}
}

func (s *subscriber) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// close ends the subscriber without resuming.
func (s *subscriber) close() {
	s.mu.Lock()
	s.resumable, s.closed = false, true
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	s.wg.Wait()
}

var errClosed = errors.New("subscriber closed")

// startSubscribers connects n subscribers of room through url.
func startSubscribers(t testing.TB, url, room string, n int) []*subscriber {
	t.Helper()
	subs := make([]*subscriber, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range subs {
		subs[i] = &subscriber{i: i, url: url, room: room, more: make(chan struct{}, 1)}
		t.Cleanup(subs[i].close)
	}
	for i := range subs {
		wg.Go(func() {
			if err := subs[i].subscribe(nil); err != nil {
				errs <- fmt.Errorf("subscriber %d: %w", i, err)
			}
		})
		if i%20 == 19 {
			wg.Wait() // a few at a time
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return subs
}

// waitReceived waits until every subscriber has received the event at offset last.
func waitReceived(t testing.TB, subs []*subscriber, last uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, s := range subs {
		for {
			s.mu.Lock()
			got := s.last
			s.mu.Unlock()
			if got >= last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscriber %d (node %s) is at offset %d after %v, want %d", s.i, s.node, got, timeout, last)
			}
			select {
			case <-s.more:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// publisher sends chat messages over HTTP at a steady rate.
type publisher struct {
	url    string
	room   string
	client *http.Client
	mu     sync.Mutex
	acked  []uint64 // ids of the messages chat_send confirmed
	failed int
	took   time.Duration // from the first request to the last answer
	errs   []string
}

func newPublisher(url, room string) *publisher {
	return &publisher{url: url, room: room, client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: publishers}}}
}

// publishers is how many requests a publisher has in flight at most: its rate must not
// depend on the round trip of one request.
const publishers = 8

// run sends n messages at rate per second (keys from k0), from several goroutines, and
// returns when all are answered.
func (p *publisher) run(ctx context.Context, k0, n, rate int) {
	keys := make(chan int, n)
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for k := range keys {
				var m chatMessage
				text := fmt.Sprintf("k=%d t=%d", k, time.Now().UnixNano())
				err := rpcCall(ctx, p.client, p.url, "chat_send", &m, p.room, "bench", text)
				p.mu.Lock()
				if err != nil {
					p.failed++
					if len(p.errs) < 5 {
						p.errs = append(p.errs, err.Error())
					}
				} else {
					p.acked = append(p.acked, m.ID)
				}
				p.mu.Unlock()
			}
		})
	}
	start := time.Now()
	for k := range n {
		if ctx.Err() != nil {
			break
		}
		if d := time.Until(start.Add(time.Duration(k) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		keys <- k0 + k
	}
	close(keys)
	wg.Wait()
	p.took = time.Since(start)
}

func (p *publisher) maxAcked() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var m uint64
	for _, id := range p.acked {
		m = max(m, id)
	}
	return m
}

// checkStreams checks that every subscriber received the same offsets, in increasing order,
// each once, including every one the publisher had confirmed, and had no other problem.
func checkStreams(t testing.TB, subs []*subscriber, acked []uint64) {
	t.Helper()
	ref := subs[0].offsets
	for _, s := range subs {
		s.mu.Lock()
		if len(s.problems) > 0 {
			t.Errorf("subscriber %d (node %s): %s", s.i, s.node, strings.Join(s.problems[:min(3, len(s.problems))], "; "))
		}
		if len(s.offsets) != len(ref) {
			t.Errorf("subscriber %d (node %s) received %d messages, subscriber 0 %d", s.i, s.node, len(s.offsets), len(ref))
		} else {
			for k := range ref {
				if s.offsets[k] != ref[k] {
					t.Errorf("subscriber %d: message %d at offset %d, subscriber 0 has %d", s.i, k, s.offsets[k], ref[k])
					break
				}
			}
		}
		s.mu.Unlock()
	}
	have := make(map[uint64]bool, len(ref))
	for _, o := range ref {
		have[o] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("message %d was confirmed by chat_send but never delivered", id)
			break
		}
	}
}
