package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/polyrpc/polyrpc/internal/wire"
)

// fzChunkConn is an in-memory stream that delivers data in reads of the given sizes (cycled;
// none: all at once), then fails with err (io.EOF if nil). It records what is written to it,
// and each write apart.
type fzChunkConn struct {
	data   []byte
	chunks []int
	reads  int
	err    error
	out    bytes.Buffer
	writes []string
	closed bool
	onRead func(left int) // when set, called by every read with the length of data left
}

// Read delivers the next piece of data.
func (c *fzChunkConn) Read(p []byte) (int, error) {
	if c.onRead != nil {
		c.onRead(len(c.data))
	}
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n = min(n, c.chunks[c.reads%len(c.chunks)])
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	c.reads++
	return n, nil
}

// Write records p.
func (c *fzChunkConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, string(p))
	return c.out.Write(p)
}

// Close records that the stream was closed.
func (c *fzChunkConn) Close() error { c.closed = true; return nil }

// fzTooLarge stands for ErrMessageTooLarge in a list of frames.
const fzTooLarge = "<ErrMessageTooLarge>"

// fzReadFrames reads messages until an error other than ErrMessageTooLarge, which it returns.
func fzReadFrames(t testing.TB, conn Conn, maxReads int) ([]string, error) {
	var frames []string
	for range maxReads {
		msg, err := conn.ReadMessage()
		switch {
		case errors.Is(err, ErrMessageTooLarge):
			frames = append(frames, fzTooLarge)
		case err != nil:
			return frames, err
		default:
			frames = append(frames, string(msg))
		}
	}
	t.Fatalf("no end after %d reads; frames so far %q", maxReads, frames)
	return nil, nil
}

var fzChunkings = [][]int{nil, {1}, {2}, {3}, {5, 1, 8}, {64}}

func TestStreamConnFraming(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int // 0: the default
		want  []string
	}{
		{"empty", "", 0, nil},
		{"only space", " \r\n\t \n", 0, nil},
		{"newline separated", "{\"a\":1}\n{\"b\":2}\n", 0, []string{`{"a":1}`, `{"b":2}`}},
		{"back to back", `{"a":1}{"b":2}[3][]`, 0, []string{`{"a":1}`, `{"b":2}`, `[3]`, `[]`}},
		{"space inside and around", " \r\n\t{ \"a\" : [ 1 , 2 ] }\n\n [ ] ", 0, []string{`{ "a" : [ 1 , 2 ] }`, `[ ]`}},
		{"scalars", `1 "x" null`, 0, []string{`1`, `"x"`, `null`}},
		{"scalars touching strings and brackets", `"a""b"1"c"true[1]-2.5e3{}`, 0, []string{`"a"`, `"b"`, `1`, `"c"`, `true`, `[1]`, `-2.5e3`, `{}`}},
		{"brackets and quotes in strings", `{"s":"}]\"{[","t":"\\"}["\\",{"u":"\\\"]"}]"]\\"`, 0,
			[]string{`{"s":"}]\"{[","t":"\\"}`, `["\\",{"u":"\\\"]"}]`, `"]\\"`}},
		{"stray closers", `}]{}`, 0, []string{`}`, `]`, `{}`}},
		{"mismatched closer ends the value", `[{"a":1},{"b"]{"c":[}]`, 0, []string{`[{"a":1},{"b"]`, `{"c":[}`, `]`}},
		{"junk scalar", `abc {"a":1}`, 0, []string{`abc`, `{"a":1}`}},
		{"over the limit, then the next", `{"a":"0123456789"} {"b":1}`, 10, []string{fzTooLarge, `{"b":1}`}},
		{"over the limit, back to back", `["0123456789"]{"b":1}`, 10, []string{fzTooLarge, `{"b":1}`}},
		{"at the limit", `[1,2,3,45] {"b":1}`, 10, []string{`[1,2,3,45]`, `{"b":1}`}},
		{"long scalar over the limit", `12345678901 [1]`, 10, []string{fzTooLarge, `[1]`}},
		{"long string over the limit", `"0123456789" "ok"`, 10, []string{fzTooLarge, `"ok"`}},
		{"several over the limit", `[1] "0123456789" {"a":[1,2,3,4,5,6]} [2]`, 10, []string{`[1]`, fzTooLarge, fzTooLarge, `[2]`}},
		{"unfinished at EOF", `{"a":1} {"b":[`, 0, []string{`{"a":1}`, `{"b":[`}},
		{"unfinished string at EOF", `["x"] "ab\"`, 0, []string{`["x"]`, `"ab\"`}},
		{"unfinished over the limit at EOF", `[1] {"a":"0123456789`, 10, []string{`[1]`, fzTooLarge}},
	}
	for _, tt := range tests {
		for _, chunks := range fzChunkings {
			rwc := &fzChunkConn{data: []byte(tt.in), chunks: chunks}
			conn := NewStreamConn(rwc, tt.limit)
			got, err := fzReadFrames(t, conn, len(tt.in)+5)
			if !errors.Is(err, io.EOF) || !slices.Equal(got, tt.want) {
				t.Errorf("%s, chunks %v: got %q, %v; want %q, EOF", tt.name, chunks, got, err, tt.want)
				continue
			}
			if msg, err := conn.ReadMessage(); msg != nil || !errors.Is(err, io.EOF) {
				t.Errorf("%s, chunks %v: read after EOF gave %q, %v", tt.name, chunks, msg, err)
			}
		}
	}
}

