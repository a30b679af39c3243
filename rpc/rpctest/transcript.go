package rpctest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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
// with "//" are ignored.
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
	for _, s := range steps {
		if s.Send {
			if err := w.Send(s.Msg); err != nil {
				t.Fatalf("%s:%d: send: %v", name, s.Line, err)
			}
			continue
		}
		got, err := w.Recv(timeout)
		if err != nil {
			t.Fatalf("%s:%d: want %s\nreceive failed: %v", name, s.Line, s.Msg, err)
		}
		if !bytes.Equal(got, s.Msg) {
			where := fmt.Sprintf("%s:%d", name, s.Line)
			if s.Line == 0 {
				where = name + ": after the transcript (an unexpected message?)"
			}
			t.Fatalf("%s:\n got: %s\nwant: %s", where, got, s.Msg)
		}
	}
}
