package scaleout

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/polyrpc/polyrpc/internal/leakcheck"
)

// binPath is the polyrpc binary built by TestMain.
var binPath string

// TestMain builds the binary, runs the tests and fails the run when a test leaves a goroutine
// behind.
func TestMain(m *testing.M) { leakcheck.Main(func() int { return runMain(m) }) }

func runMain(m *testing.M) int {
	if runtime.GOOS != "linux" {
		fmt.Println("scaleout: the proof runs on Linux only (Debian's nats-server, redis-server, haproxy)")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "polyrpc-scaleout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "polyrpc")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "polyrpc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: building cmd/polyrpc:", err)
		return 1
	}
	return m.Run()
}