func TestStreamConnReadError(t *testing.T) {
	boom := errors.New("boom")
	rwc := &fzChunkConn{data: []byte(`{"a":1} [2`), chunks: []int{3}, err: boom}
	got, err := fzReadFrames(t, NewStreamConn(rwc, 0), 10)
	if !errors.Is(err, boom) || !slices.Equal(got, []string{`{"a":1}`, `[2`}) {
		t.Fatalf("got %q, %v; want the value, the unfinished rest, then boom", got, err)
	}
}

func TestStreamConnWrite(t *testing.T) {
	rwc := &fzChunkConn{}
	conn := NewStreamConn(rwc, 0)
	msgs := []string{"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}\n", "[{\"a\":\"\\n\"}]\n"}
	for _, m := range msgs {
		if err := conn.WriteMessage([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.(Flusher).Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := rwc.out.String(), strings.Join(msgs, ""); got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	if err := conn.Close(); err != nil || !rwc.closed {
		t.Fatalf("Close: %v, underlying closed %v", err, rwc.closed)
	}
}

// fzPipePair is one end of a connection made of two pipes, so that the client can end its
// write side and still read.
type fzPipePair struct{ in, out net.Conn }

func (p fzPipePair) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p fzPipePair) Write(b []byte) (int, error) { return p.out.Write(b) }
func (p fzPipePair) Close() error                { p.in.Close(); return p.out.Close() }

func TestServeStreamAnswersAfterClientEndsWriting(t *testing.T) {
	srv := NewServer(nil)
	if err := srv.Register("fz", fzSvc{}); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	reqClient, reqServer := net.Pipe()
	respServer, respClient := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(fzPipePair{reqServer, respServer}, ConnOptions{}) }()
	go func() {
		// The slow call is still running when the server sees the end of input.
		reqClient.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"fz_sleep","params":[50,"a"]}` + "\n" +
			`{"jsonrpc":"2.0","id":2,"method":"fz_echo","params":["b"]}`))
		reqClient.Close()
	}()
	respClient.SetReadDeadline(time.Now().Add(10 * time.Second))
	results := map[string]string{}
	sc := bufio.NewScanner(respClient)
	for sc.Scan() {
		var resp struct {
			ID     json.RawMessage
			Result string
		}
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			t.Fatalf("answer %q: %v", sc.Bytes(), err)
		}
		results[string(resp.ID)] = resp.Result
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading answers: %v (got %v)", err, results)
	}
	if want := map[string]string{"1": "a", "2": "b"}; len(results) != 2 || results["1"] != "a" || results["2"] != "b" {
		t.Fatalf("answers %v, want %v", results, want)
	}
	if err := <-served; err != nil {
		t.Fatalf("ServeStream: %v", err)
	}
}

// lsValue returns a JSON object of exactly n bytes (n >= 40) made of many short members, with
// quotes, brackets and escapes inside its strings, as a large request is; tag tells apart
// values of the same length.
func lsValue(t testing.TB, n int, tag byte) string {
	var b strings.Builder
	b.WriteString(`{"t":"` + string(tag) + `","m":[`)
	const item, end = `{"s":"]}\"[{","n":-12.5e3,"a":[true,null]},`, `0],"p":""}`
	for b.Len()+len(item)+len(end) <= n {
		b.WriteString(item)
	}
	b.WriteString(`0],"p":"`)
	b.WriteString(strings.Repeat("x", n-b.Len()-2))
	b.WriteString(`"}`)
	if v := b.String(); len(v) != n || !json.Valid([]byte(v)) {
		t.Fatalf("lsValue(%d) made %d bytes, valid %v", n, len(v), json.Valid([]byte(v)))
	}
	return b.String()
}

