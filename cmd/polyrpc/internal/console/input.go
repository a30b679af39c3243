package console

import (
	"bufio"
	"errors"
	"io"
)

// ErrAborted is returned by LineReader.Prompt when the user pressed Ctrl-C: the line is
// dropped and the console prompts again.
var ErrAborted = errors.New("console: line aborted")

// LineReader reads the console's input one line at a time.
type LineReader interface {
	// Prompt shows prompt (when interactive) and returns the next line without its line
	// ending; io.EOF at the end of the input.
	Prompt(prompt string) (string, error)
	// AppendHistory records a line the user entered.
	AppendHistory(line string)
	// SetCompleter sets the function that completes a partly typed line (tab completion):
	// it returns the complete lines that could follow.
	SetCompleter(complete func(line string) []string)
	// Close releases the input (restoring the terminal).
	Close() error
}

// lines is a LineReader over a plain reader: no prompt, no history, no completion.
type lines struct{ sc *bufio.Scanner }

// NewLines returns a LineReader that reads lines from r without prompting, for input that is
// not a terminal (a pipe, a file, a test).
func NewLines(r io.Reader) LineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	return &lines{sc: sc}
}

func (l *lines) Prompt(string) (string, error) {
	if l.sc.Scan() {
		return l.sc.Text(), nil
	}
	if err := l.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

func (*lines) AppendHistory(string)               {}
func (*lines) SetCompleter(func(string) []string) {}
func (*lines) Close() error                       { return nil }
