package wsrpc_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// Greeter is a service: its method Hello is called as greeter_hello.
type Greeter struct{}

// Hello greets name.
func (Greeter) Hello(name string) string { return "hello, " + name }

func ExampleNewHandler() {
	srv := rpc.NewServer(nil)
	defer srv.Stop() // closes the WebSocket connections too
	if err := srv.Register("greeter", Greeter{}); err != nil {
		log.Fatal(err)
	}
	// In a program: http.Handle("/ws", wsrpc.NewHandler(srv, nil)).
	ts := httptest.NewServer(wsrpc.NewHandler(srv, nil))
	defer ts.Close()

	url := "ws" + strings.TrimPrefix(ts.URL, "http") // ws://127.0.0.1:port
	client, err := wsrpc.Dial(context.Background(), url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	var greeting string
	err = client.Call(context.Background(), &greeting, "greeter_hello", "websocket")
	fmt.Println(greeting, err)
	// Output: hello, websocket <nil>
}
