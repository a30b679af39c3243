package subscriptions

import (
	"runtime"
	"sync"
)

// turns hands out the drain goroutines' turns, process-wide as the Go scheduler is: a drain
// with more to write after a burst takes its next turn by yielding (runtime.Gosched), which puts
// it at the back of the scheduler's global run queue, behind the goroutines that the network
// has woken meanwhile (a reader with a call to answer, a new connection). At most
// 8×GOMAXPROCS drains wait in the run queues at once; the others wait here, in order, and
// enter the run queue as those ahead of them get to run. So a call waits behind a few bursts
// however many connections push flat out, and every connection gets its turn.
//
// Nothing here waits for the network: a drain holds no place while it writes, so a client that
// does not read delays no one else.
var turns = turnstile{perP: 8}

// A turnstile bounds the goroutines that take turns through it and wait in the scheduler's run
// queues at once to perP×GOMAXPROCS; the others wait in order.
type turnstile struct {
	perP int

	mu      sync.Mutex
	queued  int             // drains in the run queues, between their yield and their turn
	waiting []chan struct{} // drains waiting for a place in the run queues, from head
	head    int
}

// next returns when it is the caller's turn again; wake is the caller's own channel (buffered,
// capacity 1) on which it is told that a place in the run queue was taken for it.
func (t *turnstile) next(wake chan struct{}) {
	most := t.perP * runtime.GOMAXPROCS(0)
	t.mu.Lock()
	if t.queued < most {
		t.queued++
		t.mu.Unlock()
	} else {
		t.waiting = append(t.waiting, wake)
		t.mu.Unlock()
		<-wake // a place was taken for this drain
	}
	runtime.Gosched()
	t.mu.Lock()
	t.queued--
	if t.head < len(t.waiting) && t.queued < most {
		w := t.waiting[t.head]
		t.waiting[t.head] = nil
		switch t.head++; {
		case t.head == len(t.waiting):
			t.waiting, t.head = t.waiting[:0], 0
		case t.head >= 64 && 2*t.head >= len(t.waiting):
			n := copy(t.waiting, t.waiting[t.head:])
			clear(t.waiting[n:])
			t.waiting, t.head = t.waiting[:n], 0
		}
		t.queued++
		w <- struct{}{}
	}
	t.mu.Unlock()
}
