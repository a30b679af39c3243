//go:build unix

package console

import (
	"os"
	"syscall"
)

// Redraw makes the line editor draw the prompt and the line being typed again, after the
// console printed over them. liner redraws on a window-size change, so the console signals
// one to itself; the size is read again and is the same. It reports whether it could.
func (t *terminal) Redraw() bool {
	return syscall.Kill(os.Getpid(), syscall.SIGWINCH) == nil
}
