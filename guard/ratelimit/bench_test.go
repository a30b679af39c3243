package ratelimit_test

import (
	"context"
	"testing"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
	"github.com/polyrpc/polyrpc/rpc"
)

type discard struct{}

func (discard) WriteMessage([]byte) error { return nil }

// BenchmarkMiddleware: a call handled by a session without the limiter, with it on a method it
// has no rule for, and charged to an IP-keyed bucket that never runs dry.
func BenchmarkMiddleware(b *testing.B) {
	rule := ratelimit.Rule{Methods: []string{"a_echo"}, Rate: 1e12, Burst: 1 << 30}
	for _, bc := range []struct {
		name   string
		rules  []ratelimit.Rule
		method string
	}{
		{"no limiter", nil, "a_echo"},
		{"no rule for the method", []ratelimit.Rule{rule}, "b_echo"},
		{"ip bucket", []ratelimit.Rule{rule}, "a_echo"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := &rpc.Options{}
			if bc.rules != nil {
				lim, err := ratelimit.New(bc.rules, nil)
				if err != nil {
					b.Fatal(err)
				}
				opts.Middleware = []rpc.Middleware{lim.Middleware()}
			}
			srv := rpc.NewServer(opts)
			defer srv.Stop()
			for _, ns := range []string{"a", "b"} {
				srv.Register(ns, &svc{})
			}
			ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{
				Peer: rpc.PeerInfo{Transport: rpc.TransportWS, RemoteAddr: "10.0.0.1:1000"}}, discard{})
			if err != nil {
				b.Fatal(err)
			}
			defer ss.Close()
			msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"` + bc.method + `","params":[1]}`)
			b.ReportAllocs()
			for b.Loop() {
				ss.Handle(context.Background(), msg)
			}
		})
	}
}
