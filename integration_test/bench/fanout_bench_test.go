package bench

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The fan-out scenario (issue 18, the remaining speed targets): one topic, many subscribers,
// one publisher, on the push servers (push_servers_test.go): polyrpc's subscriptions.Feed
// (rpctest.Subs), go-ethereum's event feed service (gethPush, on event.FeedOf), and a raw ceiling that writes
// each subscriber its precomputed notification head with the published value.
//
//   - Throughput (fanoutThroughput): fanoutSubs subscribers over WebSocket or IPC; the
//     publisher (same transport) calls nftest_publish with fanoutInflight calls in flight,
//     never more than fanoutWindow values ahead of what the subscribers have received in all
//     (so that no queue overflows); deliveries/s over the window. polyrpc against go-ethereum.
//   - Latency (fanoutLatency): fanoutLatencySubs WebSocket subscribers, a publish every
//     fanoutLatencyEvery, each value carrying the time it was sent; the p99 of the delivery
//     latency over every subscriber and value. polyrpc against the ceiling.
//
// Both are TestNetworkRatios scenarios ("fanout/ws", "fanout/ipc", "fanout/latency"), servers in
// child processes; TestFanoutVerify runs both shapes briefly in every go test.

const (
	fanoutSubs         = 1000
	fanoutInflight     = 4
	fanoutWindow       = 32
	fanoutLatencySubs  = 10_000
	fanoutLatencyEvery = 200 * time.Millisecond
)

// The targets: polyrpc's deliveries/s over go-ethereum's; its p99 delivery latency at
// most the ceiling's.
const fanoutTarget = 2.5

// fanoutLoad is one run's shape.
type fanoutLoad struct {
	transport string // of the subscribers and the publisher: "ws" or "ipc"
	subs      int
	duration  time.Duration
	every     time.Duration // between publishes; 0: as fast as delivered (throughput)
}

// fanoutRun is what one run measured.
type fanoutRun struct {
	deliveries int64
	window     time.Duration
	lat        []time.Duration // delivery latencies (with every)
	serverCPU  time.Duration
}

var notificationHead = []byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"`)

// fanoutReader reads one subscriber's messages until its connection closes: it counts the
// notifications into delivered and, when base is not zero, records each one's latency from
// the "t" member of its value (nanoseconds after base).
type fanoutReader struct {
	base      time.Time
	delivered *atomic.Int64
	mu        sync.Mutex
	lat       []time.Duration
}

func (f *fanoutReader) take(m []byte) {
	if !bytes.HasPrefix(m, notificationHead) {
		return // a position notice of polyrpc's Feed
	}
	f.delivered.Add(1)
	if f.base.IsZero() {
		return
	}
	now := time.Since(f.base)
	i := bytes.Index(m, []byte(`"t":`))
	if i < 0 {
		return
	}
	v, _ := strconv.ParseInt(string(digits(m[i+4:])), 10, 64)
	f.mu.Lock()
	f.lat = append(f.lat, now-time.Duration(v))
	f.mu.Unlock()
}

// digits returns the leading digits of b.
func digits(b []byte) []byte {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return b[:n]
}

// fanoutConn is a raw subscriber or publisher connection.
type fanoutConn interface {
	subscriber
	Close() error
}

func dialFanout(t *netTarget, transport string, readBuf int) (fanoutConn, error) {
	if transport == "ws" {
		return dialWSFramesSize(t.PushWS, readBuf)
	}
	nc, err := net.Dial("unix", t.PushIPC)
	if err != nil {
		return nil, err
	}
	return &ipcRaw{nc: nc, br: bufio.NewReaderSize(nc, readBuf), bw: bufio.NewWriterSize(nc, 4<<10)}, nil
}

// call sends one request on c and returns its answer's result, skipping notifications.
func call(c fanoutConn, id int, method, params string) ([]byte, error) {
	req := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params)
	m, err := exchange(c, req)
	for ; err == nil; m, err = c.recv() {
		var a struct {
			ID     int
			Result json.RawMessage
			Error  json.RawMessage
		}
		if bytes.HasPrefix(m, notificationHead) || json.Unmarshal(m, &a) != nil || a.ID != id {
			continue
		}
		if a.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, a.Error)
		}
		return a.Result, nil
	}
	return nil, err
}

