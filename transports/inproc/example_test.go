package inproc_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// Counter is an example service: its method Next is called as counter_next.
type Counter struct{ n int }

// Next returns the next number, from 1.
func (c *Counter) Next() int { c.n++; return c.n }

// A client in the same process as the server: no socket, the same codec and answers as over
// the network.
func ExampleDial() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("counter", &Counter{}); err != nil {
		log.Fatal(err)
	}
	client, err := inproc.Dial(srv)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	for range 2 {
		var n int
		err := client.Call(context.Background(), &n, "counter_next")
		fmt.Println(n, err)
	}
	err = client.Call(context.Background(), nil, "counter_reset")
	var coded rpc.CodedError
	if errors.As(err, &coded) {
		fmt.Println(coded.ErrorCode(), err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// -32601 the method counter_reset does not exist/is not available
}
