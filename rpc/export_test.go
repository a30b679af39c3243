package rpc

import (
	"time"

	"github.com/polyrpc/polyrpc/internal/wire/wiretest"
)

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
var AnyBenchDoc = wiretest.EchoDoc

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

// InlinePolicy is how ServeConn runs messages on its reading goroutine (see reader).
type InlinePolicy struct {
	// Slow: how long a message may run there before reading is handed over for the next one
	// (0: after every message run there).
	Slow time.Duration
	// Skips: how many such hand-overs are skipped after one that was of no use (0: none).
	Skips int
	// Budget: the watchdog's period.
	Budget time.Duration
	// OnHandover and OnTakeover, if not nil, run at each hand-over and each takeover of
	// reading by the watchdog.
	OnHandover, OnTakeover func()
}

// SetInlinePolicy sets the inline policy of srv's connections.
func SetInlinePolicy(srv *Server, p InlinePolicy) {
	srv.cfg.inline = inlinePolicy{slow: p.Slow, skips: p.Skips, budget: p.Budget,
		onHandover: p.OnHandover, onTakeover: p.OnTakeover}
}
