package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// Inner is the nested struct of Obj.
type Inner struct {
	Flag bool   `json:"flag"`
	Note string `json:"note"`
}

// Obj is the struct argument and result of Three.
type Obj struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Values []int  `json:"values"`
	Inner  Inner  `json:"inner"`
}

// Service is registered as namespace "test" on both servers; the same method set serves both.
type Service struct{}

// Ping takes nothing and answers "pong".
func (Service) Ping() string { return "pong" }

// Three takes an int, a string and a struct, and returns the struct changed by the other two.
func (Service) Three(a int, s string, o Obj) (Obj, error) {
	o.ID += a
	o.Name = s + "/" + o.Name
	o.Values = append(o.Values, a)
	o.Inner.Flag = !o.Inner.Flag
	return o, nil
}

// sampleObj is the struct sent to test_three.
func sampleObj() Obj {
	return Obj{
		ID:     7,
		Name:   "seven",
		Values: []int{1, 2, 3, 4, 5, 6, 7, 8},
		Inner:  Inner{Flag: true, Note: "nested"},
	}
}

// checkThree reports whether got is what Three(a, s, in) returns. It is a cheap field-by-field
// comparison, so the check does not weigh on the measurement.
func checkThree(got Obj, a int, s string, in Obj) bool {
	if got.ID != in.ID+a || got.Name != s+"/"+in.Name || len(got.Values) != len(in.Values)+1 ||
		got.Values[len(in.Values)] != a || got.Inner.Flag == in.Inner.Flag || got.Inner.Note != in.Inner.Note {
		return false
	}
	for i, v := range in.Values {
		if got.Values[i] != v {
			return false
		}
	}
	return true
}

// caller is what a benchmark needs from either client.
type caller interface {
	call(ctx context.Context, result any, method string, args ...any) error
	// batchPing sends n test_ping calls as one batch and stores the answers in out.
	batchPing(ctx context.Context, out []string) error
}

type polyCaller struct {
	c     *rpc.Client
	elems []rpc.BatchElem
}

func (p *polyCaller) call(ctx context.Context, result any, method string, args ...any) error {
	return p.c.Call(ctx, result, method, args...)
}

func (p *polyCaller) batchPing(ctx context.Context, out []string) error {
	if len(p.elems) != len(out) {
		p.elems = make([]rpc.BatchElem, len(out))
	}
	for i := range p.elems {
		out[i] = ""
		p.elems[i] = rpc.BatchElem{Method: "test_ping", Result: &out[i]}
	}
	if err := p.c.BatchCall(ctx, p.elems); err != nil {
		return err
	}
	for i := range p.elems {
		if err := p.elems[i].Error; err != nil {
			return fmt.Errorf("batch element %d: %w", i, err)
		}
	}
	return nil
}

type gethCaller struct {
	c     *gethrpc.Client
	elems []gethrpc.BatchElem
}

func (g *gethCaller) call(ctx context.Context, result any, method string, args ...any) error {
	return g.c.CallContext(ctx, result, method, args...)
}

func (g *gethCaller) batchPing(ctx context.Context, out []string) error {
	if len(g.elems) != len(out) {
		g.elems = make([]gethrpc.BatchElem, len(out))
	}
	for i := range g.elems {
		out[i] = ""
		g.elems[i] = gethrpc.BatchElem{Method: "test_ping", Result: &out[i]}
	}
	if err := g.c.BatchCallContext(ctx, g.elems); err != nil {
		return err
	}
	for i := range g.elems {
		if err := g.elems[i].Error; err != nil {
			return fmt.Errorf("batch element %d: %w", i, err)
		}
	}
	return nil
}

// impl is one side of the comparison. dial returns a caller on a fresh server and connection,
// both closed when the benchmark or test ends.
type impl struct {
	name string
	dial func(tb testing.TB) caller
}

var impls = []impl{
	{"polyrpc", dialPoly},
	{"geth", dialGeth},
}

func dialPoly(tb testing.TB) caller {
	srv := rpc.NewServer(nil)
	if err := srv.Register("test", Service{}); err != nil {
		tb.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		srv.Stop()
	})
	return &polyCaller{c: c}
}

func dialGeth(tb testing.TB) caller {
	srv := gethrpc.NewServer()
	if err := srv.RegisterName("test", Service{}); err != nil {
		tb.Fatal(err)
	}
	c := gethrpc.DialInProc(srv)
	tb.Cleanup(func() {
		c.Close()
		srv.Stop()
	})
	return &gethCaller{c: c}
}

