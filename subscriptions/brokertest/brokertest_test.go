package brokertest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// broken wraps a MemoryBroker with one defect.
type broken struct {
	*subscriptions.MemoryBroker
	defect string
	h      subscriptions.Handler

	mu   sync.Mutex
	held *subscriptions.Event // "swap": the event waiting for the next
}

func (b *broken) Start(h subscriptions.Handler) error {
	b.h = h
	return b.MemoryBroker.Start(b)
}

func (b *broken) Status(err error) { b.h.Status(err) }

func (b *broken) Deliver(ev subscriptions.Event) {
	switch b.defect {
	case "twice":
		b.h.Deliver(ev)
	case "swap": // deliver each pair of events in reverse
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.held == nil {
			b.held = &ev
			return
		}
		b.h.Deliver(ev)
		ev = *b.held
		b.held = nil
	}
	b.h.Deliver(ev)
}

func (b *broken) Unsubscribe(topic string) error {
	if b.defect == "keep delivering" {
		return nil
	}
	return b.MemoryBroker.Unsubscribe(topic)
}

func (b *broken) History(ctx context.Context, topic string, since *subscriptions.Position, limit int) ([]subscriptions.Event, subscriptions.Position, error) {
	evs, top, err := b.MemoryBroker.History(ctx, topic, since, limit)
	if b.defect == "no prev" {
		for i := range evs {
			evs[i].Prev = 0
		}
	}
	return evs, top, err
}

// failT records failures instead of failing the test; Fatal ends the goroutine.
type failT struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (f *failT) Helper() {}
func (f *failT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, fmt.Sprintf(format, args...))
}
func (f *failT) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }
func (f *failT) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}
func (f *failT) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// TestSuiteFails checks that the suite notices each defect.
func TestSuiteFails(t *testing.T) {
	for _, tt := range []struct {
		defect    string
		retention int
		test      func(testing.TB, subscriptions.Broker, *recorder)
	}{
		{"no prev", Retained, testPositions},
		{"twice", Retained, testConcurrentPublishers},
		{"swap", Retained, testConcurrentPublishers},
		{"keep delivering", Retained, testDelivery},
		{"keeps everything", -1, testRetention},
		{"keeps too little", Retained / 2, testRetention},
	} {
		t.Run(tt.defect, func(t *testing.T) {
			b := &broken{MemoryBroker: subscriptions.NewMemoryBroker(subscriptions.Retention{Events: tt.retention}), defect: tt.defect}
			rec := newRecorder()
			if err := b.Start(rec); err != nil {
				t.Fatal(err)
			}
			ft := &failT{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				tt.test(ft, b, rec)
			}()
			<-done
			if len(ft.failed) == 0 {
				t.Fatal("the suite did not notice")
			}
			t.Logf("noticed: %s", ft.failed[0])
		})
	}
}
