package rpctest

import (
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/internal/leakcheck"
)

// CheckLeaks records the goroutines running now and, when the test ends, fails it if others
// are still running after a grace period of a few seconds. Every package's TestMain already
// fails the run on a leak (internal/leakcheck); CheckLeaks names the test that leaked. Call it
// first in a test (it cannot be used with t.Parallel tests that start goroutines of their own
// at the same time).
func CheckLeaks(t testing.TB) {
	t.Helper()
	before := leakcheck.Snapshot()
	t.Cleanup(func() {
		if leaked := leakcheck.Leaked(before, leakcheck.Grace); len(leaked) > 0 {
			t.Errorf("%d goroutine(s) leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}
