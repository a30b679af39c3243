package integration_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestPushPressure is the acceptance test of "calls stay responsive while the server pushes at
// full speed" (issue 18) against the binary: 400 connections, half WebSocket and half IPC, each
// streaming the reference service's ticks subscription as fast as it reads it; meanwhile a
// small call every 10 ms on each transport (HTTP, WebSocket, IPC: a connection of its own,
// one call in flight) and a fresh connection every 25 ms (WebSocket and IPC in turn) that
// subscribes and closes once answered. Calls must be answered within 100 ms at the 99th
// percentile on every transport, subscriptions within 200 ms, and the server's resident
// memory may grow by at most 256 MiB (the default budget for queued notifications). The
// benchmark of the same scenario, with go-ethereum's figures, is integration_test/bench's
// "pressure".
//
// The latencies are the server's and this machine's: when they are missed, the test measures
// once more on a fresh server (CI runs other packages' tests beside this one) and fails if
// they are missed again.
func TestPushPressure(t *testing.T) {
	needProc(t)
	if testing.Short() {
		t.Skip("-short: 400 streams for 8 s")
	}
	for attempt := 1; ; attempt++ {
		missed := measurePushPressure(t)
		if len(missed) == 0 {
			return
		}
		if attempt == 2 {
			for _, m := range missed {
				t.Error(m)
			}
			return
		}
		t.Logf("missed (measuring once more on a fresh server): %s", strings.Join(missed, "; "))
	}
}

// measurePushPressure runs TestPushPressure's load once and returns the latency targets it
// missed; other failures fail t.
func measurePushPressure(t *testing.T) (missed []string) {
	const (
		streams   = 400
		window    = 8 * time.Second
		pingEvery = 10 * time.Millisecond
		subEvery  = 25 * time.Millisecond
		callP99   = 100 * time.Millisecond
		subP99    = 200 * time.Millisecond
		maxGrowth = 256 * miB
	)
	s := startServer(t)
	defer s.stop(t) // before a second attempt's server starts
	baseline, err := rss(s.PID)
	if err != nil {
		t.Fatal(err)
	}
	sampler := sampleRSS(s.PID)

	// The streams: the subscription answered, then the bytes counted as they come.
	var streamed atomic.Int64
	var readers sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		readers.Wait()
	}()
	var opening sync.WaitGroup
	openErrs := make(chan error, streams)
	openBy := time.Now().Add(10 * time.Second) // bounds the test when subscribing is slow
	for w := range 8 {
		opening.Go(func() {
			for i := w; i < streams; i += 8 {
				nc, rest, _, err := openTicks(s, i%2 == 0, openBy)
				if err != nil {
					openErrs <- err
					return
				}
				mu.Lock()
				conns = append(conns, nc)
				mu.Unlock()
				readers.Go(func() {
					streamed.Add(int64(len(rest)))
					discard(nc, &streamed)
				})
			}
		})
	}
	opening.Wait()
	select {
	case err := <-openErrs:
		t.Fatalf("opening the streams: %v", err)
	default:
	}
	time.Sleep(500 * time.Millisecond)

	// The window: calls on each transport and fresh subscribers.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	lat := map[string][]time.Duration{}
	var subLat []time.Duration
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	calls := map[string]func(i int) error{
		"HTTP":      httpCaller(s),
		"WebSocket": wsCaller(t, s),
		"IPC":       ipcCaller(t, s),
	}
	for name, call := range calls {
		wg.Go(func() {
			var l []time.Duration
			next := time.Now()
			for i := 1; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					lat[name] = l
					mu.Unlock()
					return
				case <-time.After(time.Until(next)):
				}
				if next = next.Add(pingEvery); next.Before(time.Now()) {
					next = time.Now() // late: the next call goes at once
				}
				start := time.Now()
				if err := call(i); err != nil {
					fail("%s call %d: %v", name, i, err)
				}
				l = append(l, time.Since(start))
			}
		})
	}
	wg.Go(func() {
		tick := time.NewTicker(subEvery)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			nc, _, d, err := openTicks(s, i%2 == 0, time.Now().Add(5*time.Second))
			if err != nil {
				fail("fresh subscriber %d: %v", i, err)
				continue
			}
			nc.Close()
			mu.Lock()
			subLat = append(subLat, d)
			mu.Unlock()
		}
	})
	b0, start := streamed.Load(), time.Now()
	time.Sleep(window)
	bytesPerSec := float64(streamed.Load()-b0) / time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	polled, hwm, samples, err := sampler.peak()
	if err != nil {
		t.Fatal(err)
	}
	peak := max(polled, hwm)

	t.Logf("%d streams: %.0f MiB/s of notifications; server RSS baseline %s, peak %s (%d samples)", streams, bytesPerSec/miB, mib(baseline), mib(peak), samples)
	for _, f := range failures[:min(len(failures), 5)] {
		t.Error(f)
	}
	check := func(what string, l []time.Duration, limit time.Duration) {
		if len(l) == 0 {
			t.Errorf("%s: nothing measured", what)
			return
		}
		slices.Sort(l)
		p50, p99 := l[len(l)/2], l[len(l)*99/100]
		t.Logf("%s: %d, p50 %v, p99 %v, max %v", what, len(l), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), l[len(l)-1].Round(time.Millisecond))
		if p99 > limit {
			missed = append(missed, fmt.Sprintf("%s: p99 %v, want at most %v", what, p99.Round(time.Millisecond), limit))
		}
	}
	for _, name := range []string{"HTTP", "WebSocket", "IPC"} {
		check("calls over "+name, lat[name], callP99)
	}
	mu.Lock()
	check("subscribe answers on fresh connections", subLat, subP99)
	mu.Unlock()
	if peak-baseline > maxGrowth {
		t.Errorf("server RSS grew by %s, want at most %s", mib(peak-baseline), mib(maxGrowth))
	}
	return missed
}