// lsStream joins values with sep after each.
func lsStream(sep string, vals ...string) string { return strings.Join(vals, sep) + sep }

// lsWithin reports whether msg lies in the array of buf.
func lsWithin(msg, buf []byte) bool {
	off := uintptr(unsafe.Pointer(unsafe.SliceData(msg))) - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return off < uintptr(cap(buf))
}

// lsReadAll reads conn to the end of its input, checking that the connection holds a grown
// buffer only for the part of a message that filled the small one (neither when it reads, and
// so waits for input, nor between messages), that no buffer is larger than needed to see that
// a message is over the limit, that a message handed the buffer it was read into keeps little
// more memory than its length, and that no message is changed by what comes after it, even
// when the reader appends to it.
func lsReadAll(t *testing.T, rwc *fzChunkConn, c *streamConn) ([]string, error) {
	t.Helper()
	var bufs [][]byte // the buffers the current message may lie in
	rwc.onRead = func(left int) {
		bufs = append(bufs, c.buf)
		if len(c.buf) > smallBuffer && c.end-c.start < smallBuffer {
			t.Errorf("reading with a buffer of %d bytes (%d unread, %d to come)", len(c.buf), c.end-c.start, left)
		}
		if len(c.buf) > max(smallBuffer, c.max+1) {
			t.Errorf("a buffer of %d bytes with a limit of %d", len(c.buf), c.max)
		}
	}
	var msgs [][]byte
	var want []string
	for range 1000 {
		bufs = append(bufs[:0], c.buf)
		msg, err := c.ReadMessage()
		for _, b := range bufs {
			if len(msg) > 0 && len(b) > 0 && lsWithin(msg, b) && cap(b) > len(msg)+len(msg)/2 {
				t.Errorf("message %d of %d bytes keeps a buffer of %d", len(msgs), len(msg), cap(b))
			}
		}
		if len(c.buf) > smallBuffer && c.end-c.start <= smallBuffer {
			t.Errorf("after message %d (%v), a buffer of %d bytes for %d unread", len(msgs), err, len(c.buf), c.end-c.start)
		}
		switch {
		case errors.Is(err, ErrMessageTooLarge):
			want = append(want, fzTooLarge)
			msgs = append(msgs, []byte(fzTooLarge))
			continue
		case err != nil:
			for i, m := range msgs {
				if string(m) != want[i] {
					t.Errorf("message %d changed after it was read: %.40q…, was %.40q…", i, m, want[i])
				}
			}
			return want, err
		}
		want = append(want, string(msg))
		msgs = append(msgs, msg)
		_ = append(msg, "appended by the reader"...)
	}
	t.Fatal("no end after 1000 messages")
	return nil, nil
}

