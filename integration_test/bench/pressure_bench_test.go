package bench

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The push pressure scenario (issue 18, "calls stay responsive while the server pushes at full
// speed"): pressureStreams connections, half WebSocket and half IPC, each streaming a ticks
// subscription (nftest_subscribe ["ticks", 10^15, 0]) as fast as it reads it; meanwhile a
// test_ping every 10 ms on each transport (HTTP, WebSocket, IPC: a connection of its own
// each, one call in flight), and a fresh connection every 25 ms (WebSocket and IPC in turn)
// that subscribes to ticks and closes once answered. It measures the calls' latency
// percentiles, the subscribe answers' (from the request to its answer; connecting is
// reported apart), the notifications the streams received per second, and the server's
// resident memory growth (VmRSS polled every 50 ms, from before the streams were opened) and
// CPU per notification.
//
//   - TestNetworkRatios's scenario "pressure" (pressureRatios): polyrpc and go-ethereum, each
//     in a fresh child process per run, rounds alternating P G, G P.
//   - BenchmarkPushPressure: one run per server, the same figures as benchmark metrics.
//   - TestPressureVerify: a few streams for a moment against both, in this process, in every
//     go test.
//
// The streams' reader is the raw client of sub_bench_test.go (WebSocket frames, IPC lines),
// counting messages without checking them; the calls are checked as in the network benchmarks.

const (
	pressureStreams   = 400
	pressurePingEvery = 10 * time.Millisecond
	pressureSubEvery  = 25 * time.Millisecond
	pressureTicks     = 1_000_000_000_000_000 // notifications per subscription: more than a run reads
)

// The targets under that load.
const (
	pressureCallP99 = 100 * time.Millisecond
	pressureSubP99  = 200 * time.Millisecond
	pressureRSSMax  = 256 << 20
)

// pressureLoad is one run's shape.
type pressureLoad struct {
	streams  int           // half WebSocket, half IPC
	duration time.Duration // the measured window, after every stream has begun
}

// pressureRun is what one run measured.
type pressureRun struct {
	ping       map[string][]time.Duration // by transport: http, ws, ipc
	subscribe  []time.Duration            // request to answer, fresh connections
	connect    []time.Duration            // dial (and WebSocket handshake) of those connections
	notifs     int64                      // received by the streams during the window
	window     time.Duration
	serverCPU  time.Duration // during the window (children only)
	rssBase    int64         // the server's VmRSS before the streams (children only)
	rssPeak    int64         // the largest VmRSS polled during the run
	schedP99   time.Duration // the server's scheduling latency p99 (runtime/metrics; children only)
	gcPauseP99 time.Duration // its collector's stop-the-world pauses' p99 (children only)
	gcs        int64         // its collections during the window (children only)
	goroutines int64         // the server's goroutines at the end of the window (children only)
}

var ticksSubscribe = []byte(`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",` +
	strconv.Itoa(pressureTicks) + `,0]}` + "\n")

// streamConn is a connection that has subscribed and counts the messages it reads.
type streamConn interface {
	Close() error
}

// openStream dials t's push server on transport ("ws" or "ipc"), subscribes to ticks and
// returns once the subscription is answered, reading on in a goroutine that adds the messages
// it reads to count until the connection is closed; done is called when that goroutine ends.
func openStream(t *netTarget, transport string, count *atomic.Int64, done func()) (streamConn, error) {
	if transport == "ws" {
		c, err := dialWSFrames(t.PushWS)
		if err != nil {
			return nil, err
		}
		if err := subscribeTicks(c); err != nil {
			c.Close()
			return nil, err
		}
		go func() {
			defer done()
			for {
				if _, err := c.recv(); err != nil {
					return
				}
				count.Add(1)
			}
		}()
		return c, nil
	}
	nc, err := net.Dial("unix", t.PushIPC)
	if err != nil {
		return nil, err
	}
	c := &ipcRaw{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
	if err := subscribeTicks(c); err != nil {
		nc.Close()
		return nil, err
	}
	go func() {
		defer done()
		buf := make([]byte, 64<<10)
		for {
			// Count lines as they come: whole messages end with the newline, and a read
			// cut inside one counts it with the read that ends it.
			n, err := c.br.Read(buf)
			count.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
			if err != nil {
				return
			}
		}
	}()
	return nc, nil
}

// subscriber is what subscribeTicks needs of a raw connection.
type subscriber interface {
	send(req []byte) error
	flush() error
	recv() ([]byte, error)
}

// exchange sends req on c and returns the next message.
func exchange(c subscriber, req []byte) ([]byte, error) {
	if err := c.send(req); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c.recv()
}

// subscribeTicks sends the ticks subscription request and waits for its answer (a subscription
// id), which must come before any notification.
func subscribeTicks(c subscriber) error {
	ans, err := exchange(c, ticksSubscribe)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(ans, []byte(`{"jsonrpc":"2.0","id":1,"result":"0x`)) {
		return fmt.Errorf("subscribe answered %.200q", ans)
	}
	return nil
}

// pinger calls test_ping every pressurePingEvery on a connection of its own (one call in
// flight; when a call takes longer than the period, the next one goes at once) until stop is
// closed, and returns the calls' latencies.
func pinger(c rawConn, stop <-chan struct{}) ([]time.Duration, error) {
	var lat []time.Duration
	var req []byte
	next := time.Now()
	for id := uint64(1); ; id++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-stop:
				return lat, nil
			case <-time.After(d):
			}
		} else {
			select {
			case <-stop:
				return lat, nil
			default:
			}
			next = time.Now()
		}
		next = next.Add(pressurePingEvery)
		req = appendRequest(req[:0], opPing, id)
		start := time.Now()
		if err := c.send(req); err != nil {
			return lat, err
		}
		if err := c.flush(); err != nil {
			return lat, err
		}
		ans, err := c.recv()
		if err != nil {
			return lat, err
		}
		lat = append(lat, time.Since(start))
		if got, _, err := parseAnswer(ans, 0, pongJSON); err != nil || got != id {
			return lat, fmt.Errorf("ping %d answered %.200q (%v)", id, ans, err)
		}
	}
}

