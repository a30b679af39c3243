package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
)

// OpenRPC returns the OpenRPC document (JSON) that rpc.discover answers on a connection whose
// namespace allowlist is namespaces (nil: every namespace; the rpc namespace is always there)
// and which has no principal (so methods that need a permission are left out), for serving it
// elsewhere, such as over HTTP as GET /openrpc.json. Subscriptions are included; rpc.discover
// leaves them out on a connection that cannot carry them (ConnOptions.NoSubscriptions).
func (s *Server) OpenRPC(namespaces []string) ([]byte, error) {
	cb := s.reg.lookup(discoverMethod)
	if cb == nil {
		return nil, errors.New("rpc: the server has no rpc.discover")
	}
	d := cb.rcvr.Interface().(*discoverService)
	return d.document(docScope{allow: allowSet(namespaces), denied: s.deniedPermissions(nil)})
}

// discoverService is the built-in rpc.discover. It keeps the documents it wrote until the
// registry changes.
type discoverService struct {
	s *Server

	mu    sync.Mutex
	snap  *map[string]*callback // the registry's method map the cache was made from
	cache map[string][]byte     // scope key → document
}

// Discover returns the OpenRPC document of the methods callable on the caller's connection.
func (d *discoverService) Discover(ctx context.Context) (json.RawMessage, error) {
	var sc docScope
	if ss := sessionFromContext(ctx); ss != nil {
		sc = docScope{allow: allowSet(ss.opts.Namespaces), noSubs: ss.opts.NoSubscriptions,
			denied: d.s.deniedPermissions(ss)}
	}
	return d.document(sc)
}

// deniedPermissions returns the permissions that methods need and the principal of ss (nil:
// no principal) lacks, or nil when it lacks none.
func (s *Server) deniedPermissions(ss *Session) map[string]bool {
	var denied map[string]bool
	for _, cb := range s.reg.all() {
		if cb.perm == "" || denied[cb.perm] || ss != nil && ss.permits(cb) {
			continue
		}
		if denied == nil {
			denied = make(map[string]bool)
		}
		denied[cb.perm] = true
	}
	return denied
}

func (d *discoverService) document(sc docScope) ([]byte, error) {
	key := sc.key()
	snap := d.s.reg.methods.Load()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap != snap {
		d.snap, d.cache = snap, make(map[string][]byte)
	}
	if doc, ok := d.cache[key]; ok {
		return doc, nil
	}
	doc, err := buildOpenRPC(&d.s.cfg, d.s.reg.all(), sc)
	if err != nil {
		return nil, err
	}
	if len(d.cache) < 64 { // a handful of allowlists in practice
		d.cache[key] = doc
	}
	return doc, nil
}

// key identifies a scope for the cache.
func (sc docScope) key() string {
	key := "*"
	if sc.allow != nil {
		key = strings.Join(sortedKeys(sc.allow), ",")
	}
	if sc.noSubs {
		key += " nosubs"
	}
	if sc.denied != nil {
		key += " without " + strings.Join(sortedKeys(sc.denied), ",")
	}
	return key
}

// discoverCallbacks builds the rpc.discover callback for NewServer.
func discoverCallbacks(s *Server) []*callback {
	cbs, err := newCallbacks(rpcNamespace, &discoverService{s: s}, &registration{})
	if err != nil || len(cbs) != 1 {
		panic("rpc: the built-in rpc.discover is malformed") // known to be well formed
	}
	cbs[0].name = discoverMethod
	return cbs
}

// The built-in methods' metadata, as the generator would write it.
func init() {
	RegisterMetadata(reflect.TypeFor[discoverService](), ServiceMetadata{Methods: map[string]MethodMetadata{
		"Discover": {
			Params:    []string{},
			Summary:   "Returns the OpenRPC document of the methods callable on this connection.",
			Doc:       "Returns the OpenRPC document of the methods callable on this connection.\n\nSubscriptions appear as NS_subscribe(name) entries with an x-subscription member naming the wire method and the notifications.",
			Result:    "openrpc",
			ResultDoc: "an OpenRPC " + openrpcVersion + " document",
		},
	}})
	RegisterMetadata(reflect.TypeFor[rpcService](), ServiceMetadata{Methods: map[string]MethodMetadata{
		"Modules": {
			Params:    []string{},
			Summary:   "Lists the namespaces callable on this connection, each with version \"1.0\".",
			Doc:       "Lists the namespaces callable on this connection, each with version \"1.0\".",
			Result:    "modules",
			ResultDoc: "namespace → \"1.0\", as go-ethereum's rpc_modules answers",
		},
	}})
}

// documentInfo applies the defaults of Options.Name and Options.Version.
func documentInfo(name, version string) (string, string) {
	if name == "" {
		name = "polyrpc"
	}
	if version == "" {
		version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	return name, version
}
