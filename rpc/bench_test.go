package rpc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// These benchmarks track the in-process path; integration_test/bench compares it with
// go-ethereum in the same run.

func benchClient(b *testing.B) *rpc.Client {
	return benchClientOf(b, rpctest.NewServer(b, nil))
}

func benchClientOf(b *testing.B, srv *rpc.Server) *rpc.Client {
	c, err := inproc.Dial(srv)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	b.Run("no-args-string", func(b *testing.B) {
		c := benchClient(b)
		b.ReportAllocs()
		for b.Loop() {
			var s string
			if err := c.Call(ctx, &s, "test_iD"); err != nil || s != "id" {
				b.Fatal(s, err)
			}
		}
	})
	b.Run("three-args-struct", func(b *testing.B) {
		c := benchClient(b)
		args := &rpctest.EchoArgs{S: "payload"}
		b.ReportAllocs()
		for b.Loop() {
			var r rpctest.EchoResult
			if err := c.Call(ctx, &r, "test_echo", "hello", 42, args); err != nil || r.Int != 42 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("batch-100", func(b *testing.B) {
		c := benchClient(b)
		batch := make([]rpc.BatchElem, 100)
		results := make([]string, 100)
		b.ReportAllocs()
		for b.Loop() {
			for i := range batch {
				batch[i] = rpc.BatchElem{Method: "test_iD", Result: &results[i]}
			}
			if err := c.BatchCall(ctx, batch); err != nil {
				b.Fatal(err)
			}
			for i := range batch {
				if batch[i].Error != nil || results[i] != "id" {
					b.Fatal(i, batch[i].Error, results[i])
				}
			}
		}
	})
}

// discard is a MessageWriter that drops what it is given.
type discard struct{}

func (discard) WriteMessage([]byte) error { return nil }

// BenchmarkHandleBatch is the server's side of a batch of 100 calls alone: Session.Handle of
// the raw batch, the answer dropped.
// The reflect sub-benchmark calls the methods through reflect.Value.Call instead of their
// generated invokers.
func BenchmarkHandleBatch(b *testing.B) {
	b.Run("invoker", func(b *testing.B) { benchHandleBatch(b, rpctest.NewServer(b, nil)) })
	b.Run("reflect", func(b *testing.B) {
		srv := rpctest.NewServer(b, nil)
		rpc.StripInvokers(srv)
		benchHandleBatch(b, srv)
	})
}

func benchHandleBatch(b *testing.B, srv *rpc.Server) {
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	defer ss.Close()
	msg := []byte{'['}
	for i := range 100 {
		if i > 0 {
			msg = append(msg, ',')
		}
		msg = fmt.Appendf(msg, `{"jsonrpc":"2.0","id":%d,"method":"test_iD"}`, i)
	}
	msg = append(msg, ']')
	b.ReportAllocs()
	for b.Loop() {
		if err := ss.Handle(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleEcho is the server's side of test_echoAny with a 64 KiB JSON document, the
// network benchmarks' echo: Session.Handle of the request, the answer dropped.
func BenchmarkHandleEcho(b *testing.B) {
	srv := rpctest.NewServer(b, nil)
	ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	defer ss.Close()
	doc := rpc.AnyBenchDoc()
	msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":"test_echoAny","params":[%s]}`, doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ss.Handle(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
}
