package transports_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports"
	"github.com/polyrpc/polyrpc/transports/httprpc"
	"github.com/polyrpc/polyrpc/transports/wsrpc"
)

// Clock is an example service: its method Zone is called as clock_zone.
type Clock struct{}

// Zone returns the name of the server's time zone.
func (Clock) Zone() string { return "UTC" }

// One address serving HTTP and WebSocket, as go-ethereum's node does, dialed by endpoint: the
// scheme chooses the transport, and the options carry an Authorization header to both.
func ExampleDial() {
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("clock", Clock{}); err != nil {
		log.Fatal(err)
	}
	httpHandler, wsHandler := httprpc.NewHandler(srv, nil), wsrpc.NewHandler(srv, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if wsrpc.IsUpgrade(r) {
			wsHandler.ServeHTTP(w, r)
			return
		}
		httpHandler.ServeHTTP(w, r)
	}))
	defer ts.Close()

	opts := &transports.Options{Header: http.Header{"Authorization": {"Bearer secret"}}}
	for _, endpoint := range []string{ts.URL, "ws" + strings.TrimPrefix(ts.URL, "http")} {
		client, err := transports.Dial(context.Background(), endpoint, opts)
		if err != nil {
			log.Fatal(err)
		}
		var zone string
		err = client.Call(context.Background(), &zone, "clock_zone")
		fmt.Println(endpoint[:strings.Index(endpoint, ":")], zone, err)
		client.Close()
	}
	// Output:
	// http UTC <nil>
	// ws UTC <nil>
}
