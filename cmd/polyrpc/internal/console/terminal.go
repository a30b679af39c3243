package console

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/peterh/liner"
)

// terminal is a LineReader with line editing, history and tab completion (liner, as
// go-ethereum's console uses).
type terminal struct {
	st          *liner.State
	historyPath string
}

// IsTerminal reports whether standard input is a terminal the console can edit lines on.
func IsTerminal() bool {
	_, err := liner.TerminalMode()
	return err == nil && liner.TerminalSupported()
}

// HistoryPath is the console's history file: polyrpc/console_history in the user's cache
// directory, or "" when there is none.
func HistoryPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "polyrpc", "console_history")
}

// NewTerminal puts the terminal into raw mode and returns a LineReader on it. History is read
// from historyPath (if it exists) and written back by Close; "" keeps no history.
func NewTerminal(historyPath string) LineReader {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	t := &terminal{st: st, historyPath: historyPath}
	if historyPath != "" {
		if f, err := os.Open(historyPath); err == nil {
			st.ReadHistory(f)
			f.Close()
		}
	}
	return t
}

func (t *terminal) Prompt(p string) (string, error) {
	line, err := t.st.Prompt(p)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", ErrAborted
	}
	return line, err
}

func (t *terminal) AppendHistory(line string) { t.st.AppendHistory(line) }

func (t *terminal) SetCompleter(complete func(string) []string) {
	t.st.SetCompleter(liner.Completer(complete))
}

// Close writes the history file (readable by the user only) and restores the terminal.
func (t *terminal) Close() error {
	if t.historyPath != "" {
		if err := os.MkdirAll(filepath.Dir(t.historyPath), 0o700); err == nil {
			if f, err := os.OpenFile(t.historyPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
				t.st.WriteHistory(f)
				f.Close()
			}
		}
	}
	return t.st.Close()
}
