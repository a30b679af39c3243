package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// fzChunkConn is an in-memory stream that delivers data in reads of the given sizes (cycled;
// none: all at once), then fails with err (io.EOF if nil). It records what is written to it.
type fzChunkConn struct {
	data   []byte
	chunks []int
	reads  int
	err    error
	out    bytes.Buffer
	closed bool
}

func (c *fzChunkConn) Read(p []byte) (int, error) {
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

func (c *fzChunkConn) Write(p []byte) (int, error) { return c.out.Write(p) }

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
	if err := conn.(interface{ Flush() error }).Flush(); err != nil {
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
