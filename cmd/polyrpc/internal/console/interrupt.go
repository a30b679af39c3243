package console

import (
	"context"
	"errors"
	"os"
)

// errInterrupted is the cause of a call's context when the user interrupted it (Ctrl-C).
var errInterrupted = errors.New("interrupted")

// callContext returns the context of one call: bounded by Config.Timeout, and cancelled with
// errInterrupted when Config.Interrupt delivers a signal while the call runs. An interrupt
// that arrived before the call is dropped. Call the returned func when the call is done; it
// stops the goroutine that watches for the interrupt.
func (c *Console) callContext(ctx context.Context) (context.Context, func()) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, c.cfg.Timeout)
	if c.cfg.Interrupt == nil {
		return ctx, func() { cancelTimeout(); cancelCause(nil) }
	}
	drain(c.cfg.Interrupt)
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-c.cfg.Interrupt:
			cancelCause(errInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		<-watched
		cancelTimeout()
		cancelCause(nil)
	}
}

// describe replaces a context error caused by an interrupt with errInterrupted.
func describe(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errInterrupted) {
		return errInterrupted
	}
	return err
}

func drain(ch <-chan os.Signal) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