// TestStreamConnLargeMessages: messages larger than the small buffer, alone, back to back,
// among small ones and cut at every kind of boundary, are framed as small ones are, the buffer
// shrinks back after them, and they stay intact.
func TestStreamConnLargeMessages(t *testing.T) {
	v := func(n int, tag byte) string { return lsValue(t, n, tag) }
	small1, small2 := `{"jsonrpc":"2.0","id":1,"method":"a"}`, `[{"jsonrpc":"2.0","id":2,"method":"b"}]`
	big, big2, big3, huge := v(70000, 'a'), v(70000, 'b'), v(65536, 'c'), v(300000, 'd')
	tests := []struct {
		name   string
		in     string
		chunks [][]int // the chunkings to try, besides all at once and 16 KiB reads
		limit  int
		want   []string
	}{
		{"large then more bytes in the same read", lsStream("\n", big, small1, small2), [][]int{{70003}, {70001 + 20}},
			0, []string{big, small1, small2}},
		{"large then a large start in the same read", big + big2 + " " + small1, [][]int{{70000 + 5000}, {65536 + 8192}},
			0, []string{big, big2, small1}},
		{"several large back to back", big + big2 + big3 + huge + big, [][]int{{4096}, {1 << 20}, {3000, 70000}},
			0, []string{big, big2, big3, huge, big}},
		{"several large on lines", lsStream("\n", big, big2, big3, huge, big3), [][]int{{70001}, {65537}},
			0, []string{big, big2, big3, huge, big3}},
		{"large then small ones", lsStream("\n", huge, small1, small2, small1), [][]int{{300001 + 10}, {300001}},
			0, []string{huge, small1, small2, small1}},
		{"each read ends a message", lsStream("\n", v(4095, 'e'), v(4096, 'f'), v(4097, 'g'), v(8192, 'h'), big),
			[][]int{{4096, 4097, 4098, 8193, 70001}, {4095, 1, 4096, 1, 4097, 1, 8192, 1, 70000, 1}},
			0, []string{v(4095, 'e'), v(4096, 'f'), v(4097, 'g'), v(8192, 'h'), big}},
		{"each read ends a message, none between", v(4096, 'f') + v(4096, 'g') + big + v(4097, 'h'),
			[][]int{{4096, 4096, 70000, 4097}, {4096, 74096, 4097}},
			0, []string{v(4096, 'f'), v(4096, 'g'), big, v(4097, 'h')}},
		{"lengths up and down", lsStream(" ", v(5000, 'i'), huge, v(5000, 'j'), big, big2, v(80000, 'k'), v(9000, 'l')), [][]int{{1000}, {50000}},
			0, []string{v(5000, 'i'), huge, v(5000, 'j'), big, big2, v(80000, 'k'), v(9000, 'l')}},
		{"large unfinished at the end", big + "\n" + big2[:50000], [][]int{{1000}},
			0, []string{big, big2[:50000]}},
		{"large over the limit between large under it", lsStream("\n", big, huge, big2, small1), [][]int{{1000}, {100000}},
			100000, []string{big, fzTooLarge, big2, small1}},
		{"large over the limit then small ones", lsStream("\n", huge, small1, small2), [][]int{{1000}, {100000}},
			100000, []string{fzTooLarge, small1, small2}},
		{"large over the limit back to back", big + huge + big2, [][]int{{1000}, {80000}},
			100000, []string{big, fzTooLarge, big2}},
		{"at the limit", lsStream("", big, v(70001, 'm'), big2), [][]int{{1000}},
			70000, []string{big, fzTooLarge, big2}},
		{"large over the limit at the end", big + huge[:200000], [][]int{{1000}},
			100000, []string{big, fzTooLarge}},
	}
	for _, tt := range tests {
		for _, chunks := range append([][]int{nil, {16 << 10}}, tt.chunks...) {
			rwc := &fzChunkConn{data: []byte(tt.in), chunks: chunks}
			c := newStreamConn(rwc, tt.limit)
			got, err := lsReadAll(t, rwc, c)
			if !errors.Is(err, io.EOF) || !slices.Equal(got, tt.want) {
				t.Errorf("%s, chunks %v: got %d messages, %v; want %d, EOF", tt.name, chunks, len(got), err, len(tt.want))
				for i := range max(len(got), len(tt.want)) {
					if i >= len(got) || i >= len(tt.want) || got[i] != tt.want[i] {
						t.Errorf("first difference at message %d", i)
						break
					}
				}
			}
		}
	}
}