var ticksRequest = []byte(`{"jsonrpc":"2.0","id":1,"method":"nftest_subscribe","params":["ticks",1000000000000000,0]}`)

// openTicks opens a WebSocket (ws) or IPC connection, subscribes to ticks and returns the raw
// connection once the subscription is answered (by the deadline), with what was read after
// the answer and the time from the request to its answer.
func openTicks(s *server, ws bool, deadline time.Time) (nc net.Conn, rest []byte, answered time.Duration, err error) {
	var rd *bufio.Reader
	var start time.Time
	if ws {
		c, err := net.Dial("tcp", strings.TrimPrefix(s.WS, "ws://"))
		if err != nil {
			return nil, nil, 0, err
		}
		nc, rd = c, bufio.NewReaderSize(c, 4*kiB)
		c.SetDeadline(deadline)
		hs := "GET / HTTP/1.1\r\nHost: " + strings.TrimPrefix(s.WS, "ws://") + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		if _, err := io.WriteString(c, hs); err != nil {
			c.Close()
			return nil, nil, 0, err
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			c.Close()
			return nil, nil, 0, fmt.Errorf("WebSocket handshake: %v %v", resp, err)
		}
		start = time.Now()
		if _, err := c.Write(wsFrame(ticksRequest)); err != nil {
			c.Close()
			return nil, nil, 0, err
		}
		// The answer is the first frame: a short unmasked text frame.
		h := make([]byte, 2)
		if _, err := io.ReadFull(rd, h); err != nil || h[0] != 0x81 || h[1] >= 126 {
			c.Close()
			return nil, nil, 0, fmt.Errorf("subscribe answer frame % x (%v)", h, err)
		}
		ans := make([]byte, h[1])
		if _, err := io.ReadFull(rd, ans); err != nil || !bytes.HasPrefix(ans, []byte(`{"jsonrpc":"2.0","id":1,"result":"0x`)) {
			c.Close()
			return nil, nil, 0, fmt.Errorf("subscribe answered %q (%v)", ans, err)
		}
	} else {
		c, err := net.Dial("unix", s.IPC)
		if err != nil {
			return nil, nil, 0, err
		}
		nc, rd = c, bufio.NewReaderSize(c, 4*kiB)
		c.SetDeadline(deadline)
		start = time.Now()
		if _, err := c.Write(append(bytes.Clone(ticksRequest), '\n')); err != nil {
			c.Close()
			return nil, nil, 0, err
		}
		ans, err := rd.ReadBytes('\n')
		if err != nil || !bytes.HasPrefix(ans, []byte(`{"jsonrpc":"2.0","id":1,"result":"0x`)) {
			c.Close()
			return nil, nil, 0, fmt.Errorf("subscribe answered %q (%v)", ans, err)
		}
	}
	answered = time.Since(start)
	nc.SetDeadline(time.Time{})
	rest, _ = rd.Peek(rd.Buffered())
	return nc, bytes.Clone(rest), answered, nil
}

// addCall is test_add(i, 1) with id i, and its answer.
func addCall(i int) (string, string) {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_add","params":[%d,1]}`, i, i),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%d}`, i, i+1)
}

func httpCaller(s *server) func(i int) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	return func(i int) error {
		req, want := addCall(i)
		resp, err := client.Post(s.HTTP, "application/json", strings.NewReader(req))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && string(bytes.TrimSpace(body)) != want {
			err = fmt.Errorf("%s: %q, want %s", resp.Status, body, want)
		}
		return err
	}
}

func wsCaller(t *testing.T, s *server) func(i int) error {
	w := dialWS(t, s.WS)
	return func(i int) error { return exchange(w, i) }
}

func ipcCaller(t *testing.T, s *server) func(i int) error {
	c := s.dialIPC(t)
	t.Cleanup(func() { c.Close() })
	w := &lineWire{c: c, r: bufio.NewReader(c)}
	return func(i int) error { return exchange(w, i) }
}

// exchange makes the call i on a wire and checks its answer.
func exchange(w interface {
	Send([]byte) error
	Recv(time.Duration) ([]byte, error)
}, i int) error {
	req, want := addCall(i)
	if err := w.Send([]byte(req)); err != nil {
		return err
	}
	ans, err := w.Recv(10 * time.Second)
	if err == nil && string(ans) != want {
		err = fmt.Errorf("answer %q, want %s", ans, want)
	}
	return err
}

// discard reads nc until it fails, adding the bytes read to n. It reads with the read system
// call itself, under the runtime's poller, rather than with nc.Read: under the race detector
// every nc.Read also marks the bytes it filled in the detector's shadow memory, which at
// hundreds of MiB/s made this process, not the server, the bottleneck of the calls it times.
func discard(nc net.Conn, n *atomic.Int64) {
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64*kiB)
	for {
		var got uintptr
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			got, _, errno = syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			return errno != syscall.EAGAIN
		})
		if err != nil || errno != 0 || got == 0 {
			return
		}
		n.Add(int64(got))
	}
}
