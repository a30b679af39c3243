package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/polyrpc/polyrpc/subscriptions"
	"github.com/polyrpc/polyrpc/subscriptions/brokertest"
)

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

func TestConformanceMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	brokertest.RunWith(t, func(t *testing.T) subscriptions.Broker {
		return newBroker(t, "redis://"+m.Addr(), Options{Retention: subscriptions.Retention{Events: brokertest.Retained}})
	}, brokertest.Options{Lose: func(testing.TB) { m.FlushAll() }})
}

func TestConformanceRedisServer(t *testing.T) {
	srv := startRedis(t, 0)
	brokertest.RunWith(t, func(t *testing.T) subscriptions.Broker {
		return newBroker(t, srv.url(), Options{Retention: subscriptions.Retention{Events: brokertest.Retained}})
	}, brokertest.Options{Lose: func(t testing.TB) {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(srv.port), Protocol: 2, DisableIdentity: true})
		defer c.Close()
		if err := c.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}})
}

// redisServer is a redis-server process of a test, without persistence.
type redisServer struct {
	port int
	cmd  *exec.Cmd
}

func (s *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(s.port) }

// startRedis starts redis-server on 127.0.0.1:port (0: a free port), or skips the test when
// it is not installed. The test stops it.
func startRedis(t testing.TB, port int) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (apt-get install redis-server); CI must run this test")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{port: port, cmd: cmd}
	t.Cleanup(s.stop)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server not ready after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *redisServer) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
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

func down(_ []subscriptions.Event, st []error) bool { return len(st) > 0 && st[len(st)-1] != nil }
func up(_ []subscriptions.Event, st []error) bool   { return len(st) > 0 && st[len(st)-1] == nil }

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

// TestServerRestart: while redis-server is down, publishes fail at once with ErrUnavailable
// and the handler is told; after it restarts (without its data) the topic has a new epoch,
// and the subscriber receives the new events.
func TestServerRestart(t *testing.T) {
	srv := startRedis(t, 0)
	b := newBroker(t, srv.url(), Options{})
	h := newHandler()
	if err := b.Start(h); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe("room"); err != nil {
		t.Fatal(err)
	}
	first := publish(t, b, "room", 1)
	h.waitFor(t, "first delivery", func(evs []subscriptions.Event, _ []error) bool { return len(evs) == 1 })

	srv.stop()
	h.waitFor(t, "status report of the outage", down)
	start := time.Now()
	if _, err := b.Publish(context.Background(), "room", []byte(`{"i":2}`)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish while the server is down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a publish while the server is down took %v to fail", d)
	}

	startRedis(t, srv.port)
	h.waitFor(t, "status report of the recovery", up)
	second := publish(t, b, "room", 3)
	if second.Epoch == first.Epoch {
		t.Errorf("the epoch %s survived a restart without data", first.Epoch)
	}
	h.waitFor(t, "delivery after the restart", func(evs []subscriptions.Event, _ []error) bool { return len(evs) == 2 })
	h.mu.Lock()
	ev := h.evs[1]
	h.mu.Unlock()
	if ev.Epoch != second.Epoch || ev.Offset != second.Offset || ev.Prev != 0 {
		t.Errorf("delivered %s/%d after %d, want %s/%d after 0", ev.Epoch, ev.Offset, ev.Prev, second.Epoch, second.Offset)
	}
}

// TestLostMessages: events published while the node's pub/sub connection is cut are read
// from the stream when it is back, in order, before the new ones.
func TestLostMessages(t *testing.T) {
	srv := startRedis(t, 0)
	b := newBroker(t, srv.url(), Options{Name: "victim"})
	h := newHandler()
	if err := b.Start(h); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe("room"); err != nil {
		t.Fatal(err)
	}
	other := newBroker(t, srv.url(), Options{})
	if err := other.Start(newHandler()); err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(srv.port), Protocol: 2, DisableIdentity: true})
	defer admin.Close()

	publish(t, other, "room", 0)
	h.waitFor(t, "first delivery", func(evs []subscriptions.Event, _ []error) bool { return len(evs) == 1 })
	list, err := admin.Do(context.Background(), "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name=victim ") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
		if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed != 1 {
		t.Fatalf("%d pub/sub connections of the node killed, want 1:\n%s", killed, list)
	}
	for i := 1; i <= 20; i++ {
		publish(t, other, "room", i)
	}
	h.waitFor(t, "every event", func(evs []subscriptions.Event, _ []error) bool { return len(evs) >= 21 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.evs) != 21 {
		t.Fatalf("%d events delivered, want 21", len(h.evs))
	}
	for i, ev := range h.evs {
		if ev.Offset != uint64(i+1) || ev.Prev != uint64(i) || string(ev.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("event %d: %d after %d, %s", i, ev.Offset, ev.Prev, ev.Data)
		}
	}
}

// TestTopicsRetention: past Retention.Topics, the least recently published topic is
// forgotten, and comes back with a new epoch.
func TestTopicsRetention(t *testing.T) {
	m := miniredis.RunT(t)
	b := newBroker(t, "redis://"+m.Addr(), Options{Retention: subscriptions.Retention{Topics: 2}})
	if err := b.Start(newHandler()); err != nil {
		t.Fatal(err)
	}
	a1 := publish(t, b, "a", 1)
	publish(t, b, "b", 1)
	publish(t, b, "c", 1)
	topics, err := b.Topics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 2 || topics[0].Topic != "b" || topics[1].Topic != "c" {
		t.Fatalf("topics %+v, want b and c", topics)
	}
	a2 := publish(t, b, "a", 2)
	if a2.Epoch == a1.Epoch || a2.Offset != 1 {
		t.Errorf("a forgotten topic continues: %+v after %+v", a2, a1)
	}
}
