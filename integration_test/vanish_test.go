package integration_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Connections that vanish (their peer dies: no close frame, a TCP reset, a unix socket closed
// under calls in flight) must release everything they held: descriptors, goroutines, memory and
// their share of the request-bytes budget.

const (
	// Tolerances after the connections vanish, against the baseline measured before they opened.
	fdSlack        = 5
	goroutineSlack = 10
	rssSlack       = 64 * miB
	// releaseDeadline bounds how long the server may take to get back within them.
	releaseDeadline = 15 * time.Second
	// sleepMS is the duration of the test_sleep calls left in flight: far longer than
	// releaseDeadline, so that only cancelling them releases what they hold.
	sleepMS = 60_000
	// blockMS is the duration of the test_block calls each connection keeps making; test_block
	// ignores its context, so the server must wait for it to return.
	blockMS = 200
)

// procStats is what is measured of the server process.
type procStats struct {
	fds, goroutines int
	rss             int64
}

func (p procStats) String() string {
	return fmt.Sprintf("%d fds, %d goroutines, RSS %s", p.fds, p.goroutines, mib(p.rss))
}

func measure(t testing.TB, s *server) procStats {
	t.Helper()
	fds, err := fdCount(s.PID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.debugStats()
	if err != nil {
		t.Fatal(err)
	}
	r, err := rss(s.PID)
	if err != nil {
		t.Fatal(err)
	}
	return procStats{fds: fds, goroutines: st.Goroutines, rss: r}
}

// settledBaseline measures the server once its descriptor and goroutine counts have stopped
// moving (connections of a warm-up still closing, for example).
func settledBaseline(t testing.TB, s *server) procStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	prev := measure(t, s)
	for same := 0; same < 5 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		cur := measure(t, s)
		if cur.fds == prev.fds && cur.goroutines == prev.goroutines {
			same++
		} else {
			same = 0
		}
		prev = cur
	}
	return prev
}

// warmUp makes a call over each transport and closes the connections, so that what the server
// creates once (pools, the first connection's buffers) is part of the baseline.
func warmUp(t testing.TB, s *server) {
	t.Helper()
	const req = `{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]}`
	const want = `{"jsonrpc":"2.0","id":1,"result":3}`
	ws := dialWS(t, s.WS)
	c := s.dialIPC(t)
	for _, w := range []interface {
		Send([]byte) error
		Recv(time.Duration) ([]byte, error)
	}{ws, &lineWire{c: c, r: bufio.NewReader(c)}} {
		if err := w.Send([]byte(req)); err != nil {
			t.Fatal(err)
		}
		if got, err := w.Recv(5 * time.Second); err != nil || string(got) != want {
			t.Fatalf("warm-up call: %s, %v", got, err)
		}
	}
	ws.Close()
	c.Close()
}

// busyConn is a client connection with calls in flight, until it is killed.
type busyConn struct {
	kill  func()        // closes the connection abruptly
	ready chan struct{} // closed once the connection is known to have its calls in flight
	done  chan struct{} // closed once its reader has stopped
}

func sleepReq(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":"sleep-%d","method":"test_sleep","params":[%d]}`, id, sleepMS)
}

func blockReq(n int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_block","params":[%d]}`, n, blockMS)
}

// readyReq is sent after the test_sleep calls: the server reads a connection's messages in
// order and dispatches each before reading the next, so once it is answered the sleeps run.
const (
	readyReq    = `{"jsonrpc":"2.0","id":"ready","method":"test_add","params":[1,2]}`
	readyAnswer = `{"jsonrpc":"2.0","id":"ready","result":3}`
)

// startBusy sends two test_sleep calls, which stay in flight, and then, if loop is set, a
// test_block call, and another one each time one is answered, from a reader goroutine, until
// the connection fails. send and recv are used by that goroutine only once startBusy returns.
//
// A looping connection is one whose server is writing to it when it vanishes; one that only
// sleeps is silent, and its server learns that it is gone only by reading.
func startBusy(loop bool, send func(string) error, recv func() ([]byte, error), kill func()) (*busyConn, error) {
	b := &busyConn{kill: kill, ready: make(chan struct{}), done: make(chan struct{})}
	msgs := []string{sleepReq(1), sleepReq(2), readyReq}
	if loop {
		msgs = append(msgs, blockReq(1))
	}
	for _, m := range msgs {
		if err := send(m); err != nil {
			kill()
			return nil, err
		}
	}
	go func() {
		defer close(b.done)
		n := 1
		for {
			msg, err := recv()
			if err != nil {
				return
			}
			msg = bytes.TrimSuffix(msg, []byte("\n"))
			switch {
			case string(msg) == readyAnswer:
				close(b.ready)
			case bytes.Contains(msg, []byte(`"result":"done"`)):
				n++
				if send(blockReq(n)) != nil {
					return
				}
			}
		}
	}()
	return b, nil
}

