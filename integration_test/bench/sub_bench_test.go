package bench

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The subscription benchmarks: notifications per second on one connection carrying subSubs
// subscriptions of N notifications each (nftest_subscribe ["ticks", N, start]), over WebSocket
// and IPC, against polyrpc, go-ethereum and the raw ceiling (sub_servers_test.go), with the
// servers in this process and the same raw client for all three (below): it counts the
// notification frames (WebSocket) or lines (IPC) and checks each one byte by byte, and that every
// subscription gets its N values in order, each once; an error, a lag notice or anything else
// fails the run. One run is one connection: subscribe subSubs times at once, read until every
// subscription has all its notifications, close.
//
//   - BenchmarkSubWS, BenchmarkSubIPC: one operation is one run. They report notifs/s,
//     ns/notif and process-allocs/notif: the mallocs of the whole process (runtime.MemStats)
//     during the run divided by the notifications, which is the server's, as the client makes
//     none per notification (the ceiling's figure, ~0, shows it).
//   - TestNetworkRatios's scenarios sub/ws and sub/ipc (subRatios): the same runs alternated
//     between the three servers, each in a child process (so that its CPU time and its
//     allocations are its own), with the ratios.
//
// N is POLYRPC_BENCH_SUB_N, else 100 000, or 2000 under -short or -benchtime 1x (CI).

const subSubs = 10

// subN returns the notifications per subscription of a run.
func subN() int {
	if n := envInt("POLYRPC_BENCH_SUB_N", 0); n > 0 {
		return n
	}
	if f := flag.Lookup("test.benchtime"); testing.Short() || (f != nil && f.Value.String() == "1x") {
		return 2000
	}
	return 100_000
}

// --- the raw client ---

