package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// Calculator is a service: its exported methods become calc_add, calc_div, ...
type Calculator struct{}

// Add adds two numbers.
func (Calculator) Add(a, b int) int { return a + b }

// Div divides, failing on zero.
func (Calculator) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, errors.New("division by zero")
	}
	return a / b, nil
}

// Point is the single struct argument of Norm1: by-name params fill its fields.
type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

// Norm1 returns |x| + |y|.
func (Calculator) Norm1(p Point) int { return abs(p.X) + abs(p.Y) }

func abs(v int) int { return max(v, -v) }

func Example() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("calc", Calculator{}, rpc.WithParamNames("Add", "a", "b")); err != nil {
		log.Fatal(err)
	}
	client, err := inproc.Dial(srv)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	var sum int
	err = client.Call(ctx, &sum, "calc_add", 1, 2)
	fmt.Println(sum, err)

	err = client.CallNamed(ctx, &sum, "calc_add", map[string]int{"a": 40, "b": 2})
	fmt.Println(sum, err)

	var n int
	err = client.CallNamed(ctx, &n, "calc_norm1", Point{X: -3, Y: 4})
	fmt.Println(n, err)

	var q float64
	err = client.Call(ctx, &q, "calc_div", 1, 0)
	var rpcErr *rpc.Error
	if errors.As(err, &rpcErr) {
		fmt.Println(rpcErr.Code, rpcErr.Message)
	}
	// Output:
	// 3 <nil>
	// 42 <nil>
	// 7 <nil>
	// -32000 division by zero
}

// A session shows the wire: raw messages in, answers out.
func ExampleServer_NewSession() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	srv.Register("calc", Calculator{})
	ss, _ := srv.NewSession(context.Background(), rpc.ConnOptions{}, stdout{})
	defer ss.Close()
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"calc_add","params":[1,2]}`))
	ss.Handle(context.Background(), []byte(`[{"jsonrpc":"2.0","id":"a","method":"calc_div","params":[1,4]},{"jsonrpc":"2.0","method":"calc_add","params":[1,1]},{"jsonrpc":"2.0","id":"b","method":"calc_sub"}]`))
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":2,"method":"calc_add","params":{"a":1}}`))
	ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":3,"method":"calc_norm1","params":{"x":1,"z":2}}`))
	// Output:
	// {"jsonrpc":"2.0","id":1,"result":3}
	// [{"jsonrpc":"2.0","id":"a","result":0.25},{"jsonrpc":"2.0","id":"b","error":{"code":-32601,"message":"the method calc_sub does not exist/is not available"}}]
	// {"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"non-array args: the parameter names of calc_add are unknown, pass params as an array"}}
	// {"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"unknown argument \"z\": calc_norm1 takes \"x\", \"y\""}}
}

type stdout struct{}

func (stdout) WriteMessage(msg []byte) error {
	_, err := os.Stdout.Write(msg)
	return err
}

// Bind turns a method into a typed Go function.
func ExampleBind() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	srv.Register("calc", Calculator{})
	client, _ := inproc.Dial(srv)
	defer client.Close()

	var div func(ctx context.Context, a, b float64) (float64, error)
	if err := rpc.Bind(client, "calc_div", &div); err != nil {
		log.Fatal(err)
	}
	fmt.Println(div(context.Background(), 1, 8))
	fmt.Println(div(context.Background(), 1, 0))
	// Output:
	// 0.125 <nil>
	// 0 division by zero
}

func ExampleClient_BatchCall() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	srv.Register("calc", Calculator{})
	client, _ := inproc.Dial(srv)
	defer client.Close()

	var a, b float64
	batch := []rpc.BatchElem{
		{Method: "calc_div", Args: []any{1, 2}, Result: &a},
		{Method: "calc_div", Args: []any{1, 0}, Result: &b},
	}
	if err := client.BatchCall(context.Background(), batch); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a, batch[0].Error)
	fmt.Println(batch[1].Error)
	// Output:
	// 0.5 <nil>
	// division by zero
}

// A middleware that refuses a method: calc_div is answered with an error of the middleware's
// choosing before its params are decoded, and every other call goes through. The same
// middleware sees every call of every transport.
func ExampleMiddleware() {
	noDiv := func(next rpc.Handler) rpc.Handler {
		return func(ctx context.Context, c *rpc.Call) rpc.Outcome {
			if c.Method.Name == "calc_div" {
				return rpc.Outcome{Err: &rpc.Error{Code: -32099, Message: "calc_div is switched off"}}
			}
			return next(ctx, c)
		}
	}
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{noDiv}})
	defer srv.Stop()
	srv.Register("calc", Calculator{})
	client, _ := inproc.Dial(srv)
	defer client.Close()

	var sum int
	err := client.Call(context.Background(), &sum, "calc_add", 1, 2)
	fmt.Println(sum, err)
	var q float64
	err = client.Call(context.Background(), &q, "calc_div", 1, 2)
	fmt.Println(err)
	// Output:
	// 3 <nil>
	// calc_div is switched off
}