// freshSubscribers opens a connection every pressureSubEvery (WebSocket and IPC in turn) until
// stop is closed, subscribes to ticks on it and closes it once answered; it returns how long
// connecting and the subscribe answers took.
func freshSubscribers(t *netTarget, stop <-chan struct{}) (connect, answer []time.Duration, err error) {
	tick := time.NewTicker(pressureSubEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return connect, answer, nil
		case <-tick.C:
		}
		start := time.Now()
		var c interface {
			subscriber
			Close() error
		}
		if i%2 == 0 {
			c, err = dialWSFrames(t.PushWS)
		} else {
			var nc net.Conn
			if nc, err = net.Dial("unix", t.PushIPC); err == nil {
				c = &ipcRaw{nc: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
			}
		}
		if err != nil {
			return connect, answer, err
		}
		connected := time.Now()
		err = subscribeTicks(c)
		answered := time.Now()
		c.Close()
		if err != nil {
			return connect, answer, err
		}
		connect = append(connect, connected.Sub(start))
		answer = append(answer, answered.Sub(connected))
	}
}

// rssOf returns the resident set size of process pid (Linux).
func rssOf(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// sampleRSSOf polls the resident set size of process pid every 50 ms until the function it
// returns is called, which returns the first value polled and the largest.
func sampleRSSOf(pid int) (func() (base, peak int64), error) {
	base, err := rssOf(pid)
	if err != nil {
		return nil, err
	}
	peak := base
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if v, err := rssOf(pid); err == nil {
				peak = max(peak, v)
			}
		}
	}()
	return func() (int64, int64) {
		close(stop)
		<-done
		return base, peak
	}, nil
}

