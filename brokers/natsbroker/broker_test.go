package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/subscriptions/brokertest"
)

// runServer starts an embedded nats-server with JetStream on 127.0.0.1 (port 0: any free one),
// keeping its files in dir; the test stops it.
func runServer(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = -1
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats-server not ready after 10 s")
	}
	t.Cleanup(func() { stopServer(s) })
	return s
}

func stopServer(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

func newBroker(t testing.TB, url string, o Options) *Broker {
	t.Helper()
	o.URL = url
	o.ReconnectWait = 50 * time.Millisecond
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs the broker conformance suite on file and memory streams. The history
// is lost by deleting a memory stream, and by restarting the server without the files of a
// file stream: a file stream deleted and at once recreated by the broker can lose the new
// stream's directory to the server's removal of the old one (nats-server 2.15: every update
// of it then fails), a race of the server's that an operator's deletion does not meet.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	s := runServer(t, dir, 0)
	url, port := s.ClientURL(), s.Addr().(*net.TCPAddr).Port
	var restarted []*server.Server
	t.Cleanup(func() {
		for _, r := range restarted {
			stopServer(r)
		}
	})
	lose := map[string]func(testing.TB){
		"memory": func(t testing.TB) { deleteStream(t, url, "BT_memory") },
		"file": func(tb testing.TB) {
			stopServer(s)
			for _, r := range restarted {
				stopServer(r)
			}
			if err := os.RemoveAll(filepath.Join(dir, "jetstream", "$G", "streams", "BT_file")); err != nil {
				tb.Fatal(err)
			}
			// Started under the whole test, so that it outlives the subtest that lost the history.
			opts := &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true}
			r, err := server.NewServer(opts)
			if err != nil {
				tb.Fatal(err)
			}
			go r.Start()
			if !r.ReadyForConnections(10 * time.Second) {
				tb.Fatal("nats-server not ready after 10 s")
			}
			restarted = append(restarted, r)
		},
	}
	for _, storage := range []string{"file", "memory"} {
		t.Run(storage, func(t *testing.T) {
			stream := "BT_" + storage
			brokertest.RunWith(t, func(t *testing.T) subscriptions.Broker {
				return newBroker(t, url, Options{
					Stream:        stream,
					Subject:       "bt." + storage,
					MemoryStorage: storage == "memory",
					Retention:     subscriptions.Retention{Events: brokertest.Retained},
				})
			}, brokertest.Options{Lose: lose[storage]})
		})
	}
}

// deleteStream deletes a stream, as an operator would: its history is lost.
func deleteStream(t testing.TB, url, stream string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
}

// handler records deliveries and status reports.
type handler struct {
	mu     sync.Mutex
	evs    []subscriptions.Event
	status []error
	more   chan struct{}
}

func newHandler() *handler { return &handler{more: make(chan struct{}, 1)} }

func (h *handler) Deliver(ev subscriptions.Event) {
	h.mu.Lock()
	h.evs = append(h.evs, ev)
	h.mu.Unlock()
	h.wake()
}

func (h *handler) Status(err error) {
	h.mu.Lock()
	h.status = append(h.status, err)
	h.mu.Unlock()
	h.wake()
}

func (h *handler) wake() {
	select {
	case h.more <- struct{}{}:
	default:
	}
}

// waitFor waits up to 10 s for cond, checked after every delivery or status report.
func (h *handler) waitFor(t testing.TB, what string, cond func(evs []subscriptions.Event, status []error) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		ok := cond(h.evs, h.status)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.more:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s after 10 s", what)
		}
	}
}

func lastStatus(status []error) (error, bool) {
	if len(status) == 0 {
		return nil, false
	}
	return status[len(status)-1], true
}

func publish(t testing.TB, b *Broker, topic string, i int) subscriptions.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := b.Publish(ctx, topic, fmt.Appendf(nil, `{"i":%d}`, i))
	if err != nil {
		t.Fatalf("Publish %d: %v", i, err)
	}
	return p
}