// wsFrames is a raw WebSocket client connection: its own handshake and framing, so that reading a
// notification allocates nothing (gorilla allocates a reader per message). Requests go out as
// masked text frames; incoming frames must be unmasked text (fragments joined), and pings and
// pongs are skipped.
type wsFrames struct {
	nc  net.Conn
	br  *bufio.Reader
	out []byte
	msg []byte
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func dialWSFrames(addr string) (*wsFrames, error) { return dialWSFramesSize(addr, 64<<10) }

// dialWSFramesSize is dialWSFrames with a read buffer of size bytes.
func dialWSFramesSize(addr string, size int) (*wsFrames, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	c := &wsFrames{nc: nc, br: bufio.NewReaderSize(nc, size)}
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	status, err := c.br.ReadString('\n')
	if err == nil && !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		err = fmt.Errorf("handshake: %q", strings.TrimSpace(status))
	}
	accepted := false
	for err == nil {
		var line string
		if line, err = c.br.ReadString('\n'); err != nil {
			break
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(name, "Sec-WebSocket-Accept") {
			accepted = strings.TrimSpace(value) == accept
		}
	}
	if err == nil && !accepted {
		err = errors.New("handshake: no valid Sec-WebSocket-Accept")
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// send buffers req as one masked text frame.
func (c *wsFrames) send(req []byte) error {
	c.out = append(c.out, 0x81)
	switch n := len(req); {
	case n < 126:
		c.out = append(c.out, 0x80|byte(n))
	case n < 1<<16:
		c.out = append(c.out, 0x80|126, byte(n>>8), byte(n))
	default:
		return errors.New("request too long")
	}
	mask := [4]byte{0x5a, 0x17, 0xc3, 0x81}
	c.out = append(c.out, mask[:]...)
	for i, b := range req {
		c.out = append(c.out, b^mask[i&3])
	}
	return nil
}

func (c *wsFrames) flush() error {
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err
}

func (c *wsFrames) buffered() bool { return c.br.Buffered() > 0 }
func (c *wsFrames) Close() error   { return c.nc.Close() }

// recv returns the next message, valid until the next recv.
func (c *wsFrames) recv() ([]byte, error) {
	c.msg = c.msg[:0]
	for {
		h, err := c.br.Peek(2)
		if err != nil {
			return nil, err
		}
		fin, op, masked, n := h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0, uint64(h[1]&0x7f)
		c.br.Discard(2)
		switch n {
		case 126:
			x, err := c.br.Peek(2)
			if err != nil {
				return nil, err
			}
			n = uint64(x[0])<<8 | uint64(x[1])
			c.br.Discard(2)
		case 127:
			x, err := c.br.Peek(8)
			if err != nil {
				return nil, err
			}
			n = 0
			for _, b := range x {
				n = n<<8 | uint64(b)
			}
			c.br.Discard(8)
		}
		if masked || n > 64<<20 {
			return nil, fmt.Errorf("bad frame from the server (masked %v, length %d)", masked, n)
		}
		switch op {
		case 0x0, 0x1:
			start := len(c.msg)
			c.msg = append(c.msg, make([]byte, n)...)[:start+int(n)]
			if _, err := io.ReadFull(c.br, c.msg[start:]); err != nil {
				return nil, err
			}
			if fin {
				return c.msg, nil
			}
		case 0x9, 0xa: // ping, pong: skipped (a run is shorter than any keepalive)
			if _, err := c.br.Discard(int(n)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("frame with opcode %d", op)
		}
	}
}

// dialSub opens the raw client's connection to t on transport ("ws" or "ipc").
func dialSub(t *netTarget, transport string) (rawConn, error) {
	if transport == "ws" {
		return dialWSFrames(t.SubWS)
	}
	return dialRaw(&netTarget{IPC: t.SubIPC}, "ipc")
}

// subStream is the client's state of one run: the subscriptions it asked for.
type subStream struct {
	subs     []streamSub
	answered int
	received int64
}

type streamSub struct {
	id         string // the subscription id; "" until answered
	next, stop int64  // the next value expected; one past the last
}

var notifHead = []byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"`)

// take checks one message from the server: a subscribe answer or a notification.
func (st *subStream) take(m []byte) error {
	rest, ok := bytes.CutPrefix(m, notifHead)
	if !ok {
		return st.answer(m)
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return fmt.Errorf("bad notification %.200q", m)
	}
	id := rest[:q]
	var s *streamSub
	for i := range st.subs {
		if st.subs[i].id == string(id) && st.subs[i].id != "" {
			s = &st.subs[i]
			break
		}
	}
	if s == nil {
		return fmt.Errorf("notification of a subscription not (yet) answered: %.200q", m)
	}
	rest, ok = bytes.CutPrefix(rest[q+1:], []byte(`,"result":`))
	if !ok {
		return fmt.Errorf("bad notification %.200q", m)
	}
	var v int64
	d := 0
	for d < len(rest) && rest[d] >= '0' && rest[d] <= '9' {
		v = v*10 + int64(rest[d]-'0')
		d++
	}
	if d == 0 || d > 18 {
		return fmt.Errorf("bad result in %.200q", m)
	}
	rest, ok = bytes.CutPrefix(rest[d:], []byte(`}}`))
	if !ok || len(bytes.TrimSpace(rest)) != 0 {
		return fmt.Errorf("bad notification end %.200q", m)
	}
	if v != s.next || v >= s.stop {
		return fmt.Errorf("subscription %s: got %d, want %d (last %d)", s.id, v, s.next, s.stop-1)
	}
	s.next++
	st.received++
	return nil
}

// answer checks a subscribe answer and records the subscription id.
func (st *subStream) answer(m []byte) error {
	var a struct {
		Version string          `json:"jsonrpc"`
		ID      int             `json:"id"`
		Result  string          `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(m, &a); err != nil || a.Version != "2.0" || a.Error != nil || a.ID < 1 || a.ID > len(st.subs) ||
		st.subs[a.ID-1].id != "" || !strings.HasPrefix(a.Result, "0x") {
		return fmt.Errorf("unexpected message %.200q (%v)", m, err)
	}
	st.subs[a.ID-1].id = a.Result
	st.answered++
	return nil
}

// subRun is what one run measured.
type subRun struct {
	notifs  int64
	elapsed time.Duration
	cpu     time.Duration // of the whole process
	mallocs uint64        // of the whole process
}

func (r *subRun) add(o subRun) {
	r.notifs += o.notifs
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.mallocs += o.mallocs
}

func (r *subRun) rate() float64 { return float64(r.notifs) / r.elapsed.Seconds() }

func (r *subRun) per(x float64) float64 { return x / float64(r.notifs) }

// runSubStream makes one run against t: one connection, subs subscriptions of n notifications.
// The timer (and the CPU and malloc counts) start before the subscribe requests are sent and
// stop when the last notification has been verified.
func runSubStream(t *netTarget, transport string, subs, n int) (subRun, error) {
	c, err := dialSub(t, transport)
	if err != nil {
		return subRun{}, err
	}
	defer c.Close()
	st := &subStream{subs: make([]streamSub, subs)}
	var req []byte
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, start := processCPU(), time.Now()
	for k := range subs {
		st.subs[k].next, st.subs[k].stop = int64(k*n), int64(k*n+n)
		req = fmt.Appendf(req[:0], `{"jsonrpc":"2.0","id":%d,"method":"nftest_subscribe","params":["ticks",%d,%d]}`+"\n", k+1, n, k*n)
		if err := c.send(req); err != nil {
			return subRun{}, err
		}
	}
	if err := c.flush(); err != nil {
		return subRun{}, err
	}
	want := int64(subs) * int64(n)
	for st.answered < subs || st.received < want {
		m, err := c.recv()
		if err != nil {
			return subRun{}, fmt.Errorf("%s over %s after %d notifications: %w", t.Kind, transport, st.received, err)
		}
		if err := st.take(m); err != nil {
			return subRun{}, fmt.Errorf("%s over %s: %w", t.Kind, transport, err)
		}
	}
	r := subRun{notifs: st.received, elapsed: time.Since(start), cpu: processCPU() - cpu0}
	runtime.ReadMemStats(&ms1)
	r.mallocs = ms1.Mallocs - ms0.Mallocs
	return r, nil
}

// hostSubAll starts every kind of subscription server in this process.
func hostSubAll(tb testing.TB) map[string]*netTarget {
	tb.Helper()
	targets := map[string]*netTarget{}
	for _, kind := range serverKinds {
		t, err := hostSubServers(kind)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(t.close)
		targets[kind] = t
	}
	return targets
}

func benchSub(b *testing.B, transport string) {
	targets := hostSubAll(b)
	n := subN()
	for _, kind := range serverKinds {
		b.Run(kind, func(b *testing.B) {
			var tot subRun
			for range b.N {
				runtime.GC() // each run starts without the previous one's garbage
				r, err := runSubStream(targets[kind], transport, subSubs, n)
				if err != nil {
					b.Fatal(err)
				}
				tot.add(r)
			}
			b.ReportMetric(tot.rate(), "notifs/s")
			b.ReportMetric(tot.per(float64(tot.elapsed.Nanoseconds())), "ns/notif")
			b.ReportMetric(tot.per(float64(tot.mallocs)), "process-allocs/notif")
		})
	}
}

// BenchmarkSubWS: 10 subscriptions × N notifications on one WebSocket connection.
func BenchmarkSubWS(b *testing.B) { benchSub(b, "ws") }

// BenchmarkSubIPC: the same over a unix socket.
func BenchmarkSubIPC(b *testing.B) { benchSub(b, "ipc") }

// TestSubVerify runs a short stream against every server on both transports, so that every
// test run checks the servers, the ceiling and the client's verification.
func TestSubVerify(t *testing.T) {
	targets := hostSubAll(t)
	for _, tr := range []string{"ws", "ipc"} {
		for _, kind := range serverKinds {
			t.Run(tr+"/"+kind, func(t *testing.T) {
				r, err := runSubStream(targets[kind], tr, 3, 300)
				if err != nil {
					t.Fatal(err)
				}
				if r.notifs != 900 {
					t.Fatalf("%d notifications, want 900", r.notifs)
				}
			})
		}
	}
}

// TestSubStreamChecks checks that the client's verification refuses what it must.
func TestSubStreamChecks(t *testing.T) {
	newStream := func() *subStream {
		st := &subStream{subs: []streamSub{{next: 5, stop: 7}}}
		if err := st.take([]byte(`{"jsonrpc":"2.0","id":1,"result":"0xab"}` + "\n")); err != nil {
			t.Fatal(err)
		}
		return st
	}
	note := func(id, v string) []byte {
		return []byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"` + id + `","result":` + v + "}}\n")
	}
	st := newStream()
	for _, v := range []string{"5", "6"} {
		if err := st.take(note("0xab", v)); err != nil {
			t.Fatal(err)
		}
	}
	if st.received != 2 {
		t.Fatalf("received %d", st.received)
	}
	for _, bad := range [][]byte{
		note("0xab", "6"),  // out of order
		note("0xcd", "5"),  // unknown subscription
		note("0xab", "-5"), // not the value
		note("0xab", `"5"`),
		[]byte(`{"jsonrpc":"2.0","method":"nftest_subscription","params":{"subscription":"0xab","result":5,"x":1}}`),
		[]byte(`{"jsonrpc":"2.0","method":"nftest_subscriptionLag","params":{"subscription":"0xab","dropped":3}}`),
		[]byte(`{"jsonrpc":"2.0","id":1,"result":"0xab"}`), // answered twice
		[]byte(`{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"no"}}`),
	} {
		if err := newStream().take(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	st = newStream()
	st.take(note("0xab", "5"))
	st.take(note("0xab", "6"))
	if err := st.take(note("0xab", "7")); err == nil {
		t.Error("a notification past the last accepted")
	}
}

// --- the ratio report (a part of TestNetworkRatios) ---

// subScenarioTargets are the targets: polyrpc's notifications/s over go-ethereum's.
var subScenarioTargets = map[string]float64{"ws": 4, "ipc": 3}

// subTotals adds up one server's runs of a scenario.
type subTotals struct {
	subRun                      // the client's side: cpu and mallocs are this process's
	serverCPU     time.Duration // the child's
	serverMallocs int64
}

// subRatios measures the scenarios sub/ws and sub/ipc that sel selects, for
// TestNetworkRatios: each kind of server in a child process of its own (transport "sub"), a
// warm-up run of each, then rounds (rotating P G C, G C P, C P G) of one full run per server;
// the figures are totals over the rounds. It appends its table to out.
func subRatios(t *testing.T, sel *regexp.Regexp, rounds int, out *strings.Builder) {
	var trs []string
	for _, tr := range []string{"ws", "ipc"} {
		if sel.MatchString("sub/" + tr) {
			trs = append(trs, tr)
		}
	}
	if len(trs) == 0 {
		return
	}
	children := map[string]*child{}
	targets := map[string]*netTarget{}
	for _, kind := range serverKinds {
		c := startChild(t, kind, []string{"sub"})
		children[kind] = c
		targets[kind] = &c.target
	}
	ask := func(c *child, cmd string) int64 {
		v, err := c.ask(cmd)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	n := subN()
	fmt.Fprintf(out, "\nsubscriptions: %d × %d notifications on one connection per run, %d rounds; servers in child processes\n\n", subSubs, n, rounds)
	out.WriteString("| scenario | polyrpc notifs/s | geth notifs/s | ceiling notifs/s | polyrpc/geth (target) | polyrpc/ceiling | geth/ceiling | ns/notif P / G / C | server CPU ns/notif P / G / C | server allocs/notif P / G / C | client CPU ns/notif P / G / C |\n")
	out.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, tr := range trs {
		totals := map[string]*subTotals{}
		for _, kind := range serverKinds {
			totals[kind] = &subTotals{}
			if _, err := runSubStream(targets[kind], tr, subSubs, max(n/10, 100)); err != nil { // warm-up
				t.Fatal(err)
			}
		}
		for r := range rounds {
			for i := range serverKinds {
				kind := serverKinds[(i+r)%len(serverKinds)]
				c := children[kind]
				runtime.GC()
				ask(c, "gc")
				cpu0, m0 := ask(c, "cpu"), ask(c, "mallocs")
				res, err := runSubStream(targets[kind], tr, subSubs, n)
				if err != nil {
					t.Fatal(err)
				}
				cpu1, m1 := ask(c, "cpu"), ask(c, "mallocs")
				tt := totals[kind]
				tt.add(res)
				tt.serverCPU += time.Duration(cpu1-cpu0) * time.Microsecond
				tt.serverMallocs += m1 - m0
			}
		}
		p, g, c := totals["polyrpc"], totals["geth"], totals["ceiling"]
		pg := p.rate() / g.rate()
		f := func(tt *subTotals, x float64, prec int) string { return strconv.FormatFloat(tt.per(x), 'f', prec, 64) }
		col := func(v func(*subTotals) string) string { return v(p) + " / " + v(g) + " / " + v(c) }
		fmt.Fprintf(out, "| sub/%s | %.0f | %.0f | %.0f | **%.2f** (%s)%s | %.2f | %.2f | %s | %s | %s | %s |\n",
			tr, p.rate(), g.rate(), c.rate(),
			pg, targetText(subScenarioTargets[tr]), verdict(pg, subScenarioTargets[tr]),
			p.rate()/c.rate(), g.rate()/c.rate(),
			col(func(tt *subTotals) string { return f(tt, float64(tt.elapsed.Nanoseconds()), 0) }),
			col(func(tt *subTotals) string { return f(tt, float64(tt.serverCPU.Nanoseconds()), 0) }),
			col(func(tt *subTotals) string { return f(tt, float64(tt.serverMallocs), 2) }),
			col(func(tt *subTotals) string { return f(tt, float64(tt.cpu.Nanoseconds()), 0) }))
		t.Logf("sub/%s done", tr)
	}
}
