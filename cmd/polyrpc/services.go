package main

import (
	"runtime/debug"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/services"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
)

// version is polyrpc's version; release builds set it with -ldflags "-X main.version=v1.2.3".
var version = ""

// versionString is version, or the module version the binary was built from, or "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// builtins are the built-in services registered on a server.
type builtins struct {
	admin *services.Admin
	chat  *services.Chat
	// public lists the namespaces offered over HTTP and WebSocket unless --http.api or
	// --ws.api say otherwise: every registered namespace except admin.
	public []string
}

// registerServices registers the built-in services (admin, chat) and, with testService, the
// reference test service (namespaces test, notify, get).
func registerServices(srv *rpc.Server, testService bool) (*builtins, error) {
	b := &builtins{
		admin: services.NewAdmin(versionString(), func() []services.Conn { return liveConns(srv) }),
		chat:  services.NewChat(0, 0),
	}
	if err := srv.Register("admin", b.admin.API()); err != nil {
		return nil, err
	}
	if err := srv.Register("chat", b.chat.API(), services.ChatParamNames()...); err != nil {
		return nil, err
	}
	b.public = []string{"chat"}
	if testService {
		if err := rpctest.Register(srv); err != nil {
			return nil, err
		}
		b.public = append(b.public, "test", "notify", "get")
	}
	return b, nil
}
