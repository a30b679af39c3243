package rpctest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Wire is a raw connection to a server under test: it sends the bytes of one message as they
// are and returns the server's messages one at a time.
type Wire interface {
	// Send writes one message (one --> line of a transcript, without its newline).
	Send(msg []byte) error
	// Recv returns the next message the server sent, without its trailing newline, or an error
	// if none arrives within timeout.
	Recv(timeout time.Duration) ([]byte, error)
	Close() error
}

// Dialer opens a fresh Wire to a server built with [NewServer], for one transcript.
type Dialer func(t testing.TB) Wire

// Step is one line of a transcript.
type Step struct {
	Send bool   // --> (true) or <-- (false)
	Msg  []byte // the message
	Line int    // line number in the file
}

// ReadTranscript parses a transcript file: lines starting "--> " are sent, lines starting
// "<-- " must be the next message received, byte for byte; blank lines and lines starting
// with "//" are ignored. A placeholder $NAME in a <-- line stands for a subscription (or
// stream) id: it matches any "0x…" string the first time and that same id afterwards, in <--
// and --> lines. A placeholder whose name starts with E ($E, $E2) stands for an epoch: any JSON
// string; one whose name starts with S ($S, $S1) for the id of a call the server makes to the
// client ("s1", "s2", …), which a --> line answers with "id":$S1.
func ReadTranscript(path string) ([]Step, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var steps []Step
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "", strings.HasPrefix(line, "//"):
		case strings.HasPrefix(line, "--> "):
			steps = append(steps, Step{Send: true, Msg: []byte(line[4:]), Line: n})
		case strings.HasPrefix(line, "<-- "):
			steps = append(steps, Step{Msg: []byte(line[4:]), Line: n})
		default:
			return nil, fmt.Errorf("%s:%d: a line must start with -->, <--, // or be blank", path, n)
		}
	}
	return steps, sc.Err()
}

// sentinel is sent after every transcript: its answer must be the next message, which proves
// the server sent nothing that the transcript did not expect.
const (
	sentinel       = `{"jsonrpc":"2.0","id":"end-of-transcript","method":"test_add","params":[20,22]}`
	sentinelAnswer = `{"jsonrpc":"2.0","id":"end-of-transcript","result":42}`
)

// placeholder is a variable of a transcript: $NAME in a <-- line matches a subscription id
// (a JSON string "0x…"), $E… any JSON string (an epoch), $S… the id of a server's call ("sN"),
// and binds it the first time; later $NAME are replaced by the bound value.
var placeholder = regexp.MustCompile(`\$[A-Z][A-Z0-9]*`)

// Patterns of unbound placeholders.
const (
	idPattern     = `("0x[0-9a-f]{1,64}")`
	stringPattern = `("(?:[^"\\]|\\.)*")`
	callIDPattern = `("s[1-9][0-9]*")`
)

// substitute replaces bound placeholders in msg.
func substitute(msg []byte, vars map[string]string) []byte {
	return placeholder.ReplaceAllFunc(msg, func(v []byte) []byte {
		if id, ok := vars[string(v)]; ok {
			return []byte(id)
		}
		return v
	})
}

// match reports whether got is the expected message want, binding its new placeholders.
func match(got, want []byte, vars map[string]string) bool {
	if !placeholder.Match(want) {
		return bytes.Equal(got, want)
	}
	var pat strings.Builder
	var names []string
	last := 0
	for _, loc := range placeholder.FindAllIndex(want, -1) {
		pat.WriteString(regexp.QuoteMeta(string(want[last:loc[0]])))
		v := string(want[loc[0]:loc[1]])
		if id, ok := vars[v]; ok {
			pat.WriteString(regexp.QuoteMeta(id))
		} else {
			switch v[1] {
			case 'E':
				pat.WriteString(stringPattern)
			case 'S':
				pat.WriteString(callIDPattern)
			default:
				pat.WriteString(idPattern)
			}
			names = append(names, v)
		}
		last = loc[1]
	}
	pat.WriteString(regexp.QuoteMeta(string(want[last:])))
	m := regexp.MustCompile("^" + pat.String() + "$").FindSubmatch(got)
	if m == nil {
		return false
	}
	for i, v := range names {
		if prev, ok := vars[v]; ok && prev != string(m[i+1]) {
			return false // one new name twice in a line, bound to two ids
		}
		vars[v] = string(m[i+1])
	}
	return true
}

// RunTranscripts replays every *.txt transcript in dir as a parallel subtest, each over a new
// Wire from dial.
func RunTranscripts(t *testing.T, dir string, dial Dialer) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts in %s (%v)", dir, err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			steps, err := ReadTranscript(f)
			if err != nil {
				t.Fatal(err)
			}
			RunSteps(t, f, steps, dial(t))
		})
	}
}

// RunSteps replays one transcript over w and closes w.
func RunSteps(t testing.TB, name string, steps []Step, w Wire) {
	t.Helper()
	defer w.Close()
	const timeout = 5 * time.Second
	steps = append(steps, Step{Send: true, Msg: []byte(sentinel)}, Step{Msg: []byte(sentinelAnswer)})
	vars := make(map[string]string)
	for _, s := range steps {
		if s.Send {
			if err := w.Send(substitute(s.Msg, vars)); err != nil {
				t.Fatalf("%s:%d: send: %v", name, s.Line, err)
			}
			continue
		}
		got, err := w.Recv(timeout)
		if err != nil {
			t.Fatalf("%s:%d: want %s\nreceive failed: %v", name, s.Line, s.Msg, err)
		}
		if !match(got, s.Msg, vars) {
			where := fmt.Sprintf("%s:%d", name, s.Line)
			if s.Line == 0 {
				where = name + ": after the transcript (an unexpected message?)"
			}
			t.Fatalf("%s:\n got: %s\nwant: %s", where, got, s.Msg)
		}
	}
}
