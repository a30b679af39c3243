package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// This file checks the contexts of deadline.go black-box against the standard library's: each
// scenario runs once on the custom context (deadlines.with, lazyCancel) and once on its
// standard counterpart (context.WithDeadline, context.WithCancel), under testing/synctest, and
// what can be observed after each step (Err, Cause, Deadline, Value, AfterFunc, a derived
// context, and Done at the end) must be the same.

type (
	semOwnKey    struct{}
	semParentKey struct{}
)

var errParentCause = errors.New("the parent's cause")

// semEnv is one run of a scenario.
type semEnv struct {
	ctx          context.Context
	cancel       context.CancelFunc
	cancelParent context.CancelCauseFunc // nil: the parent cannot be cancelled
	ran          atomic.Int32            // AfterFunc callbacks that ran
	stops        []func() bool
	stopped      []bool // what the stops reported
	child        context.Context
	cancelChild  context.CancelFunc
}

// semObs is what a step lets be observed.
type semObs struct {
	Err, Cause           error
	Deadline             time.Duration // from the start of the run
	HasDeadline          bool
	Own, Inherited       any
	Ran                  int32
	Stopped              []bool
	ChildErr, ChildCause error
	Done                 bool // observed after the last step only: Done links a lazy context
}

func (e *semEnv) observe(start time.Time) semObs {
	dl, ok := e.ctx.Deadline()
	o := semObs{
		Err:         e.ctx.Err(),
		Cause:       context.Cause(e.ctx),
		HasDeadline: ok,
		Own:         e.ctx.Value(semOwnKey{}),
		Inherited:   e.ctx.Value(semParentKey{}),
		Ran:         e.ran.Load(),
		Stopped:     append([]bool(nil), e.stopped...),
	}
	if ok {
		o.Deadline = dl.Sub(start)
	}
	if e.child != nil {
		o.ChildErr, o.ChildCause = e.child.Err(), context.Cause(e.child)
	}
	return o
}

// A semAction acts on a run; a step of a scenario is one or more actions, observed after.
type semAction func(e *semEnv)

var (
	semWait   semAction = func(e *semEnv) { e.ctx.Done() } // something waits on the context
	semCancel semAction = func(e *semEnv) { e.cancel() }
	semAfter  semAction = func(e *semEnv) {
		e.stops = append(e.stops, context.AfterFunc(e.ctx, func() { e.ran.Add(1) }))
	}
	semStop semAction = func(e *semEnv) {
		e.stopped = append(e.stopped, e.stops[len(e.stops)-1]())
	}
	semCancelParent semAction = func(e *semEnv) {
		if e.cancelParent != nil {
			e.cancelParent(errParentCause)
		}
	}
	semDerive semAction = func(e *semEnv) { e.child, e.cancelChild = context.WithCancel(e.ctx) }
)

func semSleep(d time.Duration) semAction { return func(*semEnv) { time.Sleep(d) } }

// The times of a run, from its start: the context's own deadline, and the deadlines of the
// parents that have one.
const (
	semOwn           = time.Hour
	semParentEarlier = 30 * time.Minute
	semParentLater   = 2 * time.Hour
)

// semParents are the parents a scenario runs under: made at the start of the run, with a value
// of their own.
var semParents = []struct {
	name string
	make func(start time.Time) (context.Context, context.CancelCauseFunc)
}{
	{"background", func(time.Time) (context.Context, context.CancelCauseFunc) {
		return context.WithValue(context.Background(), semParentKey{}, "parent's"), nil
	}},
	{"cancelable", func(time.Time) (context.Context, context.CancelCauseFunc) {
		return context.WithCancelCause(context.WithValue(context.Background(), semParentKey{}, "parent's"))
	}},
	{"earlier deadline", func(start time.Time) (context.Context, context.CancelCauseFunc) {
		return semDeadlineParent(start.Add(semParentEarlier))
	}},
	{"later deadline", func(start time.Time) (context.Context, context.CancelCauseFunc) {
		return semDeadlineParent(start.Add(semParentLater))
	}},
}

// semDeadlineParent returns a parent with deadline dl that can be cancelled with a cause.
func semDeadlineParent(dl time.Time) (context.Context, context.CancelCauseFunc) {
	timed, cancelTimed := context.WithDeadline(context.WithValue(context.Background(), semParentKey{}, "parent's"), dl)
	ctx, cancel := context.WithCancelCause(timed)
	return ctx, func(cause error) {
		cancel(cause)
		cancelTimed()
	}
}

// semKinds pairs each custom context with its standard counterpart.
var semKinds = []struct {
	name   string
	custom func(d *deadlines, parent context.Context, dl time.Time) (context.Context, context.CancelFunc)
	std    func(parent context.Context, dl time.Time) (context.Context, context.CancelFunc)
}{
	{"deadlines.with",
		func(d *deadlines, parent context.Context, dl time.Time) (context.Context, context.CancelFunc) {
			return d.with(parent, dl, nil)
		},
		func(parent context.Context, dl time.Time) (context.Context, context.CancelFunc) {
			return context.WithDeadline(parent, dl)
		}},
	{"lazyCancel",
		func(_ *deadlines, parent context.Context, _ time.Time) (context.Context, context.CancelFunc) {
			return lazyCancel(parent, semOwnKey{}, "own")
		},
		func(parent context.Context, _ time.Time) (context.Context, context.CancelFunc) {
			return context.WithCancel(context.WithValue(parent, semOwnKey{}, "own"))
		}},
}

