package rpc

import (
	"sync"
	"time"
)

// workerIdle is how long a worker waits for more work before it exits.
const workerIdle = time.Second

// workers runs the server's per-message work on goroutines that are kept for a while instead
// of being started for each message: a goroutine that has run a call has grown its stack for
// the decoding and reflection a call needs, and a fresh one would grow it again every time.
// Idle workers exit after workerIdle, so an idle server keeps none.
type workers struct {
	mu     sync.Mutex
	idle   []*worker // parked, most recently used last
	closed bool      // the server stopped: workers exit instead of parking
}

type worker struct {
	work  chan func()
	timer *time.Timer
}

// run runs f on an idle worker, or on a new one.
func (p *workers) run(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.work <- f
		return
	}
	p.mu.Unlock()
	go p.loop(f)
}

func (p *workers) loop(f func()) {
	w := &worker{work: make(chan func(), 1)}
	for f != nil {
		f()
		f = nil
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		if w.timer == nil {
			w.timer = time.NewTimer(workerIdle)
		} else {
			w.timer.Reset(workerIdle)
		}
		select {
		case f = <-w.work:
			w.timer.Stop()
			continue
		case <-w.timer.C:
		}
		// Leave, unless run took this worker meanwhile and is handing it work.
		p.mu.Lock()
		for i, x := range p.idle {
			if x == w {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		f = <-w.work
	}
}

// close makes the idle workers exit, and those still working exit when they finish.
func (p *workers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		w.work <- nil
	}
	p.idle = nil
}
