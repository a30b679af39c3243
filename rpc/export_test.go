package rpc

import "github.com/polyrpc/polyrpc/internal/wire/wiretest"

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
