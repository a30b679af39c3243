package rpc

import (
	"sync"
	"sync/atomic"
	"time"
)

// claimed is watchdog.cur once the watchdog has taken reading away from a message's goroutine.
const claimed = ^uint64(0)

// watchdog notices a message that runs too long on the reading goroutine (see reader) and
// starts the read loop on another goroutine: once it has seen the same message running at two
// of its checks, a period apart, so after between one and two periods.
//
// Invariant: no timer is armed, moved or stopped per message (a timer change wakes the
// runtime's network poller). The one timer is armed when a message starts while the watchdog
// is idle, and re-arms itself, once per period, only while messages keep running.
type watchdog struct {
	cur      atomic.Uint64 // sequence number of the message running inline; 0: none; claimed
	armed    atomic.Bool   // the timer is pending or its function is running
	timer    *time.Timer
	period   time.Duration
	takeover func() // runs the read loop on the timer's goroutine

	mu   sync.Mutex // serialises the timer's function
	seen uint64     // cur at the previous check
}

func newWatchdog(period time.Duration, takeover func()) *watchdog {
	w := &watchdog{period: period, takeover: takeover}
	w.timer = time.AfterFunc(time.Hour, w.check)
	w.timer.Stop()
	return w
}

// begin records that message seq (never 0 or claimed) starts running inline.
func (w *watchdog) begin(seq uint64) {
	w.cur.Store(seq)
	if !w.armed.Load() && w.armed.CompareAndSwap(false, true) {
		w.timer.Reset(w.period)
	}
}

// end records that message seq has returned; it reports false if reading was taken over
// meanwhile, so the caller's goroutine must stop reading.
func (w *watchdog) end(seq uint64) bool { return w.cur.CompareAndSwap(seq, 0) }

// check is the timer's function.
func (w *watchdog) check() {
	w.mu.Lock()
	s := w.cur.Load()
	switch {
	case s == 0 || s == claimed:
		// Idle: disarm, unless a message began meanwhile without arming (it saw armed).
		w.armed.Store(false)
		s = w.cur.Load()
		if s == 0 || s == claimed || !w.armed.CompareAndSwap(false, true) {
			w.mu.Unlock()
			return
		}
	case s == w.seen && w.cur.CompareAndSwap(s, claimed):
		// The same message as a budget ago: read on this goroutine.
		w.seen = 0
		w.armed.Store(false)
		w.mu.Unlock()
		w.takeover()
		return
	}
	w.seen = s
	w.timer.Reset(w.period)
	w.mu.Unlock()
}

// stop stops the timer; a check already running finds nothing to take over.
func (w *watchdog) stop() { w.timer.Stop() }
