package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/ipc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// This file starts the servers the network benchmarks compare, on HTTP, WebSocket and IPC:
//
//   - polyrpc: rpc.Server with netService as "test", served by httprpc.NewHandler,
//     wsrpc.NewHandler and ipc.Serve, all with their defaults;
//   - geth: go-ethereum's rpc.Server with the same netService, served by Server.ServeHTTP,
//     Server.WebsocketHandler and Server.ServeListener;
//   - ceiling: a raw server on the same transport that copies the request's id into fixed answer
//     bytes and does no JSON-RPC work, the most any JSON-RPC server could reach there.
//
// The HTTP and WebSocket servers of every kind run in a plain net/http.Server (no timeouts) on
// 127.0.0.1; the IPC servers on a unix socket. Servers run in the benchmark's process, or in a
// child process of the test binary (startChild) so that their CPU and memory can be measured
// apart from the client's.

// serverKinds are the servers compared, in the order they are run and printed.
var serverKinds = []string{"polyrpc", "geth", "ceiling"}

// netTarget is where one kind of server listens.
type netTarget struct {
	Kind   string `json:"kind"`
	HTTP   string `json:"http"`   // host:port, path /
	WS     string `json:"ws"`     // host:port, path /
	IPC    string `json:"ipc"`    // socket path
	SubWS  string `json:"subws"`  // the subscription servers (transport "sub"): host:port
	SubIPC string `json:"subipc"` // and socket path, see sub_servers_test.go
	// The push servers (transport "push", push_servers_test.go): calls and subscriptions.
	PushHTTP string `json:"pushhttp"`
	PushWS   string `json:"pushws"`
	PushIPC  string `json:"pushipc"`
	closers  []func()
}

func (t *netTarget) close() {
	for i := len(t.closers) - 1; i >= 0; i-- {
		t.closers[i]()
	}
	t.closers = nil
}

// hostServers starts the servers of one kind on the transports listed (any of "http", "ws",
// "ipc", "sub": the subscription servers on WebSocket and IPC, and "push": the servers of the
// push scenarios). Close them with target.close.
func hostServers(kind string, transports []string) (*netTarget, error) {
	t := &netTarget{Kind: kind}
	var httpH, wsH http.Handler
	var serveIPC func(net.Listener)
	var polySrv *rpc.Server
	switch kind {
	case "polyrpc":
		srv := rpc.NewServer(&rpc.Options{Logger: slog.New(slog.DiscardHandler)})
		if err := srv.Register("test", netService{}); err != nil {
			return nil, err
		}
		polySrv = srv
		t.closers = append(t.closers, srv.Stop)
		httpH, wsH = httprpc.NewHandler(srv, nil), wsrpc.NewHandler(srv, nil)
	case "geth":
		srv := gethrpc.NewServer()
		if err := srv.RegisterName("test", netService{}); err != nil {
			return nil, err
		}
		t.closers = append(t.closers, srv.Stop)
		httpH, wsH = srv, srv.WebsocketHandler([]string{"*"})
		serveIPC = func(ln net.Listener) { srv.ServeListener(ln) }
	case "ceiling":
		cw := &ceilingWS{conns: map[*websocket.Conn]struct{}{}}
		t.closers = append(t.closers, cw.closeAll)
		httpH, wsH = http.HandlerFunc(ceilingHTTP), cw
		ci := &ceilingIPC{conns: map[net.Conn]struct{}{}}
		t.closers = append(t.closers, ci.closeAll)
		serveIPC = ci.serve
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	for _, tr := range transports {
		switch tr {
		case "http", "ws":
			h := httpH
			if tr == "ws" {
				h = wsH
			}
			addr, err := t.listenHTTP(h)
			if err != nil {
				t.close()
				return nil, err
			}
			if tr == "http" {
				t.HTTP = addr
			} else {
				t.WS = addr
			}
		case "sub":
			st, err := hostSubServers(kind)
			if err != nil {
				t.close()
				return nil, err
			}
			t.closers = append(t.closers, st.close)
			t.SubWS, t.SubIPC = st.SubWS, st.SubIPC
		case "push":
			pt, err := hostPushServers(kind)
			if err != nil {
				t.close()
				return nil, err
			}
			t.closers = append(t.closers, pt.close)
			t.PushHTTP, t.PushWS, t.PushIPC = pt.PushHTTP, pt.PushWS, pt.PushIPC
		case "ipc":
			path, err := t.listenIPC(polySrv, serveIPC)
			if err != nil {
				t.close()
				return nil, err
			}
			t.IPC = path
		default:
			t.close()
			return nil, fmt.Errorf("unknown transport %q", tr)
		}
	}
	return t, nil
}

// listenHTTP serves h on a new port of 127.0.0.1 and returns its address.
func (t *netTarget) listenHTTP(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.closers = append(t.closers, func() { hs.Close() })
	return ln.Addr().String(), nil
}

// listenIPC serves polySrv with ipc.Serve, or else serveIPC, on a new unix socket and returns
// its path.
func (t *netTarget) listenIPC(polySrv *rpc.Server, serveIPC func(net.Listener)) (string, error) {
	dir, err := os.MkdirTemp("", "prn")
	if err != nil {
		return "", err
	}
	t.closers = append(t.closers, func() { os.RemoveAll(dir) })
	path := dir + "/" + t.Kind + ".ipc"
	if polySrv != nil {
		ep, err := ipc.Serve(polySrv, path, nil)
		if err != nil {
			return "", err
		}
		t.closers = append(t.closers, func() { ep.Close() })
		return path, nil
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", err
	}
	t.closers = append(t.closers, func() { ln.Close() })
	go serveIPC(ln)
	return path, nil
}

// --- the raw ceiling ---

var (
	idKey      = []byte(`"id":`)
	echoMethod = []byte(`,"method":"test_echoAny"`)
	answerHead = []byte(`{"jsonrpc":"2.0","id":`)
	pongTail   = []byte(`,"result":"pong"}`)
	resultKey  = []byte(`,"result":`)
)

// ceilingAnswer appends the ceiling's answer to req: for each "id": member (one for a single
// request, one per element of a batch), fixed answer bytes with that id spliced in; the result
// is "pong", or the 64 KiB echo document when the request's method (which the benchmark
// client writes right after the id) is test_echoAny. It reads nothing else of the request.
func ceilingAnswer(dst, req []byte) []byte {
	i := 0
	for i < len(req) && (req[i] == ' ' || req[i] == '\n' || req[i] == '\r' || req[i] == '\t') {
		i++
	}
	batch := i < len(req) && req[i] == '['
	if batch {
		dst = append(dst, '[')
	}
	rest := req[i:]
	for n := 0; ; n++ {
		k := bytes.Index(rest, idKey)
		if k < 0 {
			break
		}
		rest = rest[k+len(idKey):]
		e := 0
		for e < len(rest) && rest[e] != ',' && rest[e] != '}' {
			e++
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, answerHead...)
		dst = append(dst, rest[:e]...)
		rest = rest[e:]
		if !batch && bytes.HasPrefix(rest, echoMethod) {
			dst = append(dst, resultKey...)
			dst = append(dst, echoDoc()...)
			dst = append(dst, '}')
		} else {
			dst = append(dst, pongTail...)
		}
		if !batch {
			break
		}
	}
	if batch {
		dst = append(dst, ']')
	}
	return append(dst, '\n')
}

// ceilingBufs holds the ceiling's buffers between requests, so that an idle connection holds
// none.
var ceilingBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func putCeilingBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		*bp = (*bp)[:0]
		ceilingBufs.Put(bp)
	}
}

