package bench

import (
	"context"
	"sync"
	"testing"
)

// TestInProcSharedClientConcurrent calls every case from several goroutines sharing one client,
// as applications share a client, with and without a cancellable context. It guards a polyrpc
// bug seen at commit f87b618 and fixed by the "waiting writer" of 6b4af87: when two calls were
// answered at once, the session's writer queued the second answer for the goroutine already
// writing and let its sender return, so the in-process Send returned before the answer reached
// the client; Client.Call then failed with "rpc: the server sent no answer" (a batch: every
// element ErrMissingBatchResponse) and the answer was decoded into the caller's result after
// the call had returned, a data race.
func TestInProcSharedClientConcurrent(t *testing.T) {
	const goroutines, calls = 4, 100
	bg := context.Background()
	cancelCtx, cancel := context.WithCancel(bg)
	defer cancel()
	for _, im := range impls {
		for _, bc := range cases {
			for _, ctx := range []context.Context{bg, cancelCtx} {
				name := im.name + "/" + bc.name + "/background"
				if ctx.Done() != nil {
					name = im.name + "/" + bc.name + "/cancellable"
				}
				t.Run(name, func(t *testing.T) {
					c := im.dial(t)
					var wg sync.WaitGroup
					var mu sync.Mutex
					failed, first := 0, error(nil)
					for range goroutines {
						op := bc.op(c)
						wg.Go(func() {
							for range calls {
								if err := op(ctx); err != nil {
									mu.Lock()
									if failed++; first == nil {
										first = err
									}
									mu.Unlock()
								}
							}
						})
					}
					wg.Wait()
					if failed > 0 {
						t.Errorf("%d of %d calls failed, first: %v", failed, goroutines*calls, first)
					}
				})
			}
		}
	}
}
