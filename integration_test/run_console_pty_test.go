//go:build linux || darwin

package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyTimeout bounds each wait for the console's output.
const ptyTimeout = 10 * time.Second

// ptyConsole is a polyrpc console running on a pseudo-terminal.
type ptyConsole struct {
	t    *testing.T
	tty  *os.File // the terminal's master side
	cmd  *exec.Cmd
	done chan struct{} // closed when the output reader has stopped

	mu   sync.Mutex
	out  strings.Builder // everything printed, ANSI escapes removed
	seen int             // how much of out earlier waits consumed
}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// startPTY runs polyrpc with args on a new 120x40 pseudo-terminal, with colours on (they are
// stripped from what the test reads) and the history in cacheDir.
func startPTY(t *testing.T, cacheDir string, args ...string) *ptyConsole {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	env := []string{"TERM=xterm", "XDG_CACHE_HOME=" + cacheDir, "HOME=" + cacheDir}
	for _, kv := range serverEnv() {
		if k, _, _ := strings.Cut(kv, "="); k != "NO_COLOR" && k != "TERM" && k != "HOME" && k != "XDG_CACHE_HOME" {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	c := &ptyConsole{t: t, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			c.mu.Lock()
			c.out.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		tty.Close()
		<-c.done
	})
	return c
}

// text returns the output so far without ANSI escapes and carriage returns.
func (c *ptyConsole) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.ReplaceAll(ansiEscape.ReplaceAllString(c.out.String(), ""), "\r", "")
}

// expect waits until want appears in the output after what earlier expects consumed.
func (c *ptyConsole) expect(want string) {
	c.t.Helper()
	deadline := time.Now().Add(ptyTimeout)
	for {
		text := c.text()
		if i := strings.Index(text[min(c.seen, len(text)):], want); i >= 0 {
			c.seen += i + len(want)
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %q within %v; the console printed:\n%s", want, ptyTimeout, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeKeys types s on the terminal.
func (c *ptyConsole) typeKeys(s string) {
	c.t.Helper()
	if _, err := c.tty.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// wait waits for the console to exit and returns its status.
func (c *ptyConsole) wait() error {
	c.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(ptyTimeout):
		c.cmd.Process.Kill()
		c.t.Fatalf("the console did not exit; it printed:\n%s", c.text())
		return nil
	}
}

// TestAttachPTY drives polyrpc attach through a pseudo-terminal as a person would: a call and
// its result, tab completion of a method name, a subscription whose notification arrives while
// a line is half typed (the line is drawn again under it and can be finished), .unsub, and
// .exit; the history is kept for the next session.
func TestAttachPTY(t *testing.T) {
	s := startServer(t)
	cache := t.TempDir()
	c := startPTY(t, cache, "attach", s.IPC)
	c.expect("Welcome to the polyrpc console")
	c.expect("> ")

	c.typeKeys("test_add 1 2\r")
	c.expect("\n3\n")

	c.typeKeys("test_ad\t") // completes to test_add
	c.expect("test_add")
	c.typeKeys(" 40 2\r")
	c.expect("\n42\n")

	c.typeKeys("chat_subscribe messages lobby\r")
	c.expect("subscription 1 (id ")
	c.expect("> ")
	c.typeKeys("test_add 20") // half typed when the notification comes
	c.expect("test_add 20")
	if out, errOut, status := runPolyrpc(t, "", "call", s.HTTP, "chat_send", "lobby", "bob", "hello from outside"); status != 0 {
		t.Fatalf("chat_send: %d %s %s", status, out, errOut)
	}
	c.expect(`[1] {"id":1,"room":"lobby","name":"bob","text":"hello from outside"`)
	c.expect("> test_add 20") // the prompt and the typed text are drawn again under it
	c.typeKeys(" 3\r")
	c.expect("\n23\n")

	c.typeKeys("test_failCoded\r")
	c.expect("error -32042: coded failure")
	c.expect(`"why": "testing"`)

	c.typeKeys(".unsub 1\r")
	c.expect("subscription 1 ended")
	c.typeKeys(".exit\r")
	if err := c.wait(); err != nil {
		t.Fatalf("exit: %v; output:\n%s", err, c.text())
	}
	hist, err := os.ReadFile(filepath.Join(cache, "polyrpc", "console_history"))
	if err != nil || !strings.Contains(string(hist), "test_add 1 2\n") {
		t.Errorf("history file: %q, %v", hist, err)
	}
}

// TestConsolePTY: polyrpc console on a pseudo-terminal serves the built-in services in process
// (admin included); Ctrl-C interrupts a call in progress, drops the line being typed at the
// prompt, and Ctrl-D leaves with status 0.
func TestConsolePTY(t *testing.T) {
	c := startPTY(t, t.TempDir(), "console", "--dev.testservice")
	c.expect("connected to an embedded polyrpc")
	c.expect("> ")
	c.typeKeys("adm\t")
	c.expect("admin_")
	c.typeKeys("\x15admin_nodeInfo\r") // Ctrl-U clears the completed text first
	c.expect(`"name": "polyrpc"`)
	c.typeKeys("test_sleep 20000\r")
	time.Sleep(200 * time.Millisecond) // the call is in progress
	c.typeKeys("\x03")                 // Ctrl-C
	c.expect("error: interrupted")
	c.expect("> ")
	c.typeKeys("test_add 1 \x03") // Ctrl-C at the prompt
	c.expect("> ")
	c.typeKeys("test_add 5 6\r")
	c.expect("\n11\n")
	c.typeKeys("\x04") // Ctrl-D
	if err := c.wait(); err != nil {
		t.Fatalf("exit: %v; output:\n%s", err, c.text())
	}
}
