package subscriptions

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestTurnstile: many goroutines taking turns at once all get every turn they ask for, and
// no more than perP×GOMAXPROCS of them are between their yield and their turn at any time.
func TestTurnstile(t *testing.T) {
	ts := &turnstile{perP: 1}
	most := runtime.GOMAXPROCS(0)
	const goroutines, rounds = 50, 200
	stop := make(chan struct{})
	peak := make(chan int, 1)
	go func() { // samples the count while the goroutines run
		high := 0
		for {
			ts.mu.Lock()
			high = max(high, ts.queued)
			ts.mu.Unlock()
			select {
			case <-stop:
				peak <- high
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			wake := make(chan struct{}, 1)
			for range rounds {
				ts.next(wake)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the goroutines did not get all their turns")
	}
	close(stop)
	if high := <-peak; high > most {
		t.Errorf("%d goroutines waited in the run queues at once, want at most %d", high, most)
	}
	if ts.queued != 0 || ts.head != len(ts.waiting) {
		t.Errorf("after every turn: %d queued, %d waiting", ts.queued, len(ts.waiting)-ts.head)
	}
}
