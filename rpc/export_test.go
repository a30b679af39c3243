package rpc

import "time"

// StripInvokers makes every method of srv registered so far go through reflect.Value.Call,
// as if its metadata had no Invoke, and returns how many had one. Tests use it to check that
// both ways of calling a method answer alike.
func StripInvokers(srv *Server) int {
	n := 0
	for _, m := range []*map[string]*callback{srv.reg.methods.Load(), srv.reg.subs.Load()} {
		if m == nil {
			continue
		}
		for _, cb := range *m {
			if cb.invoker != nil {
				cb.invoker, cb.rcvrPtr = nil, nil
				n++
			}
		}
	}
	return n
}

// AnyBenchDoc is the 64 KiB JSON document of the echo benchmarks.
var AnyBenchDoc = anyBenchDoc

// Dispatch processes msg on a worker of the session and returns at once (after waiting for a
// call slot); it returns ErrClosed if the session is closed. The session keeps msg.
func (ss *Session) Dispatch(msg []byte) error {
	if !ss.dispatch(msg, nil) {
		return ErrClosed
	}
	return nil
}

// Wait waits until the session's calls have returned.
func (ss *Session) Wait() { ss.wait() }

// SetInlinePolicy sets how ServeConn on srv runs messages on its reading goroutine: slow is
// how long a message may run there before reading is handed over for the next one (0: every
// message that follows one run inline), skips how many such hand-overs are skipped after one
// that was of no use (0: none), budget the watchdog's period.
func SetInlinePolicy(srv *Server, slow time.Duration, skips int, budget time.Duration) {
	srv.cfg.inline = inlinePolicy{slow: slow, skips: skips, budget: budget}
}
