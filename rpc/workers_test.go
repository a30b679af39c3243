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
	parked := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle)
	}
	waitParked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for parked() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d workers parked, want %d", parked(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Many jobs at once all run.
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
	if n := parked(); n > 50 {
		t.Fatalf("%d workers parked for 50 jobs", n)
	}

	// A job given while a worker is parked reuses it: no goroutine is started.
	p.close()
	waitGoroutines(t, before)
	q := &workers{}
	parked = func() int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.idle)
	}
	done := make(chan struct{})
	q.run(func() { done <- struct{}{} })
	<-done
	waitParked(1)
	n := runtime.NumGoroutine()
	for range 20 {
		q.run(func() { done <- struct{}{} })
		<-done
		waitParked(1)
	}
	if got := runtime.NumGoroutine(); got != n {
		t.Fatalf("goroutines went from %d to %d: parked workers were not reused", n, got)
	}

	// Idle workers exit after workerIdle.
	deadline := time.Now().Add(workerIdle + 3*time.Second)
	for runtime.NumGoroutine() > before || parked() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines (before: %d), %d parked, %v after the work ended",
				runtime.NumGoroutine(), before, parked(), workerIdle+3*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
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