// runFanout subscribes l.subs connections to the topic, then publishes for l.duration.
func runFanout(t *netTarget, c *child, l fanoutLoad) (fanoutRun, error) {
	var r fanoutRun
	var delivered atomic.Int64
	reader := &fanoutReader{delivered: &delivered}
	subs := make([]fanoutConn, l.subs)
	var readers sync.WaitGroup
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.Close()
			}
		}
		readers.Wait()
	}()
	var dialing sync.WaitGroup
	errs := make([]error, 16)
	for w := range 16 {
		dialing.Go(func() {
			for i := w; i < l.subs; i += 16 {
				s, err := dialFanout(t, l.transport, 4<<10)
				if err == nil {
					subs[i] = s
					_, err = call(s, 1, "nftest_subscribe", `["topic","fan"]`)
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	dialing.Wait()
	for _, err := range errs {
		if err != nil {
			return r, fmt.Errorf("subscribing: %w", err)
		}
	}
	pub, err := dialFanout(t, l.transport, 64<<10)
	if err != nil {
		return r, err
	}
	defer pub.Close()
	for try := 0; ; try++ {
		n, err := call(pub, 1, "nftest_subscribers", `["fan"]`)
		if err != nil {
			return r, err
		}
		if string(n) == strconv.Itoa(l.subs) {
			break
		}
		if try == 500 {
			return r, fmt.Errorf("%s subscribers, want %d", n, l.subs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l.every > 0 {
		reader.base = time.Now()
	}
	for _, s := range subs {
		readers.Go(func() {
			for {
				m, err := s.recv()
				if err != nil {
					return
				}
				reader.take(m)
			}
		})
	}

	var cpu0 int64
	if c != nil {
		if cpu0, err = c.ask("cpu"); err != nil {
			return r, err
		}
	}
	d0, start := delivered.Load(), time.Now()
	if l.every > 0 {
		err = publishSteadily(pub, reader.base, l)
	} else {
		err = publishFlat(pub, &delivered, d0, l)
	}
	if err != nil {
		return r, err
	}
	if l.every > 0 {
		// Every value published reaches every subscriber (bounded wait).
		want := d0 + int64(l.subs)*int64(l.duration/l.every)
		for deadline := time.Now().Add(10 * time.Second); delivered.Load() < want && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	r.deliveries, r.window = delivered.Load()-d0, time.Since(start)
	if c != nil {
		cpu1, err := c.ask("cpu")
		if err != nil {
			return r, err
		}
		r.serverCPU = time.Duration(cpu1-cpu0) * time.Microsecond
	}
	reader.mu.Lock()
	r.lat = reader.lat
	reader.mu.Unlock()
	return r, nil
}

// publishReq appends the publish request of value n (sent at t after the run's base).
func publishReq(dst []byte, n int, t time.Duration) []byte {
	return fmt.Appendf(dst, `{"jsonrpc":"2.0","id":%d,"method":"nftest_publish","params":["fan",{"n":%d,"t":%d}]}`+"\n", n, n, t)
}

// checkPublished checks a publish answer: it reached every subscriber.
func checkPublished(m []byte, subs int) error {
	if !bytes.HasSuffix(bytes.TrimSpace(m), []byte(`,"result":`+strconv.Itoa(subs)+`}`)) {
		return fmt.Errorf("publish answered %.200q, want %d subscribers reached", m, subs)
	}
	return nil
}

// publishFlat publishes as fast as the subscribers take the values: fanoutInflight calls in
// flight, and value k only once delivered has reached (k-fanoutWindow)·subs.
func publishFlat(pub fanoutConn, delivered *atomic.Int64, d0 int64, l fanoutLoad) error {
	end := time.Now().Add(l.duration)
	var req []byte
	sent, answered := 0, 0
	for time.Now().Before(end) || answered < sent {
		for sent-answered < fanoutInflight && time.Now().Before(end) &&
			delivered.Load()-d0 >= int64(sent-fanoutWindow)*int64(l.subs) {
			sent++
			req = publishReq(req[:0], sent, 0)
			if err := pub.send(req); err != nil {
				return err
			}
		}
		if sent == answered {
			time.Sleep(100 * time.Microsecond) // the window is full: wait for deliveries
			continue
		}
		if err := pub.flush(); err != nil {
			return err
		}
		m, err := pub.recv()
		if err != nil {
			return err
		}
		if err := checkPublished(m, l.subs); err != nil {
			return err
		}
		answered++
	}
	return nil
}

// publishSteadily publishes one value every l.every for l.duration, each carrying the time it
// was sent.
func publishSteadily(pub fanoutConn, base time.Time, l fanoutLoad) error {
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	var req []byte
	for n := 1; n <= int(l.duration/l.every); n++ {
		<-tick.C
		req = publishReq(req[:0], n, time.Since(base))
		m, err := exchange(pub, req)
		if err != nil {
			return err
		}
		if err := checkPublished(m, l.subs); err != nil {
			return err
		}
	}
	return nil
}

// TestFanoutVerify runs both shapes briefly against every server in this process.
func TestFanoutVerify(t *testing.T) {
	for _, kind := range serverKinds {
		t.Run(kind, func(t *testing.T) {
			target, err := hostPushServers(kind)
			if err != nil {
				t.Fatal(err)
			}
			defer target.close()
			trs := []string{"ws", "ipc"}
			if kind == "ceiling" {
				trs = trs[:1]
			}
			for _, tr := range trs {
				r, err := runFanout(target, nil, fanoutLoad{transport: tr, subs: 20, duration: 200 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if r.deliveries == 0 {
					t.Errorf("%s: %d deliveries to 20 subscribers", tr, r.deliveries)
				}
			}
			r, err := runFanout(target, nil, fanoutLoad{transport: "ws", subs: 20, duration: 100 * time.Millisecond, every: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.lat) != 100 {
				t.Errorf("%d latencies, want 5 values × 20 subscribers", len(r.lat))
			}
		})
	}
}

// fanoutRatios runs the fan-out scenarios that sel selects for TestNetworkRatios:
// "fanout/ws" and "fanout/ipc" (throughput, polyrpc and go-ethereum) and "fanout/latency"
// (polyrpc and the ceiling), each server in a fresh child process per run, rounds runs
// alternating. It appends its table to out.
func fanoutRatios(t *testing.T, sel *regexp.Regexp, rounds int, out *strings.Builder) {
	dur := envDuration("POLYRPC_BENCH_FANOUT_DURATION", 5*time.Second)
	run := func(kinds []string, l fanoutLoad) map[string][]fanoutRun {
		res := map[string][]fanoutRun{}
		for r := range rounds {
			for i := range kinds {
				kind := kinds[(i+r)%len(kinds)]
				c := startChild(t, kind, []string{"push"})
				fr, err := runFanout(&c.target, c, l)
				c.stop()
				if err != nil {
					t.Fatalf("fan-out %s over %s: %v", kind, l.transport, err)
				}
				res[kind] = append(res[kind], fr)
			}
		}
		return res
	}
	rate := func(rs []fanoutRun) float64 {
		var n int64
		var d time.Duration
		for _, r := range rs {
			n, d = n+r.deliveries, d+r.window
		}
		return float64(n) / d.Seconds()
	}
	cpu := func(rs []fanoutRun) float64 {
		var n int64
		var d time.Duration
		for _, r := range rs {
			n, d = n+r.deliveries, d+r.serverCPU
		}
		return float64(d.Nanoseconds()) / float64(max(n, 1))
	}
	header := false
	for _, tr := range []string{"ws", "ipc"} {
		if !sel.MatchString("fanout/" + tr) {
			continue
		}
		if !header {
			fmt.Fprintf(out, "\nfan-out: %d subscribers of one topic, one publisher (%d calls in flight, at most %d values ahead of the deliveries), %v per run, %d runs per server in fresh child processes\n\n",
				fanoutSubs, fanoutInflight, fanoutWindow, dur, rounds)
			out.WriteString("| scenario | polyrpc deliveries/s | geth deliveries/s | polyrpc/geth (target) | server CPU ns/delivery P / G | ratio per round |\n|---|---:|---:|---:|---:|---|\n")
			header = true
		}
		res := run([]string{"polyrpc", "geth"}, fanoutLoad{transport: tr, subs: fanoutSubs, duration: dur})
		p, g := rate(res["polyrpc"]), rate(res["geth"])
		var per []string
		for i := range res["polyrpc"] {
			per = append(per, fmt.Sprintf("%.2f", rate(res["polyrpc"][i:i+1])/rate(res["geth"][i:i+1])))
		}
		fmt.Fprintf(out, "| fanout/%s | %.0f | %.0f | **%.2f** (%s)%s | %.0f / %.0f | %s |\n", tr, p, g, p/g,
			targetText(fanoutTarget), verdict(p/g, fanoutTarget), cpu(res["polyrpc"]), cpu(res["geth"]), strings.Join(per, ", "))
		t.Logf("fanout/%s done", tr)
	}
	if sel.MatchString("fanout/latency") {
		n := envInt("POLYRPC_BENCH_FANOUT_SUBS", fanoutLatencySubs)
		res := run([]string{"polyrpc", "ceiling"}, fanoutLoad{transport: "ws", subs: n, duration: dur, every: fanoutLatencyEvery})
		fmt.Fprintf(out, "\nfan-out latency: %d WebSocket subscribers, a publish every %v for %v, %d runs per server; delivery latency over every value and subscriber\n\n",
			n, fanoutLatencyEvery, dur, rounds)
		out.WriteString("| server | p50 (ms) | p99 (ms) | max (ms) | p99 per run (ms) | server CPU ns/delivery |\n|---|---:|---:|---:|---|---:|\n")
		p99 := map[string]time.Duration{}
		for _, kind := range []string{"polyrpc", "ceiling"} {
			var all []time.Duration
			var per []string
			for _, r := range res[kind] {
				all = append(all, r.lat...)
				per = append(per, fmt.Sprintf("%.1f", ms(quantile(r.lat, 0.99))))
			}
			p99[kind] = quantile(all, 0.99)
			fmt.Fprintf(out, "| %s | %.1f | %.1f | %.1f | %s | %.0f |\n", kind, ms(quantile(all, 0.5)), ms(p99[kind]),
				ms(quantile(all, 1)), strings.Join(per, ", "), cpu(res[kind]))
		}
		fmt.Fprintf(out, "\ntarget: polyrpc's p99 at most the ceiling's:%s\n", atMost(float64(p99["polyrpc"]), float64(p99["ceiling"])))
		t.Log("fanout/latency done")
	}
}

// --- the fan-out ceiling ---

// fanoutCeiling is a raw WebSocket server for the fan-out scenario: gorilla/websocket reads
// the requests (nftest_subscribe ["topic", name], nftest_publish [name, value],
// nftest_subscribers [name]); a publish writes each subscriber, in turn on the publisher's
// goroutine, one unmasked text frame: its precomputed notification head, the value as it came,
// and "}}\n", on the raw connection.
type fanoutCeiling struct {
	up    websocket.Upgrader
	mu    sync.Mutex
	subs  []*ceilingSubscriber
	conns map[net.Conn]struct{}
}

type ceilingSubscriber struct {
	nc   net.Conn
	mu   *sync.Mutex // the connection's writes
	head []byte      // the frame's payload up to the result
}

func newFanoutCeiling() *fanoutCeiling {
	return &fanoutCeiling{conns: map[net.Conn]struct{}{}, up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}}
}

func (c *fanoutCeiling) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for nc := range c.conns {
		nc.Close()
	}
}

func (c *fanoutCeiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := c.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	nc := ws.NetConn()
	c.mu.Lock()
	c.conns[nc] = struct{}{}
	c.mu.Unlock()
	var wmu sync.Mutex
	defer func() {
		c.mu.Lock()
		delete(c.conns, nc)
		for i, s := range c.subs {
			if s.nc == nc {
				c.subs = append(c.subs[:i], c.subs[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		nc.Close()
	}()
	var frame []byte
	write := func(payload ...[]byte) error {
		frame = appendFrame(frame[:0], payload...)
		wmu.Lock()
		defer wmu.Unlock()
		_, err := nc.Write(frame)
		return err
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage
			Method string
			Params []json.RawMessage
		}
		if err := json.Unmarshal(msg, &req); err != nil || len(req.Params) == 0 {
			return
		}
		head := []byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":`)
		switch req.Method {
		case "nftest_subscribe":
			var b [16]byte
			rand.Read(b[:])
			id := "0x" + hex.EncodeToString(b[:])
			s := &ceilingSubscriber{nc: nc, mu: &wmu, head: []byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"` + id + `","result":`)}
			c.mu.Lock()
			c.subs = append(c.subs, s)
			c.mu.Unlock()
			err = write(head, []byte(`"`+id+`"}`+"\n"))
		case "nftest_subscribers":
			c.mu.Lock()
			n := len(c.subs)
			c.mu.Unlock()
			err = write(head, []byte(strconv.Itoa(n)+"}\n"))
		case "nftest_publish":
			if len(req.Params) != 2 {
				return
			}
			c.mu.Lock()
			subs := append([]*ceilingSubscriber(nil), c.subs...)
			c.mu.Unlock()
			var out []byte
			for _, s := range subs {
				out = appendFrame(out[:0], s.head, req.Params[1], []byte("}}\n"))
				s.mu.Lock()
				s.nc.Write(out)
				s.mu.Unlock()
			}
			err = write(head, []byte(strconv.Itoa(len(subs))+"}\n"))
		default:
			return
		}
		if err != nil {
			return
		}
	}
}

// appendFrame appends one unmasked text frame carrying the payload's parts.
func appendFrame(dst []byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	dst = append(dst, 0x81)
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}
