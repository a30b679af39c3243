package rpc

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWorkers(t *testing.T) {
	var p workers
	before := runtime.NumGoroutine()
	var ran atomic.Int64
	var wg sync.WaitGroup
	for round := range 3 { // later rounds reuse the workers the first one started
		for range 50 {
			wg.Add(1)
			p.run(func() {
				defer wg.Done()
				ran.Add(1)
				time.Sleep(time.Millisecond)
			})
		}
		wg.Wait()
		if got := ran.Load(); got != int64(50*(round+1)) {
			t.Fatalf("round %d: %d jobs ran, want %d", round, got, 50*(round+1))
		}
	}
	p.mu.Lock()
	parked := len(p.idle)
	p.mu.Unlock()
	if parked == 0 || parked > 50 {
		t.Fatalf("%d workers parked after the jobs, want between 1 and 50", parked)
	}
	deadline := time.Now().Add(workerIdle + 3*time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running %v after the work ended (before: %d)", runtime.NumGoroutine(), workerIdle+3*time.Second, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 0 {
		t.Fatalf("%d workers still listed as idle after they exited", len(p.idle))
	}
}

func TestWorkersClose(t *testing.T) {
	var p workers
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		p.run(wg.Done)
	}
	wg.Wait()
	p.close()
	deadline := time.Now().Add(workerIdle / 2) // well before they would time out
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("workers still running after close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ran := make(chan struct{})
	p.run(func() { close(ran) }) // work after close still runs, on a goroutine that then exits
	<-ran
}