const batchSize = 100

// benchCase is one measured operation; it returns an error if the answer is wrong.
type benchCase struct {
	name string
	// op returns a function doing one operation; each goroutine of RunParallel gets its own.
	op func(c caller) func(ctx context.Context) error
}

var cases = []benchCase{
	{"noargs", func(c caller) func(context.Context) error {
		return func(ctx context.Context) error {
			var res string
			if err := c.call(ctx, &res, "test_ping"); err != nil {
				return err
			}
			if res != "pong" {
				return fmt.Errorf("test_ping answered %q", res)
			}
			return nil
		}
	}},
	{"three-args", func(c caller) func(context.Context) error {
		in := sampleObj()
		return func(ctx context.Context) error {
			var res Obj
			if err := c.call(ctx, &res, "test_three", 35, "hello", in); err != nil {
				return err
			}
			if !checkThree(res, 35, "hello", in) {
				return fmt.Errorf("test_three answered %+v", res)
			}
			return nil
		}
	}},
	{"batch100", func(c caller) func(context.Context) error {
		out := make([]string, batchSize)
		// A caller keeps its BatchElem slice between calls, so each op gets a copy of the
		// caller: ops made from one caller can then run concurrently on its client.
		var own caller
		switch c := c.(type) {
		case *polyCaller:
			own = &polyCaller{c: c.c}
		case *gethCaller:
			own = &gethCaller{c: c.c}
		}
		return func(ctx context.Context) error {
			if err := own.batchPing(ctx, out); err != nil {
				return err
			}
			for i, r := range out {
				if r != "pong" {
					return fmt.Errorf("batch element %d answered %q", i, r)
				}
			}
			return nil
		}
	}},
}

// BenchmarkInProc measures one call at a time from one goroutine, with context.Background.
func BenchmarkInProc(b *testing.B) {
	ctx := context.Background()
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for _, im := range impls {
				b.Run(im.name, func(b *testing.B) {
					op := bc.op(im.dial(b))
					if err := op(ctx); err != nil { // warm up and check once outside the timer
						b.Fatal(err)
					}
					b.ReportAllocs()
					for b.Loop() {
						if err := op(ctx); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkInProcParallel is BenchmarkInProc with GOMAXPROCS goroutines calling at once on one
// shared client, as applications share one.
func BenchmarkInProcParallel(b *testing.B) {
	ctx := context.Background()
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for _, im := range impls {
				b.Run(im.name, func(b *testing.B) {
					c := im.dial(b)
					if err := bc.op(c)(ctx); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						op := bc.op(c)
						for pb.Next() {
							if err := op(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

// BenchmarkInProcParallelOwnClient is BenchmarkInProcParallel with a client (a connection) per
// goroutine. Set against BenchmarkInProcParallel it shows what sharing one connection costs:
// polyrpc's session writes one answer at a time, and on the in-process transport writing an
// answer includes the client decoding it, so callers sharing a connection wait for each other.
func BenchmarkInProcParallelOwnClient(b *testing.B) {
	ctx := context.Background()
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for _, im := range impls {
				b.Run(im.name, func(b *testing.B) {
					ops := make([]func(context.Context) error, runtime.GOMAXPROCS(0))
					for i := range ops {
						ops[i] = bc.op(im.dial(b))
						if err := ops[i](ctx); err != nil {
							b.Fatal(err)
						}
					}
					var next atomic.Int32
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						// RunParallel starts GOMAXPROCS goroutines (parallelism 1), one per op.
						op := ops[int(next.Add(1)-1)%len(ops)]
						for pb.Next() {
							if err := op(ctx); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

// BenchmarkInProcCancelCtx is the noargs case with a cancellable context, as most callers pass
// one (a timeout). polyrpc's in-process transport then runs the call on a goroutine of its own
// so the caller can stop waiting; go-ethereum's always goes through its pipe and goroutines.
func BenchmarkInProcCancelCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, im := range impls {
		b.Run("noargs/"+im.name, func(b *testing.B) {
			op := cases[0].op(im.dial(b))
			if err := op(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := op(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSameAnswers checks, outside any benchmark, that both servers give the same answers to
// every case, so a benchmark never compares a failing path with a working one.
func TestSameAnswers(t *testing.T) {
	ctx := context.Background()
	for _, im := range impls {
		c := im.dial(t)
		for _, bc := range cases {
			if err := bc.op(c)(ctx); err != nil {
				t.Errorf("%s/%s: %v", im.name, bc.name, err)
			}
		}
	}
}