// TestStreamConnLargeBudget: large messages hold exactly their length of the server's budget
// until released, one the budget cannot cover is refused (with its first bytes) and skipped,
// and everything comes back to zero.
func TestStreamConnLargeBudget(t *testing.T) {
	small := `{"jsonrpc":"2.0","id":1,"method":"a"}`
	big, big2, huge := lsValue(t, 70000, 'a'), lsValue(t, 70000, 'b'), lsValue(t, 200000, 'c')
	tests := []struct {
		name    string
		budget  int
		in      string
		want    []string // ErrServerBusy as "busy"
		refused string   // the value refused, whose first bytes the RefusedError holds
	}{
		{"large and small", 0, lsStream("\n", big, small, big2, small), []string{big, small, big2, small}, ""},
		{"large unfinished at the end", 0, big + big2[:40000], []string{big, big2[:40000]}, ""},
		{"large refused", 150 << 10, lsStream("\n", big, big2, small), []string{big, "busy", small}, big2},
		{"large over the limit", 0, lsStream("\n", big, huge, small), []string{big, fzTooLarge, small}, huge},
	}
	for _, tt := range tests {
		for _, chunks := range [][]int{nil, {16 << 10}, {1000, 7}} {
			srv := NewServer(&Options{MaxRequestBytesInFlight: tt.budget})
			rwc := &fzChunkConn{data: []byte(tt.in), chunks: chunks}
			c := newStreamConn(rwc, 100000)
			c.budget = srv.RequestBudget()
			var held [][]byte
			var got []string
			inFlight := 0
			for {
				msg, err := c.ReadMessage()
				if errors.Is(err, io.EOF) {
					break
				}
				var re *RefusedError
				if errors.As(err, &re) {
					// The head is the refused value's first bytes: the value after the
					// messages already read, whatever the chunks.
					if len(re.Head) == 0 || len(re.Head) > wire.HeadBytes || !strings.HasPrefix(tt.refused, string(re.Head)) {
						t.Errorf("%s, chunks %v: refusal head %.40q…", tt.name, chunks, re.Head)
					}
				}
				switch {
				case errors.Is(err, ErrServerBusy):
					got = append(got, "busy")
				case errors.Is(err, ErrMessageTooLarge):
					got = append(got, fzTooLarge)
				case err != nil:
					t.Fatalf("%s: %v", tt.name, err)
				default:
					got = append(got, string(msg))
					held = append(held, msg)
					inFlight += len(msg)
				}
				if n := srv.budget.used.Load(); n != int64(inFlight) {
					t.Errorf("%s, chunks %v: after %d messages the budget holds %d bytes, want %d", tt.name, chunks, len(got), n, inFlight)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s, chunks %v: got %d messages, want %d", tt.name, chunks, len(got), len(tt.want))
			}
			for _, m := range held {
				c.Release(m)
			}
			if n := srv.budget.used.Load(); n != 0 {
				t.Errorf("%s, chunks %v: the budget holds %d bytes after every release", tt.name, chunks, n)
			}
			srv.Stop()
		}
	}
}

// TestStreamConnWriteLarge: large messages are written at once, alone, and small ones around
// them keep their order; the caller may reuse a message as soon as WriteMessage returns.
func TestStreamConnWriteLarge(t *testing.T) {
	msg := func(n int, tag byte) string { return lsValue(t, n-1, tag) + "\n" }
	a, b, c, d := msg(60, 'a'), msg(70, 'b'), msg(80, 'c'), msg(directWrite-1, 'd')
	L1, L2, L3 := msg(directWrite, 'L'), msg(70<<10, 'M'), msg(300<<10, 'N')
	const flush = "<flush>"
	tests := []struct {
		name   string
		in     []string
		writes []string
	}{
		{"large alone", []string{L2, flush}, []string{L2}},
		{"small, large, small", []string{a, b, L1, c, flush}, []string{a + b, L1, c}},
		{"large first", []string{L1, a, flush, b, flush}, []string{L1, a, b}},
		{"large ones back to back", []string{a, L1, L2, L3, b, c, flush}, []string{a, L1, L2, L3, b + c}},
		{"just under the threshold is gathered", []string{a, d, b, flush}, []string{a + d + b}},
		{"flushes between", []string{a, flush, L1, flush, flush, b, L2, flush}, []string{a, L1, b, L2}},
	}
	for _, tt := range tests {
		rwc := &fzChunkConn{}
		conn := newStreamConn(rwc, 0)
		var want strings.Builder
		for _, m := range tt.in {
			if m == flush {
				if err := conn.Flush(); err != nil {
					t.Fatal(err)
				}
				continue
			}
			buf := []byte(m)
			if err := conn.WriteMessage(buf); err != nil {
				t.Fatal(err)
			}
			want.WriteString(m)
			for i := range buf {
				buf[i] = '!' // the caller reuses its buffer
			}
		}
		if rwc.out.String() != want.String() {
			t.Errorf("%s: wrote other bytes than the messages in order", tt.name)
		}
		if !slices.Equal(rwc.writes, tt.writes) {
			t.Errorf("%s: %d writes, want %d", tt.name, len(rwc.writes), len(tt.writes))
			for i, w := range rwc.writes {
				t.Logf("write %d: %d bytes %.20q…", i, len(w), w)
			}
		}
	}
}

// TestStreamConnLargeMessageAllocs: a stream of large messages of about the same length is
// read with one allocation per message, the message itself, and small ones with one each.
// TestStreamConnReleaseReuses: a large message given back with Release is the buffer the
// next large message is read into (of this or any stream connection), so that a connection
// carrying large messages one after another allocates no read buffers; a message not
// released is never written over.
func TestStreamConnReleaseReuses(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	msg := lsValue(t, 70000, 'a')
	for _, tt := range []struct {
		name         string
		release      bool
		minKB, maxKB uint64 // bytes allocated per message, in KiB
	}{
		// Not 0: a sync.Pool keeps the last buffer put in a slot of the P that put it, so
		// a goroutine that moved to another P meanwhile misses it once.
		{"released", true, 0, 8},
		{"kept", false, 64, 128},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newStreamConn(&benchStream{data: benchRepeat([]byte(msg), 1), chunk: 16 << 10}, 0)
			var kept [][]byte
			read := func() {
				m, err := c.ReadMessage()
				if err != nil || string(m) != msg {
					t.Fatalf("read %d bytes, %v", len(m), err)
				}
				if tt.release {
					c.Release(m)
				} else {
					kept = append(kept, m)
				}
			}
			read()
			read() // the first large message finds no length to go by
			const n = 50
			// No collection meanwhile: it would empty the pool, and the next message would
			// need a new buffer.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range n {
				read()
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / n; per < tt.minKB<<10 || per > tt.maxKB<<10 {
				t.Errorf("%d bytes allocated per message, want %d to %d KiB", per, tt.minKB, tt.maxKB)
			}
			for i, m := range kept {
				if string(m) != msg {
					t.Fatalf("kept message %d was written over", i)
				}
			}
		})
	}
}

func TestStreamConnLargeMessageAllocs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		msg       string
		copies    int
		maxAllocs float64
	}{
		{"large", lsValue(t, 70000, 'a'), 1, 1},
		{"large pipelined", lsValue(t, 70000, 'a'), 3, 1},
		{"small pipelined", `{"jsonrpc":"2.0","id":1,"method":"a"}`, 100, 1},
	} {
		c := newStreamConn(&benchStream{data: benchRepeat([]byte(tt.msg), tt.copies), chunk: 16 << 10}, 0)
		read := func() {
			if msg, err := c.ReadMessage(); err != nil || len(msg) != len(tt.msg) {
				t.Fatalf("%s: read %d bytes, %v", tt.name, len(msg), err)
			}
		}
		read() // the first large message finds no length to go by
		if n := testing.AllocsPerRun(50, read); n > tt.maxAllocs {
			t.Errorf("%s: %v allocations per message, want at most %v", tt.name, n, tt.maxAllocs)
		}
	}
}
