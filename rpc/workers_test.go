package rpc

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The workers' tests run in a synctest bubble: synctest.Wait returns once every worker has
// parked or exited, and the clock reaches workerIdle without waiting for it. The goroutine
// counts are of the whole process, so they are compared one way only (goroutines of earlier
// tests may still be ending).

func TestWorkers(t *testing.T) { synctest.Test(t, testWorkers) }

func testWorkers(t *testing.T) {
	var p workers
	before := runtime.NumGoroutine()
	parked := func(p *workers) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle)
	}

	// Many jobs at once all run, each on a worker of its own (none is parked before the clock
	// moves), and every worker parks when its job is done.
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		p.run(func() {
			defer wg.Done()
			ran.Add(1)
			time.Sleep(time.Millisecond)
		})
	}
	wg.Wait()
	if got := ran.Load(); got != 50 {
		t.Fatalf("%d jobs ran, want 50", got)
	}
	synctest.Wait()
	if n := parked(&p); n != 50 {
		t.Fatalf("%d workers parked after 50 concurrent jobs, want 50", n)
	}
	p.close()
	synctest.Wait()
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after close, %d before", n, before)
	}

	// A job given while a worker is parked reuses it: no goroutine is started.
	q := &workers{}
	done := make(chan struct{})
	q.run(func() { done <- struct{}{} })
	<-done
	synctest.Wait()
	n := runtime.NumGoroutine()
	for range 20 {
		q.run(func() { done <- struct{}{} })
		<-done
		synctest.Wait()
		if got := parked(q); got != 1 {
			t.Fatalf("%d workers parked, want 1", got)
		}
	}
	if got := runtime.NumGoroutine(); got > n {
		t.Fatalf("goroutines went from %d to %d: parked workers were not reused", n, got)
	}

	// An idle worker exits after workerIdle, not before.
	time.Sleep(workerIdle - time.Millisecond)
	synctest.Wait()
	if got := parked(q); got != 1 {
		t.Fatalf("%d workers parked just before workerIdle, want 1", got)
	}
	time.Sleep(time.Millisecond)
	synctest.Wait()
	if got, n := parked(q), runtime.NumGoroutine(); got != 0 || n > before {
		t.Fatalf("after workerIdle: %d parked, %d goroutines (%d before)", got, n, before)
	}
}

// TestWorkersClose: close makes the parked workers exit at once (the clock does not move), and
// work given after close still runs.
func TestWorkersClose(t *testing.T) { synctest.Test(t, testWorkersClose) }

func testWorkersClose(t *testing.T) {
	var p workers
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		p.run(wg.Done)
	}
	wg.Wait()
	start := time.Now()
	p.close()
	synctest.Wait()
	if n := runtime.NumGoroutine(); n > before || time.Since(start) != 0 {
		t.Fatalf("after close: %d goroutines (%d before), %v later", n, before, time.Since(start))
	}
	ran := make(chan struct{})
	p.run(func() { close(ran) }) // work after close still runs, on a goroutine that then exits
	<-ran
}