var jsonContentType = []string{"application/json"}

// ceilingHTTP reads the body and writes the fixed answer with the id spliced in.
func ceilingHTTP(w http.ResponseWriter, r *http.Request) {
	in, out := ceilingBufs.Get().(*[]byte), ceilingBufs.Get().(*[]byte)
	defer putCeilingBuf(in)
	defer putCeilingBuf(out)
	body, err := readAllInto((*in)[:0], r.Body, r.ContentLength)
	*in = body
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	*out = ceilingAnswer((*out)[:0], body)
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(*out))}
	w.Write(*out)
}

// readAllInto appends everything r has to buf, sized by hint when it is known.
func readAllInto(buf []byte, r io.Reader, hint int64) ([]byte, error) {
	if hint > 0 && int64(cap(buf)-len(buf)) < hint+1 {
		nb := make([]byte, len(buf), len(buf)+int(hint)+1)
		copy(nb, buf)
		buf = nb
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// ceilingWS is a gorilla/websocket loop per connection: read a message, write the answer. The
// upgrader has gorilla's defaults (it reuses the hijacked connection's 4 KiB read and write
// buffers), as the simplest gorilla server is written.
type ceilingWS struct {
	up    websocket.Upgrader
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
}

func (c *ceilingWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := c.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.conns[ws] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.conns, ws)
		c.mu.Unlock()
		ws.Close()
	}()
	for {
		_, rd, err := ws.NextReader()
		if err != nil {
			return
		}
		in, out := ceilingBufs.Get().(*[]byte), ceilingBufs.Get().(*[]byte)
		*in, err = readAllInto((*in)[:0], rd, 0)
		if err == nil {
			*out = ceilingAnswer((*out)[:0], *in)
			err = ws.WriteMessage(websocket.TextMessage, *out)
		}
		putCeilingBuf(in)
		putCeilingBuf(out)
		if err != nil {
			return
		}
	}
}

func (c *ceilingWS) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ws := range c.conns {
		ws.Close()
	}
}

// ceilingIPC reads newline-terminated requests from each unix socket connection and writes the
// answers through a buffered writer, flushed whenever no further request is already buffered
// (so a burst of requests costs one write).
type ceilingIPC struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (c *ceilingIPC) serve(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns[nc] = struct{}{}
		c.mu.Unlock()
		go c.serveConn(nc)
	}
}