func busyWS(t testing.TB, s *server, loop bool) *busyConn {
	t.Helper()
	w := dialWS(t, s.WS)
	b, err := startBusy(loop,
		func(m string) error { return w.Send([]byte(m)) },
		func() ([]byte, error) { _, msg, err := w.ws.ReadMessage(); return msg, err },
		w.reset)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func busyIPC(t testing.TB, s *server, loop bool) *busyConn {
	t.Helper()
	c := s.dialIPC(t)
	r := bufio.NewReader(c)
	b, err := startBusy(loop,
		func(m string) error { _, err := c.Write([]byte(m + "\n")); return err },
		func() ([]byte, error) { return r.ReadBytes('\n') },
		func() { c.Close() })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echoAnyReq is a request of about size bytes.
func echoAnyReq(size int) []byte {
	return []byte(`{"jsonrpc":"2.0","id":1,"method":"test_echoAny","params":["` + padding(size) + `"]}`)
}

// partialWS sends the first sent bytes of a frame carrying msg and stops, mid-message.
func partialWS(t testing.TB, s *server, msg []byte, sent int) (kill func()) {
	t.Helper()
	w := dialWS(t, s.WS)
	if err := w.writeRaw(wsFrame(msg)[:sent], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return w.reset
}

// partialIPC sends the first sent bytes of msg and stops, mid-message.
func partialIPC(t testing.TB, s *server, msg []byte, sent int) (kill func()) {
	t.Helper()
	c := s.dialIPC(t)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(msg[:sent]); err != nil {
		t.Fatal(err)
	}
	return func() { c.Close() }
}

// tolerance is how far above the baseline the server may stay once connections vanished.
type tolerance struct {
	fds, goroutines int
	rss             int64 // < 0: RSS is not checked
}

// awaitRelease polls the server until it is back within tol of base, or fails the test at
// releaseDeadline; it returns the last measurement and how long it took.
func awaitRelease(t *testing.T, s *server, base procStats, tol tolerance) (procStats, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		cur := measure(t, s)
		fdsOK := cur.fds >= base.fds-tol.fds && cur.fds <= base.fds+tol.fds
		gOK := cur.goroutines <= base.goroutines+tol.goroutines
		rssOK := tol.rss < 0 || cur.rss <= base.rss+tol.rss
		if fdsOK && gOK && rssOK {
			return cur, time.Since(start)
		}
		if time.Since(start) > releaseDeadline {
			want := fmt.Sprintf("fds %d±%d, goroutines ≤ %d", base.fds, tol.fds, base.goroutines+tol.goroutines)
			if tol.rss >= 0 {
				want += ", RSS ≤ " + mib(base.rss+tol.rss)
			}
			t.Errorf("%v after the connections vanished: %s; want %s (baseline %s)", releaseDeadline, cur, want, base)
			if dump, err := s.goroutineDump(); err == nil {
				t.Logf("server goroutines:\n%s", summarizeGoroutines(dump))
			}
			return cur, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestVanishingConnections opens 300 busy connections and 20 that stop in the middle of a
// message, then kills them all abruptly: WebSocket connections with a TCP reset and no close
// frame, IPC connections by closing the socket, as the death of the client process does. Each
// busy connection has two test_sleep calls in flight that would last a minute; two thirds of
// them also keep a test_block call running in a loop. Within releaseDeadline the server's
// descriptors, goroutines and RSS must be back near their baseline.
func TestVanishingConnections(t *testing.T) {
	needProc(t)
	const (
		busy        = 300 // half WebSocket, half IPC; 2 of 3 looping
		partials    = 10  // of each transport
		partialSize = 1 * miB
		partialSent = 256 * kiB
	)
	s := startServer(t)
	warmUp(t, s)
	base := settledBaseline(t, s)
	t.Logf("baseline: %s", base)

	start := time.Now()
	var conns []*busyConn
	kinds := make(map[string]int)
	for i := range busy {
		loop := i%3 != 2
		kind := map[bool]string{true: "looping", false: "sleeping"}[loop]
		if i%2 == 0 {
			conns = append(conns, busyWS(t, s, loop))
			kinds["WebSocket "+kind]++
		} else {
			conns = append(conns, busyIPC(t, s, loop))
			kinds["IPC "+kind]++
		}
	}
	var kills []func()
	big := echoAnyReq(partialSize)
	for range partials {
		kills = append(kills, partialWS(t, s, big, partialSent), partialIPC(t, s, big, partialSent))
	}
	timeout := time.After(20 * time.Second)
	for i, c := range conns {
		select {
		case <-c.ready:
		case <-c.done:
			t.Fatalf("connection %d failed before its calls were in flight", i)
		case <-timeout:
			t.Fatalf("connection %d: no answer to its ready call within 20 s", i)
		}
	}
	time.Sleep(2 * blockMS * time.Millisecond) // every loop has had an answer and made a new call
	loaded := measure(t, s)
	t.Logf("with %d busy connections %v and %d half-sent ones (opened in %v): %s",
		len(conns), kinds, len(kills), time.Since(start).Round(time.Millisecond), loaded)
	if min := base.fds + len(conns) + len(kills); loaded.fds < min {
		t.Fatalf("the server has %d fds with %d connections open, want at least %d", loaded.fds, len(conns)+len(kills), min)
	}

	for _, c := range conns {
		c.kill()
	}
	for _, k := range kills {
		k()
	}
	for _, c := range conns {
		<-c.done
	}
	after, took := awaitRelease(t, s, base, tolerance{fdSlack, goroutineSlack, rssSlack})
	t.Logf("after the kill (%v later): %s (baseline %s; %+d fds, %+d goroutines, RSS %+.1f MiB)",
		took.Round(time.Millisecond), after, base, after.fds-base.fds, after.goroutines-base.goroutines,
		float64(after.rss-base.rss)/miB)
}

// defaultBudget is the default of rpc.Options.MaxRequestBytesInFlight, which the binary uses
// (it has no flag for it); TestVanishingConnectionsReleaseBudget is sized by it.
const defaultBudget = 128 * miB

// TestVanishingConnectionsReleaseBudget: connections that vanish in the middle of large
// messages give back the request-bytes budget they took. 16 connections (8 WebSocket, 8 IPC)
// each send 12 MiB of a 16 MiB message (3/4 of the budget in all) and are killed; then as many
// 30 MiB messages as the whole budget holds (8) are sent at once, and every one must be
// accepted, which can only be if every byte the vanished connections took has been given back.
func TestVanishingConnectionsReleaseBudget(t *testing.T) {
	needProc(t)
	const (
		vanishing = 8 // of each transport
		sent      = defaultBudget * 3 / 4 / (2 * vanishing)
		size      = sent + sent/3
		checkSize = 30 * miB
	)
	s := startServer(t)
	warmUp(t, s)
	base := settledBaseline(t, s)

	var kills []func()
	big := echoAnyReq(size)
	for range vanishing {
		kills = append(kills, partialWS(t, s, big, sent), partialIPC(t, s, big, sent))
	}
	// The writes above return once the bytes are in the socket buffers; give the server time
	// to read them (and take their budget) before the connections vanish.
	time.Sleep(500 * time.Millisecond)
	for _, k := range kills {
		k()
	}
	// Every connection is gone (no slack): none can be holding budget any more.
	after, took := awaitRelease(t, s, base, tolerance{0, 0, -1})
	t.Logf("after %d connections vanished mid-message: %s in %v (baseline %s)", len(kills), after, took.Round(time.Millisecond), base)

	frame := wsFrame([]byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(floodID) + `,"method":"test_block","params":[500],"padding":"` + padding(checkSize) + `"}`))
	checks := defaultBudget / len(frame)
	wires := make([]*wsWire, checks)
	for i := range wires {
		wires[i] = dialWS(t, s.WS)
	}
	res := sendFrames(wires, frame, func(answer []byte, id string) error {
		if string(answer) != `{"jsonrpc":"2.0","id":`+id+`,"result":"done"}` {
			return fmt.Errorf("answer %.200s", answer)
		}
		return nil
	})
	t.Logf("%d messages of %s: %d answered, %d refused -32005", checks, mib(int64(len(frame))), res.ok.Load(), res.busy.Load())
	res.report(t, checks)
	if n := res.busy.Load(); n > 0 {
		t.Errorf("%d of %d messages refused as busy: the vanished connections did not give back their budget", n, checks)
	}
}

// goroutineDump returns the server's goroutine profile in text form (debug=1: one entry per
// distinct stack, with counts).
func (s *server) goroutineDump() (string, error) {
	resp, err := s.stats.Get(s.HTTP + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// summarizeGoroutines keeps the first lines of each stack of a debug=1 goroutine profile.
func summarizeGoroutines(dump string) string {
	var out []string
	for _, entry := range strings.Split(dump, "\n\n") {
		lines := strings.Split(entry, "\n")
		out = append(out, strings.Join(lines[:min(len(lines), 8)], "\n"))
	}
	return strings.Join(out[:min(len(out), 20)], "\n\n")
}
