package bench

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The network benchmarks: polyrpc, go-ethereum and a raw ceiling server (net_servers_test.go)
// driven over loopback by the same raw client (net_client_test.go), side by side in one run.
//
//   - BenchmarkNetHTTP, BenchmarkNetWS, BenchmarkNetIPC, BenchmarkNetEcho64KiB: testing.B
//     benchmarks with the servers in the benchmark's process (so -cpuprofile and -memprofile
//     show the servers and the client together); they report calls/s.
//   - BenchmarkNetWSIdleMemory: memory per idle WebSocket connection, servers in a child process.
//   - TestNetworkRatios (POLYRPC_BENCH=1): the table of the README: each scenario run for a
//     fixed time per server, alternating the servers round after round, servers in child
//     processes so that each one's CPU per call is measured too.

// netScenario is one load: conns connections (HTTP: clients, each with its own keep-alive
// connection), each with inflight operations outstanding.
type netScenario struct {
	name      string
	transport string
	op        opKind
	conns     int
	inflight  int
	// The targets, as ratios measured in the same run; 0: none.
	vsGeth, vsCeiling float64
}

var netScenarios = []netScenario{
	{"http/1-client", "http", opPing, 1, 1, 1.5, 0.85},
	{"http/32-clients", "http", opPing, 32, 1, 0, 0},
	{"http/batch100", "http", opBatch, 1, 1, 3, 0},
	{"ws/1x1", "ws", opPing, 1, 1, 2.5, 0.7},
	{"ws/16x16", "ws", opPing, 16, 16, 0, 0},
	{"ipc/1x1", "ipc", opPing, 1, 1, 2.5, 0.7},
	{"ipc/16x16", "ipc", opPing, 16, 16, 0, 0},
	{"http/echo64KiB", "http", opEcho, 1, 1, 4, 0},
	{"ws/echo64KiB", "ws", opEcho, 1, 1, 4, 0},
	{"ipc/echo64KiB", "ipc", opEcho, 1, 1, 4, 0},
}

// The idle WebSocket memory measurement and its target.
const (
	idleConns      = 1000
	idleTargetByte = 24_000
)

// runResult is what one run of a scenario against one server measured.
type runResult struct {
	calls     int64
	elapsed   time.Duration
	clientCPU time.Duration // of this process (the client, plus the servers when in-process)
	lat       []time.Duration
}

