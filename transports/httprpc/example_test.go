package httprpc_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/httprpc"
)

// Calc is an example service: its methods are called as calc_add and so on.
type Calc struct{}

// Add adds two numbers.
func (Calc) Add(a, b int) int { return a + b }

func ExampleNewHandler() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("calc", Calc{}); err != nil {
		log.Fatal(err)
	}

	// Serve over HTTP with go-ethereum's timeouts (use ":8545" in a real program).
	hs := httprpc.NewHTTPServer(httprpc.NewHandler(srv, nil), httprpc.DefaultTimeouts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()

	client, err := httprpc.Dial(context.Background(), "http://"+ln.Addr().String(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	var sum int
	err = client.Call(context.Background(), &sum, "calc_add", 1, 2)
	fmt.Println(sum, err)
	// Output: 3 <nil>
}
