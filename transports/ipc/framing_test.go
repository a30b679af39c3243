//go:build unix || windows

package ipc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// The stream framing, end to end over a real connection.

func addReq(id, a, b int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"test_add","params":[%d,%d]}`, id, a, b)
}

func addAns(id, sum int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%d}`, id, sum) }

// chunks splits s into pieces of n bytes.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// readAnswers reads n answers, checking that each is one line of valid JSON ending in '\n'.
func readAnswers(t *testing.T, r *bufio.Reader, c *conn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []string
	for range n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d answers %q: %v", len(got), got, err)
		}
		if !json.Valid([]byte(line)) || strings.Count(line, "\n") != 1 {
			t.Fatalf("answer is not one line of JSON: %q", line)
		}
		got = append(got, strings.TrimSuffix(line, "\n"))
	}
	return got
}

func TestFraming(t *testing.T) {
	rpctest.CheckLeaks(t)
	r1, r2, r3 := addReq(1, 1, 2), addReq(2, 20, 3), addReq(3, 300, 4)
	a1, a2, a3 := addAns(1, 3), addAns(2, 23), addAns(3, 304)
	tricky := `{"jsonrpc":"2.0","id":"s","method":"test_echoAny","params":["}]\"{[\\\n"]}`
	trickyAns := `{"jsonrpc":"2.0","id":"s","result":"}]\"{[\\\n"}`
	big := strings.Repeat("x", 100_000)
	bigReq := `{"jsonrpc":"2.0","id":"big","method":"test_echoAny","params":["` + big + `"]}`
	bigAns := `{"jsonrpc":"2.0","id":"big","result":"` + big + `"}`
	tests := []struct {
		name   string
		writes []string      // written one after another
		pause  time.Duration // between writes
		want   []string      // answers, in any order
	}{
		{"one per write", []string{r1 + "\n", r2 + "\n"}, 0, []string{a1, a2}},
		{"several in one write", []string{r1 + "\n" + r2 + "\n" + r3 + "\n"}, 0, []string{a1, a2, a3}},
		{"no separators", []string{r1 + r2 + r3}, 0, []string{a1, a2, a3}},
		{"whitespace variants", []string{" \t\r\n" + r1 + " \r\n\t" + r2 + "\n\n\n" + r3 + "\t "}, 0, []string{a1, a2, a3}},
		{"byte by byte", chunks(r1+r2, 1), time.Millisecond, []string{a1, a2}},
		{"split every 7 bytes", chunks(r1+"\n"+r2+"\n"+r3, 7), 2 * time.Millisecond, []string{a1, a2, a3}},
		{"split after the value", []string{r1, "\n" + r2, "\n"}, 10 * time.Millisecond, []string{a1, a2}},
		{"brackets and escapes in strings", chunks(tricky+tricky, 3), time.Millisecond, []string{trickyAns, trickyAns}},
		{"batch split", chunks("["+r1+",\n"+r2+"]", 5), time.Millisecond, []string{"[" + a1 + "," + a2 + "]"}},
		{"notification gets no answer", []string{`{"jsonrpc":"2.0","method":"test_incr"}` + r1}, 0, []string{a1}},
		{"invalid JSON, then more", []string{`{"jsonrpc":"2.0","id":9,"method":"test_add","params":[1,2,]}` + r2},
			0, []string{`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: invalid character ']' looking for beginning of value at offset 58"}}`, a2}},
		{"large request in pieces", chunks(bigReq, 4096), 0, []string{bigAns}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ep := start(t, nil)
			c := rawConn(t, ep.Path())
			for i, w := range tt.writes {
				if i > 0 && tt.pause > 0 {
					time.Sleep(tt.pause)
				}
				if _, err := c.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			r := bufio.NewReaderSize(c, 64<<10)
			got := readAnswers(t, r, c, len(tt.want))
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Fatalf("answers:\n got %q\nwant %q", got, want)
			}
			// Nothing else was sent: the next answer is the sentinel's.
			if _, err := c.Write([]byte(addReq(42, 40, 2))); err != nil {
				t.Fatal(err)
			}
			if got := readAnswers(t, r, c, 1); got[0] != addAns(42, 42) {
				t.Fatalf("after the answers: got %s, want the sentinel's answer", got[0])
			}
		})
	}
}