func (c *ceilingIPC) serveConn(nc net.Conn) {
	defer func() {
		c.mu.Lock()
		delete(c.conns, nc)
		c.mu.Unlock()
		nc.Close()
	}()
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10)
	var scratch, out []byte
	for {
		line, err := readLine(br, &scratch)
		if err != nil {
			return
		}
		out = ceilingAnswer(out[:0], line)
		if _, err := bw.Write(out); err != nil {
			return
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

func (c *ceilingIPC) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for nc := range c.conns {
		nc.Close()
	}
}

// readLine returns the next line of br, '\n' included, using *scratch for lines longer than
// br's buffer. The line is valid until the next read.
func readLine(br *bufio.Reader, scratch *[]byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	s := append((*scratch)[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = br.ReadSlice('\n')
		s = append(s, line...)
	}
	*scratch = s
	return s, err
}

// --- servers in a child process ---

// childEnv, when set in the environment of the test binary, makes TestNetServerChild host
// the servers of one kind: "KIND TRANSPORT,TRANSPORT…".
const childEnv = "POLYRPC_BENCH_CHILD"

// profileEnv names a directory where each child process writes the CPU profile of its whole
// life, cpu-KIND-TRANSPORTS.prof: the servers' side alone, which an in-process benchmark's
// profile mixes with the client's.
const profileEnv = "POLYRPC_BENCH_PROFILE"

// TestNetServerChild is the entry point of a child process started by startChild; it skips in
// a normal run. It hosts the servers, prints their addresses as one JSON line and answers
// commands on stdin, one per line, until stdin ends: "cpu" prints the process's user+system
// CPU time in microseconds, "mem" prints HeapInuse+StackInuse after two garbage collections,
// "goroutines" the number of goroutines, "mallocs" the heap allocations made so far
// (runtime.MemStats.Mallocs), "gc" runs a collection and prints 0, "sched99" prints the 99th
// percentile of the goroutines' scheduling latencies so far and "gcpause99" that of the
// collector's stop-the-world pauses, in microseconds, and "numgc" the collections so far.
func TestNetServerChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("only runs as the child process of the network benchmarks")
	}
	kind, trs, _ := strings.Cut(spec, " ")
	target, err := hostServers(kind, strings.Split(trs, ","))
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		return
	}
	defer target.close()
	if dir := os.Getenv(profileEnv); dir != "" {
		name := filepath.Join(dir, "cpu-"+kind+"-"+strings.ReplaceAll(trs, ",", "+")+".prof")
		f, err := os.Create(name)
		if err != nil {
			fmt.Printf("ERR %v\n", err)
			return
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Printf("ERR %v\n", err)
			return
		}
		defer pprof.StopCPUProfile()
	}
	line, _ := json.Marshal(target)
	fmt.Printf("ADDR %s\n", line)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "cpu":
			fmt.Println(processCPU().Microseconds())
		case "mem":
			fmt.Println(heapAndStack())
		case "goroutines":
			fmt.Println(runtime.NumGoroutine())
		case "mallocs":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Println(ms.Mallocs)
		case "gc":
			runtime.GC()
			fmt.Println(0)
		case "sched99":
			fmt.Println(schedLatency(0.99).Microseconds())
		case "numgc":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Println(ms.NumGC)
		case "gcpause99":
			fmt.Println(histQuantile("/sched/pauses/total/gc:seconds", 0.99).Microseconds())
		default:
			fmt.Println("unknown command")
		}
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapAndStack returns HeapInuse+StackInuse after two collections (the second one also frees
// what sync.Pools kept through the first).
func heapAndStack() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// child is a server process started by startChild.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	target netTarget
	once   sync.Once
}

// stop ends the child: it stops its servers and exits when its stdin closes (it is killed if
// it has not within 10 s). It is idempotent; startChild's cleanup calls it.
func (c *child) stop() {
	c.once.Do(func() {
		c.in.Close()
		done := make(chan struct{})
		go func() {
			io.Copy(io.Discard, c.out)
			c.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	})
}

// startChild runs the test binary again as TestNetServerChild hosting the servers of kind on
// transports, and waits for their addresses. The child ends when tb's test ends.
func startChild(tb testing.TB, kind string, transports []string) *child {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestNetServerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+kind+" "+strings.Join(transports, ","))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	tb.Cleanup(c.stop)
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			tb.Fatalf("child %s: %v", kind, err)
		}
		if rest, ok := strings.CutPrefix(line, "ADDR "); ok {
			if err := json.Unmarshal([]byte(rest), &c.target); err != nil {
				tb.Fatal(err)
			}
			return c
		}
		if rest, ok := strings.CutPrefix(line, "ERR "); ok {
			tb.Fatalf("child %s: %s", kind, rest)
		}
	}
}

// ask sends a command and returns the number the child answers.
func (c *child) ask(cmd string) (int64, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return 0, err
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return 0, errors.New("child answered " + strings.TrimSpace(line))
	}
	return n, nil
}
