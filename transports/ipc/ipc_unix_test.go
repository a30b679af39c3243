//go:build unix

package ipc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// tempDir is a fresh directory with a short path (t.TempDir's can be long on macOS).
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testPath(t testing.TB) string { return filepath.Join(tempDir(t), "rpc.ipc") }

func call(t *testing.T, path string) {
	t.Helper()
	var sum int
	if err := client(t, path).Call(context.Background(), &sum, "test_add", 1, 2); err != nil || sum != 3 {
		t.Fatalf("test_add over %s: %d, %v", path, sum, err)
	}
}

func TestSocketMode(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	fi, err := os.Lstat(ep.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file mode %v, want a socket with mode 0600", fi.Mode())
	}
}

// TestExistingFile: what Listen does with whatever is already at the path.
func TestExistingFile(t *testing.T) {
	rpctest.CheckLeaks(t)
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // puts something at path
		wantErr string                          // "" if Serve must succeed
		check   func(t *testing.T, path string) // after Serve
	}{
		{
			name: "stale socket is replaced",
			prepare: func(t *testing.T, path string) {
				ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				ln.SetUnlinkOnClose(false)
				ln.Close()
			},
			check: func(t *testing.T, path string) { call(t, path) },
		},
		{
			name: "live socket is in use",
			prepare: func(t *testing.T, path string) {
				srv := rpctest.NewServer(t, nil)
				ep, err := Serve(srv, path, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ep.Close() })
			},
			wantErr: "already in use",
			check:   func(t *testing.T, path string) { call(t, path) }, // the first server still serves
		},
		{
			name:    "regular file is left alone",
			prepare: func(t *testing.T, path string) { os.WriteFile(path, []byte("keep me"), 0o644) },
			wantErr: "is a regular file, not a socket",
			check: func(t *testing.T, path string) {
				if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
					t.Fatalf("file now holds %q, %v", b, err)
				}
			},
		},
		{
			name:    "directory is left alone",
			prepare: func(t *testing.T, path string) { os.Mkdir(path, 0o700) },
			wantErr: "is a directory, not a socket",
			check: func(t *testing.T, path string) {
				if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
					t.Fatalf("the directory is gone: %v", err)
				}
			},
		},
		{
			name:    "symbolic link is left alone",
			prepare: func(t *testing.T, path string) { os.Symlink("/nonexistent", path) },
			wantErr: "is a symbolic link, not a socket",
			check: func(t *testing.T, path string) {
				if target, err := os.Readlink(path); err != nil || target != "/nonexistent" {
					t.Fatalf("the link is gone: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testPath(t)
			tt.prepare(t, path)
			ep, err := Serve(rpctest.NewServer(t, nil), path, nil)
			if ep != nil {
				t.Cleanup(func() { ep.Close() })
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Serve: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Serve: err = %v, want one containing %q", err, tt.wantErr)
			}
			tt.check(t, path)
		})
	}
}

func TestBadPath(t *testing.T) {
	dir := tempDir(t)
	// A path of exactly n bytes in dir.
	pathOf := func(n int) string {
		return filepath.Join(dir, strings.Repeat("p", n-len(dir)-1))
	}
	tests := []struct {
		name    string
		path    string
		wantErr []string // substrings of the error; none: Listen succeeds
	}{
		{"longest allowed", pathOf(maxPathLen), nil},
		{"one byte too long", pathOf(maxPathLen + 1), []string{"over the " + strconv.Itoa(maxPathLen) + "-byte limit", strconv.Itoa(maxPathLen + 1)}},
		{"missing directory", filepath.Join(dir, "missing", "rpc.ipc"), []string{"directory " + filepath.Join(dir, "missing") + " does not exist"}},
		{"parent is a file", filepath.Join(dir, "file", "rpc.ipc"), []string{filepath.Join(dir, "file") + " is not a directory"}},
		{"empty", "", []string{"empty socket path"}},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen(tt.path)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Listen(%d-byte path): %v", len(tt.path), err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatal("Listen succeeded")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %v, want it to mention %q", err, s)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing directory was created: %v", err)
	}
}

func TestCloseRemovesSocket(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	for range 2 {
		if err := ep.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(ep.Path()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("socket file after Close: %v", err)
		}
	}
}

func TestDialScheme(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	call(t, "unix://"+ep.Path())
	if c, err := Dial(context.Background(), ep.Path()+".missing"); err == nil {
		c.Close()
		t.Fatal("Dial of a missing socket succeeded")
	}
}

// TestHalfClose: after the client closes its write side, the calls it sent are still answered,
// and then the server ends the stream.
func TestHalfClose(t *testing.T) {
	rpctest.CheckLeaks(t)
	_, ep := start(t, nil)
	c := rawConn(t, ep.Path())
	msgs := `{"jsonrpc":"2.0","id":1,"method":"test_sleep","params":[300]}` + addReq(2, 1, 2) +
		`{"jsonrpc":"2.0","method":"test_incr"}`
	if _, err := c.Write([]byte(msgs)); err != nil {
		t.Fatal(err)
	}
	if err := c.Conn.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	got := readAnswers(t, r, c, 2)
	slices.Sort(got)
	if want := []string{`{"jsonrpc":"2.0","id":1,"result":null}`, addAns(2, 3)}; !slices.Equal(got, want) {
		t.Fatalf("answers %q, want %q", got, want)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the answers: %q, %v; want EOF", b, err)
	}
}

// TestAcceptFatal: an accept error that is not temporary stops the loop; Close reports it.
func TestAcceptFatal(t *testing.T) {
	rpctest.CheckLeaks(t)
	ln := newFakeListener(0)
	boom := errors.New("boom")
	ln.errs = make(chan error, 1)
	ln.errs <- boom
	e := serve(rpctest.NewServer(t, nil), ln, "fake", nil)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		e.mu.Lock()
		stopped := e.acceptErr != nil
		e.mu.Unlock()
		if stopped || time.Now().After(deadline) {
			break
		}
	}
	if err := e.Close(); err != boom {
		t.Fatalf("Close: %v, want %v", err, boom)
	}
}
