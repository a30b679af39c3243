package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m.Run) }

// TestLeaked starts a goroutine that blocks: Leaked reports it with its stack while it runs and
// reports nothing once it has ended; goroutines in the snapshot never count.
func TestLeaked(t *testing.T) {
	before := Snapshot()
	stop, done := make(chan struct{}), make(chan struct{})
	go blockUntil(stop, done)
	leaked := Leaked(before, 20*time.Millisecond)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "leakcheck.blockUntil") {
		t.Fatalf("Leaked = %q, want the stack of blockUntil", leaked)
	}
	if got := Leaked(Snapshot(), 0); got != nil {
		t.Errorf("Leaked after a fresh snapshot = %q, want nil", got)
	}
	close(stop)
	<-done
	if got := Leaked(before, time.Second); got != nil {
		t.Errorf("Leaked after the goroutine ended = %q, want nil", got)
	}
}

// TestLeakedWaits checks that Leaked gives a goroutine that is ending the grace period.
func TestLeakedWaits(t *testing.T) {
	before := Snapshot()
	stop, done := make(chan struct{}), make(chan struct{})
	go blockUntil(stop, done)
	time.AfterFunc(10*time.Millisecond, func() { close(stop) })
	if got := Leaked(before, 10*time.Second); got != nil {
		t.Errorf("Leaked = %q, want nil: the goroutine ended within the grace period", got)
	}
	<-done
}

func blockUntil(stop <-chan struct{}, done chan<- struct{}) {
	<-stop
	close(done)
}
