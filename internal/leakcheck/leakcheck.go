// Package leakcheck finds goroutines that outlive the tests that started them. Every package's
// TestMain runs its tests through [Main], which fails the run when a goroutine is left behind;
// rpctest.CheckLeaks uses [Snapshot] and [Leaked] to name the test that leaked.
//
// It imports only the standard library, and not testing, so that it stays a leaf.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Grace is how long Main and rpctest.CheckLeaks wait for goroutines to end before they call
// them leaked: goroutines that a Close has told to stop may still be on their way out.
const Grace = 5 * time.Second

// Main runs the tests (pass testing.M's Run method) and exits with their status, or with
// status 1 when they passed but goroutines started during the run are still running after
// [Grace]: it prints their stacks to standard error. Goroutines of the test machinery and of
// signal handling do not count. Use it as a package's TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m.Run) }
func Main(run func() int) {
	before := Snapshot()
	code := run()
	if code == 0 {
		if leaked := Leaked(before, Grace); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running %v after the tests ended:\n\n%s\n",
				len(leaked), Grace, strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Snapshot returns the ids of the goroutines running now.
func Snapshot() map[string]bool {
	ids := make(map[string]bool)
	for id := range stacks() {
		ids[id] = true
	}
	return ids
}

// Leaked waits up to grace for every goroutine that is not in before, and is not part of the
// test machinery, to end. It returns the stacks of those still running then, sorted, or nil.
func Leaked(before map[string]bool, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var leaked []string
		for id, stack := range stacks() {
			if !before[id] && !ignorable(stack) {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			slices.Sort(leaked)
			return leaked
		}
		time.Sleep(wait)
	}
}

// ignorable reports whether a goroutine belongs to the test machinery, the runtime or signal
// handling, which outlive every test by design.
func ignorable(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.(*F).Fuzz", "testing.tRunner", "testing.runTests",
		"testing.(*M).", "runtime.goexit0", "os/signal.signal_recv", "runtime.ensureSigM",
		"leakcheck.stacks", "runtime/trace.",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// stacks maps the id of every goroutine to its stack.
func stacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		id, _, ok := strings.Cut(strings.TrimPrefix(head, "goroutine "), " ")
		if ok {
			m[id] = g
		}
	}
	return m
}
