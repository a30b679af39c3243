package rpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The tests of timers run in a synctest bubble: its clock advances only when every goroutine
// in it is blocked, so a deadline fires exactly when it is due, however loaded the machine.

// runInBubble runs fn as the subtest name, in a synctest bubble of its own.
func runInBubble(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) { synctest.Test(t, fn) })
}

func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not done")
	}
}

// checkEnd runs end, which must make ctx done with wantErr, and checks that ctx, a context
// derived from it before, and a function registered with context.AfterFunc all see it.
func checkEnd(t *testing.T, ctx context.Context, wantErr error, end func()) {
	t.Helper()
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	end()
	waitDone(t, ctx)
	waitDone(t, child)
	<-ran
	if err := ctx.Err(); !errors.Is(err, wantErr) {
		t.Errorf("Err() = %v, want %v", err, wantErr)
	}
	if err := child.Err(); !errors.Is(err, wantErr) {
		t.Errorf("derived context's Err() = %v, want %v", err, wantErr)
	}
}

// TestDeadlineContexts checks deadlines.with against context.WithDeadline's behaviour.
func TestDeadlineContexts(t *testing.T) {
	cases := []struct {
		name    string
		in      time.Duration // until the deadline
		act     func(cancel, cancelParent context.CancelFunc)
		wantErr error
	}{
		{"expires", 20 * time.Millisecond, func(_, _ context.CancelFunc) {}, context.DeadlineExceeded},
		{"cancelled", time.Hour, func(cancel, _ context.CancelFunc) { cancel() }, context.Canceled},
		{"parent cancelled", time.Hour, func(_, cancelParent context.CancelFunc) { cancelParent() }, context.Canceled},
		{"already past", -time.Second, func(_, _ context.CancelFunc) {}, context.DeadlineExceeded},
	}
	for _, c := range cases {
		runInBubble(t, c.name, func(t *testing.T) {
			var d deadlines
			defer d.stop()
			parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), sessionKey{}, "v"))
			defer cancelParent()
			dl := time.Now().Add(c.in)
			ctx, cancel := d.with(parent, dl, nil)
			defer cancel()
			if got, ok := ctx.Deadline(); !ok || !got.Equal(dl) {
				t.Errorf("Deadline() = %v, %v; want %v", got, ok, dl)
			}
			if ctx.Value(sessionKey{}) != "v" {
				t.Error("Value does not reach the parent")
			}
			checkEnd(t, ctx, c.wantErr, func() { c.act(cancel, cancelParent) })
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.first != nil || d.last != nil {
				t.Error("a done context is still listed")
			}
		})
	}
}

// TestDeadlinesOrder: contexts created out of deadline order each expire at their deadline, not
// before it nor after it.
func TestDeadlinesOrder(t *testing.T) { synctest.Test(t, testDeadlinesOrder) }