// semScenarios: before runs before the context is made; each step is observed after it.
var semScenarios = []struct {
	name   string
	before []semAction
	steps  [][]semAction
}{
	{"nothing happens", nil, nil},
	{"time passes", nil, [][]semAction{{semSleep(45 * time.Minute)}, {semSleep(30 * time.Minute)}, {semSleep(time.Hour)}}},
	{"time passes, waited on", nil, [][]semAction{{semWait}, {semSleep(45 * time.Minute)}, {semSleep(30 * time.Minute)}, {semSleep(time.Hour)}}},
	{"cancel", nil, [][]semAction{{semCancel}, {semCancel}}},
	{"cancel, waited on", nil, [][]semAction{{semWait}, {semCancel}}},
	{"cancel after the deadline", nil, [][]semAction{{semSleep(75 * time.Minute)}, {semCancel}}},
	{"parent cancelled", nil, [][]semAction{{semCancelParent}}},
	{"parent cancelled, waited on", nil, [][]semAction{{semWait}, {semCancelParent}}},
	{"parent cancelled, then waited on", nil, [][]semAction{{semCancelParent}, {semWait}}},
	{"parent cancelled after cancel", nil, [][]semAction{{semCancel}, {semCancelParent}}},
	{"parent cancelled after the deadline", nil, [][]semAction{{semSleep(75 * time.Minute)}, {semCancelParent}}},
	{"parent cancelled unseen, then the deadline", nil, [][]semAction{{semCancelParent, semSleep(75 * time.Minute)}}},
	{"parent cancelled unseen, then cancel", nil, [][]semAction{{semCancelParent, semCancel}}},
	{"parent cancelled before", []semAction{semCancelParent}, [][]semAction{{semWait}}},
	{"deadline passed before", []semAction{semSleep(75 * time.Minute)}, [][]semAction{{semWait}}},
	{"AfterFunc, then the deadline", nil, [][]semAction{{semAfter}, {semSleep(75 * time.Minute)}, {semStop}}},
	{"AfterFunc, then cancel", nil, [][]semAction{{semAfter}, {semCancel}, {semStop}}},
	{"AfterFunc, then the parent's cancel", nil, [][]semAction{{semAfter}, {semCancelParent}, {semStop}}},
	{"AfterFunc stopped", nil, [][]semAction{{semAfter}, {semStop}, {semSleep(75 * time.Minute)}, {semStop}}},
	{"AfterFunc once done", nil, [][]semAction{{semCancel}, {semAfter}, {semStop}}},
	{"derived, then the deadline", nil, [][]semAction{{semDerive}, {semSleep(75 * time.Minute)}}},
	{"derived, then the parent's cancel", nil, [][]semAction{{semDerive}, {semCancelParent}}},
	{"derived once done", nil, [][]semAction{{semCancel}, {semDerive}}},
}

// runSem runs one scenario in a synctest bubble and returns what it observed.
func runSem(t *testing.T, before []semAction, steps [][]semAction,
	makeParent func(time.Time) (context.Context, context.CancelCauseFunc),
	makeCtx func(d *deadlines, parent context.Context, dl time.Time) (context.Context, context.CancelFunc)) []semObs {
	var obs []semObs
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var d deadlines
		defer d.stop()
		e := &semEnv{}
		parent, cancelParent := makeParent(start)
		e.cancelParent = cancelParent
		for _, a := range before {
			a(e)
		}
		synctest.Wait()
		e.ctx, e.cancel = makeCtx(&d, parent, start.Add(semOwn))
		obs = append(obs, e.observe(start))
		for _, step := range steps {
			for _, a := range step {
				a(e)
			}
			synctest.Wait()
			obs = append(obs, e.observe(start))
		}
		select {
		case <-e.ctx.Done():
			obs[len(obs)-1].Done = true
		default:
		}
		e.cancel()
		if e.cancelChild != nil {
			e.cancelChild()
		}
		if cancelParent != nil {
			cancelParent(nil)
		}
		synctest.Wait()
	})
	return obs
}

// TestDeadlineSemantics runs every scenario, under every parent, on both custom contexts and
// their standard counterparts, and compares what was observed step by step.
func TestDeadlineSemantics(t *testing.T) {
	for _, k := range semKinds {
		for _, p := range semParents {
			for _, sc := range semScenarios {
				t.Run(k.name+"/"+p.name+"/"+sc.name, func(t *testing.T) {
					got := runSem(t, sc.before, sc.steps, p.make, k.custom)
					want := runSem(t, sc.before, sc.steps, p.make, func(_ *deadlines, parent context.Context, dl time.Time) (context.Context, context.CancelFunc) {
						return k.std(parent, dl)
					})
					for i := range want {
						if !reflect.DeepEqual(got[i], want[i]) {
							t.Errorf("after step %d:\n got  %s\n want %s", i, semString(got[i]), semString(want[i]))
						}
					}
					if last := want[len(want)-1]; last.Done != (last.Err != nil) {
						t.Errorf("the standard context: Done closed %v with Err %v", last.Done, last.Err)
					}
				})
			}
		}
	}
}

func semString(o semObs) string {
	return fmt.Sprintf("Err %v, Cause %v, Deadline %v %v, Value %v %v, AfterFunc ran %d, stop %v, child %v %v, Done %v",
		o.Err, o.Cause, o.Deadline, o.HasDeadline, o.Own, o.Inherited, o.Ran, o.Stopped, o.ChildErr, o.ChildCause, o.Done)
}
