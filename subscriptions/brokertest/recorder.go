package brokertest

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// recorder is the suite's Handler: it keeps every delivery by topic.
type recorder struct {
	mu      sync.Mutex
	byTopic map[string][]subscriptions.Event
	busy    map[string]bool
	overlap string
	status  []error
	more    chan struct{}
}

func newRecorder() *recorder {
	return &recorder{byTopic: make(map[string][]subscriptions.Event), busy: make(map[string]bool), more: make(chan struct{}, 1)}
}

func (r *recorder) Deliver(ev subscriptions.Event) {
	r.mu.Lock()
	if r.busy[ev.Topic] {
		r.overlap = ev.Topic
	}
	r.busy[ev.Topic] = true
	r.mu.Unlock()
	runtime.Gosched() // leave room for a concurrent delivery of the same topic to show
	r.mu.Lock()
	r.busy[ev.Topic] = false
	ev.Data = bytes.Clone(ev.Data)
	r.byTopic[ev.Topic] = append(r.byTopic[ev.Topic], ev)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *recorder) Status(err error) {
	r.mu.Lock()
	r.status = append(r.status, err)
	r.mu.Unlock()
}

func (r *recorder) overlapped() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overlap
}

func (r *recorder) events(topic string) []subscriptions.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]subscriptions.Event(nil), r.byTopic[topic]...)
}

// count is the number of events of topic delivered.
func (r *recorder) count(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byTopic[topic])
}

// wait waits until n events of topic have been delivered and returns them; more than n is an
// error.
func (r *recorder) wait(t testing.TB, topic string, n int) []subscriptions.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		evs := r.events(topic)
		switch {
		case len(evs) > n:
			t.Fatalf("%s: %d events delivered, want %d", topic, len(evs), n)
		case len(evs) == n:
			return evs
		}
		select {
		case <-r.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: %d events delivered after %v, want %d", topic, len(evs), timeout, n)
		}
	}
}

// quiet checks that topic has had exactly n deliveries.
func (r *recorder) quiet(t testing.TB, topic string, n int) {
	t.Helper()
	if got := len(r.events(topic)); got != n {
		t.Errorf("%s: %d events delivered, want %d", topic, got, n)
	}
}