// runPressure runs the scenario against t, a push server; c, if not nil, is its child process
// (for its memory, CPU and scheduling figures).
func runPressure(t *netTarget, c *child, l pressureLoad) (r pressureRun, err error) {
	r = pressureRun{ping: map[string][]time.Duration{}}
	if c != nil {
		peak, err := sampleRSSOf(c.cmd.Process.Pid)
		if err != nil {
			return r, err
		}
		defer func() { r.rssBase, r.rssPeak = peak() }() // r is the named result
	}

	// The streams, opened a few at a time.
	var count atomic.Int64
	var readers sync.WaitGroup
	streams := make([]streamConn, 0, l.streams)
	defer func() {
		for _, s := range streams {
			s.Close()
		}
		readers.Wait()
	}()
	var mu sync.Mutex
	var openErr error
	var opening sync.WaitGroup
	const openers = 32 // a subscription answered in seconds (go-ethereum under this load) slows the opening
	for w := range openers {
		opening.Go(func() {
			for i := w; i < l.streams; i += openers {
				tr := "ws"
				if i%2 == 1 {
					tr = "ipc"
				}
				readers.Add(1)
				s, err := openStream(t, tr, &count, readers.Done)
				mu.Lock()
				if err != nil {
					readers.Done()
					openErr = err
				} else {
					streams = append(streams, s)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	opening.Wait()
	if openErr != nil {
		return r, fmt.Errorf("opening the streams: %w", openErr)
	}
	time.Sleep(500 * time.Millisecond) // every stream flowing

	// The window: pingers and fresh subscribers.
	pt := pushTarget(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, tr := range []string{"http", "ws", "ipc"} {
		pc, err := dialRaw(pt, tr)
		if err != nil {
			return r, err
		}
		defer pc.Close()
		wg.Go(func() {
			lat, err := pinger(pc, stop)
			mu.Lock()
			r.ping[tr] = lat
			mu.Unlock()
			if err != nil {
				errs <- fmt.Errorf("ping over %s: %w", tr, err)
			}
		})
	}
	wg.Go(func() {
		connect, answer, err := freshSubscribers(t, stop)
		mu.Lock()
		r.connect, r.subscribe = connect, answer
		mu.Unlock()
		if err != nil {
			errs <- fmt.Errorf("fresh subscriber: %w", err)
		}
	})
	var cpu0, gc0 int64
	if c != nil {
		var err error
		if cpu0, err = c.ask("cpu"); err != nil {
			return r, err
		}
		if gc0, err = c.ask("numgc"); err != nil {
			return r, err
		}
	}
	n0, start := count.Load(), time.Now()
	select {
	case <-time.After(l.duration):
	case err := <-errs:
		close(stop)
		wg.Wait()
		return r, err
	}
	r.notifs, r.window = count.Load()-n0, time.Since(start)
	if c != nil {
		cpu1, err := c.ask("cpu")
		if err != nil {
			return r, err
		}
		r.serverCPU = time.Duration(cpu1-cpu0) * time.Microsecond
		sched, err := c.ask("sched99")
		if err != nil {
			return r, err
		}
		r.schedP99 = time.Duration(sched) * time.Microsecond
		pause, err := c.ask("gcpause99")
		if err != nil {
			return r, err
		}
		r.gcPauseP99 = time.Duration(pause) * time.Microsecond
		gc1, err := c.ask("numgc")
		if err != nil {
			return r, err
		}
		r.gcs = gc1 - gc0
		if r.goroutines, err = c.ask("goroutines"); err != nil {
			return r, err
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		return r, err
	default:
	}
	return r, nil
}

// quantile returns the q-quantile of ds (sorting it).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*q))]
}

// schedLatency returns the q-quantile of the runtime's scheduling latencies so far: how long
// goroutines waited in a run queue before running.
func schedLatency(q float64) time.Duration { return histQuantile("/sched/latencies:seconds", q) }

// histQuantile returns the q-quantile (the upper bound of its bucket) of a runtime/metrics
// histogram of seconds.
func histQuantile(name string, q float64) time.Duration {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	want := uint64(float64(total) * q)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen > want {
			return time.Duration(h.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// TestPressureVerify runs the scenario briefly, with a few streams, against polyrpc and
// go-ethereum in this process, so that every test run checks the servers and the client.
func TestPressureVerify(t *testing.T) {
	for _, kind := range []string{"polyrpc", "geth"} {
		t.Run(kind, func(t *testing.T) {
			target, err := hostPushServers(kind)
			if err != nil {
				t.Fatal(err)
			}
			defer target.close()
			r, err := runPressure(target, nil, pressureLoad{streams: 6, duration: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range []string{"http", "ws", "ipc"} {
				if len(r.ping[tr]) == 0 {
					t.Errorf("no ping answered over %s", tr)
				}
			}
			if len(r.subscribe) == 0 || r.notifs == 0 {
				t.Errorf("%d fresh subscriptions answered, %d notifications streamed", len(r.subscribe), r.notifs)
			}
		})
	}
}

// pressureCache keeps BenchmarkPushPressure's run per server kind: one run per process,
// whatever b.N.
var pressureCache sync.Map

// BenchmarkPushPressure runs the pressure scenario once per server (polyrpc, geth), each in a
// child process, and reports the calls' p99 latency (the worst transport's), the subscribe
// answers' p99, the notifications per second and the server's RSS growth. It ignores b.N. Under
// -short or -benchtime 1x (CI) it runs 40 streams for a second.
func BenchmarkPushPressure(b *testing.B) {
	l := pressureLoad{streams: pressureStreams, duration: 10 * time.Second}
	if f := flag.Lookup("test.benchtime"); testing.Short() || (f != nil && f.Value.String() == "1x") {
		l = pressureLoad{streams: 40, duration: time.Second}
	}
	for _, kind := range []string{"polyrpc", "geth"} {
		b.Run(kind, func(b *testing.B) {
			v, ok := pressureCache.Load(kind)
			if !ok {
				c := startChild(b, kind, []string{"push"})
				r, err := runPressure(&c.target, c, l)
				c.stop()
				if err != nil {
					b.Fatal(err)
				}
				v = r
				pressureCache.Store(kind, r)
			}
			r := v.(pressureRun)
			worst := max(quantile(r.ping["http"], 0.99), quantile(r.ping["ws"], 0.99), quantile(r.ping["ipc"], 0.99))
			b.ReportMetric(ms(worst), "call-p99-ms")
			b.ReportMetric(ms(quantile(r.subscribe, 0.99)), "subscribe-p99-ms")
			b.ReportMetric(float64(r.notifs)/r.window.Seconds(), "notifs/s")
			b.ReportMetric(float64(r.rssPeak-r.rssBase)/(1<<20), "rss-growth-MiB")
		})
	}
}

// pressureTotals adds up one server's runs.
type pressureTotals struct {
	runs []pressureRun
}

func (p *pressureTotals) all(f func(r *pressureRun) []time.Duration) []time.Duration {
	var out []time.Duration
	for i := range p.runs {
		out = append(out, f(&p.runs[i])...)
	}
	return out
}

// spread formats the smallest and largest of f over the runs.
func (p *pressureTotals) spread(f func(r *pressureRun) float64, format string) string {
	lo, hi := f(&p.runs[0]), f(&p.runs[0])
	for i := range p.runs {
		lo, hi = min(lo, f(&p.runs[i])), max(hi, f(&p.runs[i]))
	}
	if fmt.Sprintf(format, lo) == fmt.Sprintf(format, hi) {
		return fmt.Sprintf(format, lo)
	}
	return fmt.Sprintf(format+"–"+format, lo, hi)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// atMost is verdict for a target that is a ceiling: whether v is at most target.
func atMost(v, target float64) string {
	if v <= target {
		return " ✅"
	}
	return " ❌"
}

// rssMark is the verdict on the largest RSS growth of polyrpc's runs.
func rssMark(kind string, p *pressureTotals) string {
	if kind != "polyrpc" {
		return ""
	}
	var most int64
	for _, r := range p.runs {
		most = max(most, r.rssPeak-r.rssBase)
	}
	return atMost(float64(most), pressureRSSMax)
}

// pressureRatios runs the pressure scenario for TestNetworkRatios when sel matches "pressure":
// POLYRPC_BENCH_PRESSURE_DURATION (default 10s) per run, rounds runs per server alternating
// (P G, G P, …), each in a fresh child process. POLYRPC_BENCH_PRESSURE_STREAMS changes the
// number of streams, POLYRPC_BENCH_PRESSURE_KINDS the servers (default polyrpc,geth). It
// appends its table to out.
func pressureRatios(t *testing.T, sel *regexp.Regexp, rounds int, out *strings.Builder) {
	if !sel.MatchString("pressure") {
		return
	}
	l := pressureLoad{streams: envInt("POLYRPC_BENCH_PRESSURE_STREAMS", pressureStreams),
		duration: envDuration("POLYRPC_BENCH_PRESSURE_DURATION", 10*time.Second)}
	kinds := []string{"polyrpc", "geth"}
	if k := os.Getenv("POLYRPC_BENCH_PRESSURE_KINDS"); k != "" {
		kinds = strings.Split(k, ",")
	}
	totals := map[string]*pressureTotals{}
	for r := range rounds {
		for i := range kinds {
			kind := kinds[(i+r)%len(kinds)]
			c := startChild(t, kind, []string{"push"})
			res, err := runPressure(&c.target, c, l)
			if err != nil {
				t.Fatalf("pressure, %s: %v", kind, err)
			}
			if totals[kind] == nil {
				totals[kind] = &pressureTotals{}
			}
			totals[kind].runs = append(totals[kind].runs, res)
			t.Logf("pressure %s round %d: ping p99 http %v ws %v ipc %v, subscribe p99 %v, %.0f notifs/s, RSS +%d MiB",
				kind, r, quantile(res.ping["http"], 0.99), quantile(res.ping["ws"], 0.99), quantile(res.ping["ipc"], 0.99),
				quantile(res.subscribe, 0.99), float64(res.notifs)/res.window.Seconds(), (res.rssPeak-res.rssBase)>>20)
			c.stop()
		}
	}
	fmt.Fprintf(out, "\npush pressure: %d streams (half WebSocket, half IPC) of ticks, test_ping every %v per transport, a fresh subscriber every %v; %v per run, %d runs per server in fresh child processes; figures over all runs (percentiles) or their range\n\n",
		l.streams, pressurePingEvery, pressureSubEvery, l.duration, rounds)
	out.WriteString("| server | call p50 / p99 HTTP (ms) | WebSocket | IPC | subscribe answer p50 / p99 (ms) | connect p99 (ms) | notifs/s | server CPU ns/notif | RSS growth (MiB) | sched latency p99 (ms) | GCs/s, pause p99 (ms) | goroutines |\n")
	out.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, kind := range kinds {
		p := totals[kind]
		if p == nil {
			continue
		}
		col := func(f func(r *pressureRun) []time.Duration) string {
			all := p.all(f)
			return fmt.Sprintf("%.1f / %.1f", ms(quantile(all, 0.5)), ms(quantile(all, 0.99)))
		}
		mark := func(f func(r *pressureRun) []time.Duration, target time.Duration) string {
			if kind != "polyrpc" {
				return ""
			}
			return atMost(float64(quantile(p.all(f), 0.99)), float64(target))
		}
		ping := func(tr string) func(r *pressureRun) []time.Duration {
			return func(r *pressureRun) []time.Duration { return r.ping[tr] }
		}
		subs := func(r *pressureRun) []time.Duration { return r.subscribe }
		fmt.Fprintf(out, "| %s | %s%s | %s%s | %s%s | %s%s | %.1f | %s | %s | %s | %s | %s, %s | %s |\n", kind,
			col(ping("http")), mark(ping("http"), pressureCallP99),
			col(ping("ws")), mark(ping("ws"), pressureCallP99),
			col(ping("ipc")), mark(ping("ipc"), pressureCallP99),
			col(subs), mark(subs, pressureSubP99),
			ms(quantile(p.all(func(r *pressureRun) []time.Duration { return r.connect }), 0.99)),
			p.spread(func(r *pressureRun) float64 { return float64(r.notifs) / r.window.Seconds() }, "%.0f"),
			p.spread(func(r *pressureRun) float64 { return float64(r.serverCPU.Nanoseconds()) / float64(max(r.notifs, 1)) }, "%.0f"),
			p.spread(func(r *pressureRun) float64 { return float64(r.rssPeak-r.rssBase) / (1 << 20) }, "%.0f")+rssMark(kind, p),
			p.spread(func(r *pressureRun) float64 { return ms(r.schedP99) }, "%.1f"),
			p.spread(func(r *pressureRun) float64 { return float64(r.gcs) / r.window.Seconds() }, "%.0f"),
			p.spread(func(r *pressureRun) float64 { return ms(r.gcPauseP99) }, "%.1f"),
			p.spread(func(r *pressureRun) float64 { return float64(r.goroutines) }, "%.0f"))
	}
	out.WriteString("\ntargets (polyrpc): calls p99 ≤ 100 ms on every transport, subscribe answers p99 ≤ 200 ms, RSS growth ≤ 256 MiB, notifs/s within 20 % of before\n")
	t.Log("pressure done")
}
