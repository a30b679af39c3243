package main

import (
	"runtime/debug"
	"slices"
	"strings"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/services"
	"github.com/polyrpc/polyrpc/internal/testservice"
	"github.com/polyrpc/polyrpc/rpc"
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
}

// registerServices registers the built-in services (admin, chat on a memory broker) unless
// noBuiltins, and with testService the reference test service (internal/testservice).
func registerServices(srv *rpc.Server, noBuiltins, testService bool) (*builtins, error) {
	return registerServicesOn(srv, services.NewChat(0, 0), noBuiltins, testService)
}

// registerServicesOn is registerServices with the given chat.
func registerServicesOn(srv *rpc.Server, chat *services.Chat, noBuiltins, testService bool) (*builtins, error) {
	b := &builtins{
		admin: services.NewAdmin(versionString(), func() []services.Conn { return liveConns(srv) }),
		chat:  chat,
	}
	if !noBuiltins {
		if err := srv.Register("admin", b.admin.API()); err != nil {
			return nil, err
		}
		if err := srv.Register("chat", b.chat.API()); err != nil {
			return nil, err
		}
	}
	if testService {
		if err := testservice.Register(srv); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// publicNamespaces lists the namespaces offered over HTTP and WebSocket unless --http.api or
// --ws.api say otherwise: every namespace registered on srv except admin, which stays on IPC
// and in-process connections as go-ethereum keeps it.
func publicNamespaces(srv *rpc.Server) []string {
	var out []string
	for _, m := range srv.Methods(nil) {
		if ns, _, ok := strings.Cut(m, "_"); ok && ns != "admin" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}
