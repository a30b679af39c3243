//go:build unix

package ipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// maxPathLen is the longest socket path the OS takes: sockaddr_un's path, less its NUL.
const maxPathLen = len(syscall.RawSockaddrUnix{}.Path) - 1

// probeTimeout bounds the connection attempt that tells a stale socket from a live one.
const probeTimeout = time.Second

func listen(path string) (net.Listener, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ipc: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("ipc: %w", err)
	}
	return ln, nil
}

// checkPath rejects paths that cannot name a socket here.
func checkPath(path string) error {
	switch {
	case path == "":
		return errors.New("ipc: empty socket path")
	case path[0] == '@' && (runtime.GOOS == "linux" || runtime.GOOS == "android"):
		return fmt.Errorf("ipc: abstract socket names are not supported: %q", path)
	case len(path) > maxPathLen:
		return fmt.Errorf("ipc: socket path is %d bytes, over the %d-byte limit of %s (sockaddr_un holds %d with the NUL): %s",
			len(path), maxPathLen, runtime.GOOS, maxPathLen+1, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("ipc: directory %s does not exist; create it first (mode 0700 keeps other users out)", dir)
	case err != nil:
		return fmt.Errorf("ipc: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("ipc: %s is not a directory", dir)
	}
	return nil
}

// removeStale removes a socket file at path that no server answers on. Anything else at path
// is an error and is left alone.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ipc: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("ipc: %s is %s, not a socket; it is left alone", path, kind(fi.Mode()))
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("ipc: %s is already in use: a server answers on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("ipc: %s exists and may be in use; it is left alone: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ipc: removing stale socket: %w", err)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a file of mode " + m.String()
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// retryable reports whether the accept loop should retry after err.
func retryable(err error) bool { return temporary(err) }