// TestServerRestart: while the server is down, publishes fail at once with ErrUnavailable and
// the handler is told; once it is back, delivery resumes where it was. With file storage the
// epoch survives and the chain continues; with memory storage the stream is new: a new epoch.
func TestServerRestart(t *testing.T) {
	for _, memory := range []bool{false, true} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			dir := t.TempDir()
			s := runServer(t, dir, 0)
			port := s.Addr().(*net.TCPAddr).Port
			url := s.ClientURL()
			b := newBroker(t, url, Options{MemoryStorage: memory})
			h := newHandler()
			if err := b.Start(h); err != nil {
				t.Fatal(err)
			}
			if err := b.Subscribe("room"); err != nil {
				t.Fatal(err)
			}
			first := publish(t, b, "room", 1)
			h.waitFor(t, "first delivery", func(evs []subscriptions.Event, _ []error) bool { return len(evs) == 1 })

			stopServer(s)
			h.waitFor(t, "status report of the outage", func(_ []subscriptions.Event, st []error) bool {
				err, ok := lastStatus(st)
				return ok && err != nil
			})
			start := time.Now()
			_, err := b.Publish(context.Background(), "room", []byte(`{"i":2}`))
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Publish while the server is down: %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Errorf("a publish while the server is down took %v to fail", d)
			}
			if b.Err() == nil {
				t.Error("Err is nil while the server is down")
			}

			runServer(t, dir, port)
			h.waitFor(t, "status report of the recovery", func(_ []subscriptions.Event, st []error) bool {
				err, ok := lastStatus(st)
				return ok && err == nil
			})
			second := publish(t, b, "room", 3)
			h.waitFor(t, "delivery after the restart", func(evs []subscriptions.Event, _ []error) bool { return len(evs) == 2 })
			h.mu.Lock()
			ev := h.evs[1]
			h.mu.Unlock()
			if ev.Offset != second.Offset || ev.Epoch != second.Epoch {
				t.Errorf("delivered %s/%d, published %s/%d", ev.Epoch, ev.Offset, second.Epoch, second.Offset)
			}
			switch {
			case !memory && (second.Epoch != first.Epoch || ev.Prev != first.Offset):
				t.Errorf("file storage: after the restart epoch %s (was %s), Prev %d (want %d)", second.Epoch, first.Epoch, ev.Prev, first.Offset)
			case memory && second.Epoch == first.Epoch:
				t.Errorf("memory storage: the epoch %s survived the restart", first.Epoch)
			}
		})
	}
}

// TestNodesShareTopics: two brokers (two nodes) publishing to one topic at once form one
// chain, and both deliver all of it in the same order.
func TestNodesShareTopics(t *testing.T) {
	s := runServer(t, t.TempDir(), 0)
	const each = 100
	var hs [2]*handler
	var bs [2]*Broker
	for i := range bs {
		bs[i] = newBroker(t, s.ClientURL(), Options{Name: fmt.Sprint("node", i)})
		hs[i] = newHandler()
		if err := bs[i].Start(hs[i]); err != nil {
			t.Fatal(err)
		}
		if err := bs[i].Subscribe("shared"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range bs {
		wg.Go(func() {
			for k := range each {
				publish(t, bs[i], "shared", i*each+k)
			}
		})
	}
	wg.Wait()
	for i, h := range hs {
		h.waitFor(t, fmt.Sprint("every event on node ", i), func(evs []subscriptions.Event, _ []error) bool { return len(evs) >= 2*each })
	}
	a, b := hs[0].evs, hs[1].evs
	if len(a) != 2*each || len(b) != 2*each {
		t.Fatalf("delivered %d and %d events, want %d", len(a), len(b), 2*each)
	}
	for k := range a {
		if a[k].Offset != b[k].Offset || string(a[k].Data) != string(b[k].Data) {
			t.Fatalf("event %d: node 0 has %d, node 1 has %d", k, a[k].Offset, b[k].Offset)
		}
		if k > 0 && a[k].Prev != a[k-1].Offset {
			t.Fatalf("event %d at %d follows %d, not %d", k, a[k].Offset, a[k].Prev, a[k-1].Offset)
		}
	}
}

// TestTopics: chat_rooms' source lists the topics with their events, names decoded.
func TestTopics(t *testing.T) {
	s := runServer(t, t.TempDir(), 0)
	b := newBroker(t, s.ClientURL(), Options{})
	if err := b.Start(newHandler()); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "room.one", 1)
	publish(t, b, "room.one", 2)
	last := publish(t, b, "two", 1)
	topics, err := b.Topics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 2 || topics[0].Topic != "room.one" || topics[0].Events != 2 || topics[1].Topic != "two" ||
		topics[1].Top != last || topics[1].Last.IsZero() {
		t.Fatalf("topics %+v", topics)
	}
}