// runScenario dials the scenario's connections to t, calls started (which may reset a
// benchmark's timer or arm a timed run's stop), and drives them until l runs out.
func runScenario(sc netScenario, t *netTarget, l *load, withLat bool, started func()) (runResult, error) {
	conns := make([]rawConn, sc.conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := dialRaw(t, sc.transport)
		if err != nil {
			return runResult{}, err
		}
		conns[i] = c
	}
	lats := make([][]time.Duration, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	started()
	cpu0, start := processCPU(), time.Now()
	for i, c := range conns {
		wg.Go(func() {
			var lat *[]time.Duration
			if withLat {
				lat = &lats[i]
			}
			if errs[i] = drive(c, l, sc.op, sc.inflight, lat); errs[i] != nil {
				l.stop.Store(true)
				c.Close() // unblock nothing else: each connection has its own worker
			}
		})
	}
	wg.Wait()
	res := runResult{calls: l.calls.Load(), elapsed: time.Since(start), clientCPU: processCPU() - cpu0}
	for _, err := range errs {
		if err != nil {
			return res, fmt.Errorf("%s on %s: %w", sc.name, t.Kind, err)
		}
	}
	for _, lt := range lats {
		res.lat = append(res.lat, lt...)
	}
	return res, nil
}

// runTimed runs sc against t for d.
func runTimed(sc netScenario, t *netTarget, d time.Duration, withLat bool) (runResult, error) {
	l := &load{}
	l.left.Store(math.MaxInt64)
	var timer *time.Timer
	res, err := runScenario(sc, t, l, withLat, func() { timer = time.AfterFunc(d, func() { l.stop.Store(true) }) })
	if timer != nil {
		timer.Stop()
	}
	return res, err
}

// hostAll starts every kind of server in this process on transports.
func hostAll(tb testing.TB, transports []string) map[string]*netTarget {
	tb.Helper()
	targets := map[string]*netTarget{}
	for _, kind := range serverKinds {
		t, err := hostServers(kind, transports)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(t.close)
		targets[kind] = t
	}
	return targets
}

// benchNet runs scenarios as sub-benchmarks SCENARIO/KIND with the servers in this process;
// one operation is one call (one batch for http/batch100). It reports calls/s. (The ratios are
// TestNetworkRatios's job: testing.B's ramp-up runs each server with its own b.N, at its own
// moment, so a ratio of two sub-benchmarks' figures is weaker than the alternated timed runs.)
func benchNet(b *testing.B, transports []string, scenarios []netScenario) {
	targets := hostAll(b, transports)
	for _, sc := range scenarios {
		b.Run(sc.name[strings.IndexByte(sc.name, '/')+1:], func(b *testing.B) {
			for _, kind := range serverKinds {
				b.Run(kind, func(b *testing.B) {
					l := &load{}
					l.left.Store(int64(b.N))
					res, err := runScenario(sc, targets[kind], l, false, b.ResetTimer)
					if err != nil {
						b.Fatal(err)
					}
					if want := int64(b.N * sc.op.callsPerOp()); res.calls != want {
						b.Fatalf("%d calls answered, want %d", res.calls, want)
					}
					b.ReportMetric(float64(res.calls)/res.elapsed.Seconds(), "calls/s")
				})
			}
		})
	}
}

func scenariosOf(filter func(netScenario) bool) []netScenario {
	var out []netScenario
	for _, sc := range netScenarios {
		if filter(sc) {
			out = append(out, sc)
		}
	}
	return out
}

// BenchmarkNetHTTP: one client calling sequentially, 32 clients at once, batches of 100.
func BenchmarkNetHTTP(b *testing.B) {
	benchNet(b, []string{"http"}, scenariosOf(func(sc netScenario) bool { return sc.transport == "http" && sc.op != opEcho }))
}

// BenchmarkNetWS: 1 connection with 1 call in flight; 16 connections with 16 each.
func BenchmarkNetWS(b *testing.B) {
	benchNet(b, []string{"ws"}, scenariosOf(func(sc netScenario) bool { return sc.transport == "ws" && sc.op != opEcho }))
}

// BenchmarkNetIPC: as BenchmarkNetWS, over a unix socket.
func BenchmarkNetIPC(b *testing.B) {
	benchNet(b, []string{"ipc"}, scenariosOf(func(sc netScenario) bool { return sc.transport == "ipc" && sc.op != opEcho }))
}

// BenchmarkNetEcho64KiB: test_echoAny with a 64 KiB JSON object, one call at a time, over each
// transport (sub-benchmarks http/echo64KiB, ws/… and ipc/…, named by transport).
func BenchmarkNetEcho64KiB(b *testing.B) {
	scs := scenariosOf(func(sc netScenario) bool { return sc.op == opEcho })
	for i := range scs {
		scs[i].name = "x/" + scs[i].transport
	}
	benchNet(b, []string{"http", "ws", "ipc"}, scs)
}

// idleMemCache keeps BenchmarkNetWSIdleMemory's measurement per server kind: it is made once
// per process, whatever b.N the benchmark is run with.
var idleMemCache sync.Map

// BenchmarkNetWSIdleMemory reports the server's memory per idle WebSocket connection (B/conn):
// see measureIdleWS. It ignores b.N.
func BenchmarkNetWSIdleMemory(b *testing.B) {
	for _, kind := range serverKinds {
		b.Run(kind, func(b *testing.B) {
			v, ok := idleMemCache.Load(kind)
			if !ok {
				c := startChild(b, kind, []string{"ws"})
				per, err := measureIdleWS(c, idleConns)
				if err != nil {
					b.Fatal(err)
				}
				v = per
				idleMemCache.Store(kind, per)
			}
			b.ReportMetric(v.(float64), "B/conn")
		})
	}
}

// measureIdleWS opens n WebSocket connections to the child's server, makes one verified
// test_ping call on each (so that each is fully set up and has been used), and returns the
// growth of the child's HeapInuse+StackInuse (after two garbage collections) divided by n.
// The server runs in its own process, so the client's memory is not counted.
func measureIdleWS(c *child, n int) (float64, error) {
	before, err := c.ask("mem")
	if err != nil {
		return 0, err
	}
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, ws := range conns {
			ws.Close()
		}
	}()
	req := appendRequest(nil, opPing, 1)
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+c.target.WS+"/", nil)
		if err != nil {
			return 0, err
		}
		conns = append(conns, ws)
		if err := ws.WriteMessage(websocket.TextMessage, req); err != nil {
			return 0, err
		}
		_, ans, err := ws.ReadMessage()
		if err != nil {
			return 0, err
		}
		if id, _, err := parseAnswer(ans, 0, pongJSON); err != nil || id != 1 {
			return 0, fmt.Errorf("answer %q: %v", ans, err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the servers' goroutines reach their idle state
	after, err := c.ask("mem")
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}

// TestNetVerify runs every scenario briefly against every server, in this process, so that a
// normal test run (with the race detector in CI) checks the servers, the ceiling and the raw
// client's verification.
func TestNetVerify(t *testing.T) {
	targets := hostAll(t, []string{"http", "ws", "ipc"})
	for _, sc := range netScenarios {
		for _, kind := range serverKinds {
			t.Run(sc.name+"/"+kind, func(t *testing.T) {
				ops := int64(2 * sc.conns * sc.inflight)
				l := &load{}
				l.left.Store(ops)
				res, err := runScenario(sc, targets[kind], l, true, func() {})
				if err != nil {
					t.Fatal(err)
				}
				if want := ops * int64(sc.op.callsPerOp()); res.calls != want || int64(len(res.lat)) != ops {
					t.Fatalf("%d calls, %d latencies; want %d, %d", res.calls, len(res.lat), want, ops)
				}
			})
		}
	}
}

// TestParseAnswer checks that the raw client's verification refuses wrong answers.
func TestParseAnswer(t *testing.T) {
	good := []string{
		`{"jsonrpc":"2.0","id":7,"result":"pong"}`,
		` { "id" : 7 , "jsonrpc" : "2.0" , "result" : "pong" } `,
		`{"result":"pong","extra":{"a":[1,"]}"]},"jsonrpc":"2.0","id":7}`,
	}
	for _, s := range good {
		if id, _, err := parseAnswer([]byte(s), 0, pongJSON); err != nil || id != 7 {
			t.Errorf("%s: id %d, %v", s, id, err)
		}
	}
	bad := []string{
		`{"jsonrpc":"2.0","id":7,"result":"pang"}`,
		`{"jsonrpc":"2.0","id":7,"result":"pong2"}`,
		`{"jsonrpc":"2.0","id":"7","result":"pong"}`,
		`{"jsonrpc":"1.0","id":7,"result":"pong"}`,
		`{"jsonrpc":"2.0","result":"pong"}`,
		`{"jsonrpc":"2.0","id":7}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"nope"}}`,
		`{"jsonrpc":"2.0","id":7,"result":"pong"`,
		`["pong"]`,
	}
	for _, s := range bad {
		if _, _, err := parseAnswer([]byte(s), 0, pongJSON); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
	var batch []byte
	batch = append(batch, '[')
	for i := batchSize - 1; i >= 0; i-- {
		batch = fmt.Appendf(batch, `{"jsonrpc":"2.0","id":%d,"result":"pong"},`, 300+i)
	}
	batch[len(batch)-1] = ']'
	if base, err := parseBatchAnswer(batch); err != nil || base != 300 {
		t.Errorf("batch: base %d, %v", base, err)
	}
	dup := strings.Replace(string(batch), `"id":301,`, `"id":302,`, 1)
	if _, err := parseBatchAnswer([]byte(dup)); err == nil {
		t.Error("batch with a repeated id accepted")
	}
	short := strings.Replace(string(batch), `{"jsonrpc":"2.0","id":301,"result":"pong"},`, ``, 1)
	if _, err := parseBatchAnswer([]byte(short)); err == nil {
		t.Error("batch with a missing answer accepted")
	}
	// The ceiling answers what the client expects.
	for _, k := range []opKind{opPing, opBatch, opEcho} {
		req := appendRequest(nil, k, 500)
		ans := ceilingAnswer(nil, req)
		var err error
		if k == opBatch {
			_, err = parseBatchAnswer(ans)
		} else {
			_, _, err = parseAnswer(ans, 0, k.wantResult())
		}
		if err != nil {
			t.Errorf("ceiling answer to op %d: %v", k, err)
		}
	}
}

// --- the ratio report ---

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func targetText(t float64) string {
	if t == 0 {
		return "—"
	}
	return fmt.Sprintf("≥ %.2g", t)
}

// verdict says whether ratio meets target.
func verdict(ratio, target float64) string {
	switch {
	case target == 0:
		return ""
	case ratio >= target:
		return " ✅"
	default:
		return " ❌"
	}
}

// serverTotals adds up one server's runs of a scenario.
type serverTotals struct {
	calls     int64
	elapsed   time.Duration
	serverCPU time.Duration
	clientCPU time.Duration
	lat       []time.Duration
}

func (s *serverTotals) rate() float64 { return float64(s.calls) / s.elapsed.Seconds() }

func (s *serverTotals) perCall(d time.Duration) string {
	if s.calls == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/float64(s.calls))
}

func (s *serverTotals) p99() string {
	if len(s.lat) == 0 {
		return "—"
	}
	slices.Sort(s.lat)
	return fmtDur(s.lat[len(s.lat)*99/100])
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}

// TestNetworkRatios prints the table of calls/s and ratios, measured in one run. It is skipped
// unless POLYRPC_BENCH=1. Each server kind runs in a child process of its own (hosting its
// HTTP, WebSocket and IPC servers); each scenario is run against polyrpc, go-ethereum and the
// ceiling in turn, POLYRPC_BENCH_DURATION each (default 2s), for POLYRPC_BENCH_ROUNDS rounds
// (default 3) whose order rotates (P G C, G C P, C P G), after a warm-up run of each. The
// calls/s of a server is its calls over its time summed over the rounds. POLYRPC_BENCH_RUN, a
// regular expression, selects scenarios by name ("idle-memory" for the memory measurement).
// POLYRPC_BENCH_OUT names a file that receives the table too.
func TestNetworkRatios(t *testing.T) {
	if os.Getenv("POLYRPC_BENCH") != "1" {
		t.Skip("set POLYRPC_BENCH=1 to measure the network ratios (several minutes)")
	}
	dur := envDuration("POLYRPC_BENCH_DURATION", 2*time.Second)
	rounds := envInt("POLYRPC_BENCH_ROUNDS", 3)
	sel := regexp.MustCompile(os.Getenv("POLYRPC_BENCH_RUN"))

	children := map[string]*child{}
	for _, kind := range serverKinds {
		children[kind] = startChild(t, kind, []string{"http", "ws", "ipc"})
	}
	var out strings.Builder
	fmt.Fprintf(&out, "%v × %d rounds per server and scenario; %d CPUs, GOMAXPROCS %d in each process; %s\n\n",
		dur, rounds, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	out.WriteString("| scenario | polyrpc calls/s | geth calls/s | ceiling calls/s | polyrpc/geth (target) | polyrpc/ceiling (target) | geth/ceiling | server CPU µs/call P / G / C | client CPU µs/call P / G / C | p99 P / G / C |\n")
	out.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, sc := range netScenarios {
		if !sel.MatchString(sc.name) {
			continue
		}
		totals := map[string]*serverTotals{}
		for _, kind := range serverKinds {
			totals[kind] = &serverTotals{}
			if _, err := runTimed(sc, &children[kind].target, dur/4, false); err != nil { // warm-up
				t.Fatal(err)
			}
		}
		for r := range rounds {
			for i := range serverKinds {
				kind := serverKinds[(i+r)%len(serverKinds)]
				c := children[kind]
				cpu0, err := c.ask("cpu")
				if err != nil {
					t.Fatal(err)
				}
				res, err := runTimed(sc, &c.target, dur, true)
				if err != nil {
					t.Fatal(err)
				}
				cpu1, err := c.ask("cpu")
				if err != nil {
					t.Fatal(err)
				}
				tt := totals[kind]
				tt.calls += res.calls
				tt.elapsed += res.elapsed
				tt.serverCPU += time.Duration(cpu1-cpu0) * time.Microsecond
				tt.clientCPU += res.clientCPU
				tt.lat = append(tt.lat, res.lat...)
			}
		}
		p, g, c := totals["polyrpc"], totals["geth"], totals["ceiling"]
		pg, pc := p.rate()/g.rate(), p.rate()/c.rate()
		fmt.Fprintf(&out, "| %s | %.0f | %.0f | %.0f | **%.2f** (%s)%s | **%.2f** (%s)%s | %.2f | %s / %s / %s | %s / %s / %s | %s / %s / %s |\n",
			sc.name, p.rate(), g.rate(), c.rate(),
			pg, targetText(sc.vsGeth), verdict(pg, sc.vsGeth),
			pc, targetText(sc.vsCeiling), verdict(pc, sc.vsCeiling),
			g.rate()/c.rate(),
			p.perCall(p.serverCPU), g.perCall(g.serverCPU), c.perCall(c.serverCPU),
			p.perCall(p.clientCPU), g.perCall(g.clientCPU), c.perCall(c.clientCPU),
			p.p99(), g.p99(), c.p99())
		t.Logf("%s done", sc.name)
	}
	subRatios(t, sel, rounds, &out)      // sub/ws, sub/ipc: sub_bench_test.go
	pressureRatios(t, sel, rounds, &out) // pressure: pressure_bench_test.go
	fanoutRatios(t, sel, rounds, &out)   // fanout/ws, fanout/ipc, fanout/latency: fanout_bench_test.go
	if sel.MatchString("idle-memory") {
		mem := map[string]float64{}
		for _, kind := range serverKinds {
			c := startChild(t, kind, []string{"ws"})
			per, err := measureIdleWS(c, idleConns)
			if err != nil {
				t.Fatal(err)
			}
			mem[kind] = per
		}
		p := mem["polyrpc"]
		v := " ✅"
		if p > idleTargetByte {
			v = " ❌"
		}
		fmt.Fprintf(&out, "\nidle WebSocket memory per connection (%d connections, server heap+stack): polyrpc **%.1f kB** (target ≤ %d kB)%s, geth %.1f kB, ceiling %.1f kB\n",
			idleConns, p/1000, idleTargetByte/1000, v, mem["geth"]/1000, mem["ceiling"]/1000)
	}
	fmt.Print("\n" + out.String())
	if name := os.Getenv("POLYRPC_BENCH_OUT"); name != "" {
		if err := os.WriteFile(name, []byte(out.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