func testDeadlinesOrder(t *testing.T) {
	var d deadlines
	defer d.stop()
	now := time.Now()
	var mu sync.Mutex
	var early []int
	var wg sync.WaitGroup
	for _, ms := range []int{30, 10, 50, 20, 40} {
		dl := now.Add(time.Duration(ms) * time.Millisecond)
		ctx, cancel := d.with(context.Background(), dl, nil)
		defer cancel()
		wg.Add(1)
		context.AfterFunc(ctx, func() {
			defer wg.Done()
			if !time.Now().Equal(dl) || ctx.Err() != context.DeadlineExceeded {
				mu.Lock()
				early = append(early, ms)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(early) > 0 {
		t.Errorf("contexts of %v ms did not end at their deadline with DeadlineExceeded", early)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first != nil || !d.armed.IsZero() {
		t.Errorf("after the last deadline: listed %v, timer armed for %v", d.first != nil, d.armed)
	}
}

// TestDeadlinesOneTimer: calls that finish before their deadline leave the timer alone (it stays
// armed for the first one) instead of moving it for each.
func TestDeadlinesOneTimer(t *testing.T) {
	var d deadlines
	defer d.stop()
	first := time.Now().Add(time.Hour)
	_, cancel := d.with(context.Background(), first, nil)
	cancel()
	for i := range 100 {
		_, cancel := d.with(context.Background(), first.Add(time.Duration(i+1)*time.Millisecond), nil)
		cancel()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.armed.Equal(first) {
		t.Errorf("timer armed for %v, want the first deadline %v", d.armed, first)
	}
	if d.first != nil {
		t.Error("cancelled contexts are still listed")
	}
}

// TestDeadlineAfterFuncStop: a stopped AfterFunc does not run; stop reports whether it stopped it.
func TestDeadlineAfterFuncStop(t *testing.T) { synctest.Test(t, testDeadlineAfterFuncStop) }

func testDeadlineAfterFuncStop(t *testing.T) {
	var d deadlines
	defer d.stop()
	ctx, cancel := d.with(context.Background(), time.Now().Add(time.Hour), nil)
	ran := make(chan struct{}, 2)
	stop := context.AfterFunc(ctx, func() { ran <- struct{}{} })
	if !stop() {
		t.Error("first stop reported false")
	}
	if stop() {
		t.Error("second stop reported true")
	}
	context.AfterFunc(ctx, func() { ran <- struct{}{} })
	cancel()
	waitDone(t, ctx)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc not run")
	}
	synctest.Wait() // every goroutine of the bubble has ended or is blocked
	if len(ran) != 0 {
		t.Error("a stopped AfterFunc ran")
	}
}

// TestDeadlinesConcurrent: many goroutines create contexts, half with short deadlines and half
// cancelled long before theirs, while the timer fires; every context ends with the right error
// and nothing stays listed.
func TestDeadlinesConcurrent(t *testing.T) { synctest.Test(t, testDeadlinesConcurrent) }

func testDeadlinesConcurrent(t *testing.T) {
	var d deadlines
	defer d.stop()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				in, want := time.Duration(1+(g+i)%4)*time.Millisecond, context.DeadlineExceeded
				if i%2 == 0 {
					in, want = time.Hour, context.Canceled // cancelled well before its deadline
				}
				ctx, cancel := d.with(context.Background(), time.Now().Add(in), nil)
				if i%2 == 0 {
					cancel()
				}
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
					errs <- errors.New("a context outlived its deadline by seconds")
					return
				}
				if err := ctx.Err(); err != want {
					errs <- errors.New("context ended with " + err.Error() + ", want " + want.Error())
					return
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first != nil || d.last != nil {
		t.Error("contexts still listed after all ended")
	}
}

// TestDeadlineExpiredHook: the function given to with runs when the deadline passes first, and
// not when the context is cancelled or its parent is.
func TestDeadlineExpiredHook(t *testing.T) {
	cases := []struct {
		name    string
		in      time.Duration
		act     func(cancel, cancelParent context.CancelFunc)
		wantRun bool
	}{
		{"expires", 20 * time.Millisecond, func(_, _ context.CancelFunc) {}, true},
		{"already past", -time.Second, func(_, _ context.CancelFunc) {}, true},
		{"cancelled first", 30 * time.Millisecond, func(cancel, _ context.CancelFunc) { cancel() }, false},
		{"parent cancelled first", 30 * time.Millisecond, func(_, cancelParent context.CancelFunc) { cancelParent() }, false},
	}
	for _, c := range cases {
		runInBubble(t, c.name, func(t *testing.T) {
			var d deadlines
			defer d.stop()
			parent, cancelParent := context.WithCancel(context.Background())
			defer cancelParent()
			ran := make(chan struct{}, 2)
			ctx, cancel := d.with(parent, time.Now().Add(c.in), func() { ran <- struct{}{} })
			defer cancel()
			c.act(cancel, cancelParent)
			if c.wantRun {
				waitDone(t, ctx)
				select {
				case <-ran:
				case <-time.After(5 * time.Second):
					t.Fatal("the hook did not run")
				}
			}
			time.Sleep(80 * time.Millisecond) // past the deadline of every case
			synctest.Wait()
			if n := len(ran); n != 0 {
				t.Errorf("the hook ran %d more times", n)
			}
			if !c.wantRun && ctx.Err() != context.Canceled {
				t.Errorf("Err() = %v, want %v", ctx.Err(), context.Canceled)
			}
		})
	}
}

// TestDeadlineLazyParent: a context nobody waits on does not link itself to its parent, yet
// reports the parent's cancellation at once; one that is waited on follows it.
func TestDeadlineLazyParent(t *testing.T) {
	var d deadlines
	defer d.stop()
	for _, wait := range []bool{false, true} {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, cancel := d.with(parent, time.Now().Add(time.Hour), nil)
		c := ctx.(*lazyCtx)
		if wait {
			ctx.Done()
		}
		c.mu.Lock()
		linked := c.linked
		c.mu.Unlock()
		if linked != wait {
			t.Errorf("waited on: %v, linked to the parent: %v", wait, linked)
		}
		cancelParent()
		if wait {
			waitDone(t, ctx)
		}
		if err := ctx.Err(); err != context.Canceled {
			t.Errorf("waited on: %v: Err() after the parent's cancel = %v", wait, err)
		}
		select {
		case <-ctx.Done():
		default:
			t.Errorf("waited on: %v: Done not closed after Err reported the cancel", wait)
		}
		d.mu.Lock()
		listed := c.listed
		d.mu.Unlock()
		if listed {
			t.Errorf("waited on: %v: the cancelled context is still listed", wait)
		}
		cancel()
	}
}

// TestLazyCancel checks lazyCancel, a session's context, against context.WithCancel's
// behaviour, and that it links to its parent only once something waits on it.
func TestLazyCancel(t *testing.T) {
	type otherKey struct{}
	cases := []struct {
		name    string
		parentD time.Duration // the parent's deadline from now; 0: none
		act     func(cancel, cancelParent context.CancelFunc)
		wait    bool // something waits on the context (Done) before act
		wantErr error
	}{
		{"cancelled", 0, func(cancel, _ context.CancelFunc) { cancel() }, false, context.Canceled},
		{"cancelled, waited on", 0, func(cancel, _ context.CancelFunc) { cancel() }, true, context.Canceled},
		{"parent cancelled", 0, func(_, cancelParent context.CancelFunc) { cancelParent() }, false, context.Canceled},
		{"parent cancelled, waited on", 0, func(_, cancelParent context.CancelFunc) { cancelParent() }, true, context.Canceled},
		{"parent's deadline", 20 * time.Millisecond, func(_, _ context.CancelFunc) {}, true, context.DeadlineExceeded},
	}
	for _, c := range cases {
		runInBubble(t, c.name, func(t *testing.T) {
			base := context.WithValue(context.Background(), otherKey{}, "parent's")
			var parent context.Context
			var cancelParent context.CancelFunc
			if c.parentD > 0 {
				parent, cancelParent = context.WithTimeout(base, c.parentD)
			} else {
				parent, cancelParent = context.WithCancel(base)
			}
			defer cancelParent()
			ctx, cancel := lazyCancel(parent, sessionKey{}, "session's")
			defer cancel()
			if ctx.Value(sessionKey{}) != "session's" || ctx.Value(otherKey{}) != "parent's" {
				t.Errorf("Value: %v, %v", ctx.Value(sessionKey{}), ctx.Value(otherKey{}))
			}
			pdl, pok := parent.Deadline()
			if dl, ok := ctx.Deadline(); ok != pok || !dl.Equal(pdl) {
				t.Errorf("Deadline() = %v, %v; the parent's is %v, %v", dl, ok, pdl, pok)
			}
			if err := ctx.Err(); err != nil {
				t.Fatalf("Err() before = %v", err)
			}
			if c.wait {
				ctx.Done()
			}
			if linked := ctx.(*lazyCtx).linked; linked != c.wait {
				t.Errorf("linked to the parent: %v, want %v", linked, c.wait)
			}
			checkEnd(t, ctx, c.wantErr, func() {
				c.act(cancel, cancelParent)
				if err := ctx.Err(); !errors.Is(err, c.wantErr) && c.parentD == 0 {
					t.Errorf("Err() at once = %v, want %v", err, c.wantErr)
				}
			})
		})
	}
	// Made from a parent already done: done at once.
	parent, cancelParent := context.WithCancel(context.Background())
	cancelParent()
	ctx, cancel := lazyCancel(parent, sessionKey{}, nil)
	defer cancel()
	if ctx.Err() != context.Canceled {
		t.Errorf("from a cancelled parent: Err() = %v", ctx.Err())
	}
	waitDone(t, ctx)
}
