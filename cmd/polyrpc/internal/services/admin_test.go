package services

import (
	"context"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

func TestAdmin(t *testing.T) {
	since := time.Now().Add(-time.Minute)
	conns := []Conn{
		{Transport: "ws", RemoteAddr: "127.0.0.1:5", Subscriptions: 2, Since: since.Add(time.Second)},
		{Transport: "ipc", Since: since},
		{Transport: "ws", RemoteAddr: "127.0.0.1:6", UserAgent: "ua", Origin: "http://x", Subscriptions: 1, Since: since},
	}
	a := NewAdmin("v1.2.3", func() []Conn { return conns })
	a.AddEndpoint("ipc", "/tmp/x.ipc")
	srv := rpc.NewServer(nil)
	defer srv.Stop()
	if err := srv.Register("admin", a.API()); err != nil {
		t.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	var info NodeInfo
	if err := c.Call(ctx, &info, "admin_nodeInfo"); err != nil {
		t.Fatal(err)
	}
	want := map[string]TransportStats{"ws": {Connections: 2, Subscriptions: 3}, "ipc": {Connections: 1}}
	if info.Name != "polyrpc" {
		t.Errorf("an unnamed node is called %q, want polyrpc", info.Name)
	}
	a.SetName("n1")
	if err := c.Call(ctx, &info, "admin_nodeInfo"); err != nil {
		t.Fatal(err)
	}
	if info.Name != "n1" || info.Version != "v1.2.3" || len(info.Endpoints) != 1 || info.Endpoints[0].Address != "/tmp/x.ipc" ||
		len(info.Transports) != 2 || info.Transports["ws"] != want["ws"] || info.Transports["ipc"] != want["ipc"] {
		t.Errorf("nodeInfo %+v", info)
	}

	var peers []Peer
	if err := c.Call(ctx, &peers, "admin_peers"); err != nil {
		t.Fatal(err)
	}
	if len(peers) != 3 || peers[2].RemoteAddr != "127.0.0.1:5" || peers[2].ConnectedSeconds < 58 {
		t.Errorf("peers %+v: want 3, oldest first", peers)
	}
	// Only the two methods are callable: the setters are not part of the API.
	var mods map[string]string
	c.Call(ctx, &mods, "rpc_modules")
	if err := c.Call(ctx, nil, "admin_addEndpoint", "x", "y"); err == nil {
		t.Error("admin_addEndpoint is callable")
	}
}
