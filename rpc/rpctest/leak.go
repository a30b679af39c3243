package rpctest

import (
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// CheckLeaks records the goroutines running now and, when the test ends, fails it if others
// are still running after a grace period of a few seconds. Call it first in a test (it cannot
// be used with t.Parallel tests that start goroutines of their own at the same time).
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		var leaked []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			leaked = leaked[:0]
			for id, stack := range goroutines() {
				if _, ok := before[id]; !ok && !ignorable(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(leaked) > 0 {
			sort.Strings(leaked)
			t.Errorf("%d goroutine(s) leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}

// CountGoroutines returns the number of goroutines that are not part of the test machinery.
func CountGoroutines() int {
	n := 0
	for _, s := range goroutines() {
		if !ignorable(s) {
			n++
		}
	}
	return n
}

func ignorable(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run", "testing.(*F).Fuzz", "testing.tRunner", "testing.runTests",
		"testing.(*M).", "runtime.goexit0", "os/signal.signal_recv", "runtime.ensureSigM",
		"rpctest.goroutines", "runtime/trace.",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutines maps goroutine ids to their stacks.
func goroutines() map[string]string {
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
