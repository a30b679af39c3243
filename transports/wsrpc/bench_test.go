package wsrpc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// BenchmarkCall measures calls through the Go client over a loopback WebSocket: small
// (test_add) and large (a 64 KiB result) answers, sequential and parallel, with and without
// permessage-deflate.
func BenchmarkCall(b *testing.B) {
	big := strings.Repeat("0123456789abcdef", 4<<10)
	cases := []struct {
		name     string
		compress bool
		method   string
		args     []any
	}{
		{"small", false, "test_add", []any{1, 2}},
		{"small/deflate", true, "test_add", []any{1, 2}},
		{"64KiB", false, "test_repeat", []any{big, 1}},
		{"64KiB/deflate", true, "test_repeat", []any{big, 1}},
	}
	for _, bc := range cases {
		srv := rpctest.NewServer(b, nil)
		c, err := wsrpc.Dial(context.Background(), serve(b, srv, nil), &wsrpc.DialOptions{Compression: bc.compress})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		call := func(b *testing.B) {
			var res any
			if err := c.Call(context.Background(), &res, bc.method, bc.args...); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				call(b)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(b)
				}
			})
		})
	}
}
