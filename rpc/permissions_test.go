package rpc_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/rpc/rpctest"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// grants is a principal holding the permissions listed.
type grants []string

func (g grants) Allows(p string) bool { return slices.Contains(g, p) }

// vault has methods that need permissions (see permServer).
type vault struct{}

func (vault) Open() string                      { return "open" }
func (vault) Secret() string                    { return "secret" }
func (vault) Guarded(x counted) int             { return int(x) }
func (vault) Who(ctx context.Context) any       { return rpc.PrincipalFromContext(ctx) }
func (vault) Audit() string                     { return "audit" }
func (vault) Rotate(ctx context.Context) string { return "rotated" }
func (vault) Watch(ctx context.Context) (*subscriptions.Subscription, error) {
	n, _ := subscriptions.NotifierFromContext(ctx)
	return n.CreateSubscription(), nil
}

// keys has only methods that need a permission.
type keys struct{}

func (keys) List() []string { return nil }

// vaultMeta is vault's generated metadata: Audit and Rotate declare permissions in their doc
// comments.
func init() {
	rpc.RegisterMetadata(reflect.TypeFor[vault](), rpc.ServiceMetadata{Methods: map[string]rpc.MethodMetadata{
		"Audit":  {Params: []string{}, Permission: "auditor"},
		"Rotate": {Params: []string{}, Permission: "auditor"},
	}})
}

// permServer returns a server with vault as "vault" (Secret and Guarded need "admin", Watch
// "watch", Audit "auditor" from its metadata, Rotate "admin" from the option, which wins) and
// keys as "keys" (every method needs "keys").
func permServer(t *testing.T) *rpc.Server {
	t.Helper()
	srv := rpctest.NewServer(t, nil)
	if err := srv.Register("vault", vault{},
		rpc.WithPermission("admin", "Secret", "Guarded", "Rotate"),
		rpc.WithPermission("watch", "Watch")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register("keys", keys{}, rpc.WithPermission("keys")); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestPermissions: a call that needs a permission runs only for a principal that allows it;
// the others are answered -32012 before their params are decoded.
func TestPermissions(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := permServer(t)
	denied := func(id, what string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"error":{"code":-32012,"message":"permission denied: ` + what + `"}}`
	}
	for _, tc := range []struct {
		name      string
		principal any
		req, want string
	}{
		{"open", nil, `{"jsonrpc":"2.0","id":1,"method":"vault_open"}`, `{"jsonrpc":"2.0","id":1,"result":"open"}`},
		{"no principal", nil, `{"jsonrpc":"2.0","id":1,"method":"vault_secret"}`, denied("1", `vault_secret needs the permission \"admin\"`)},
		{"not a Permitter", "root", `{"jsonrpc":"2.0","id":1,"method":"vault_secret"}`, denied("1", `vault_secret needs the permission \"admin\"`)},
		{"lacking", grants{"watch"}, `{"jsonrpc":"2.0","id":1,"method":"vault_secret"}`, denied("1", `vault_secret needs the permission \"admin\"`)},
		{"allowed", grants{"admin"}, `{"jsonrpc":"2.0","id":1,"method":"vault_secret"}`, `{"jsonrpc":"2.0","id":1,"result":"secret"}`},
		{"not decoded", nil, `{"jsonrpc":"2.0","id":1,"method":"vault_guarded","params":["panic"]}`, denied("1", `vault_guarded needs the permission \"admin\"`)},
		{"principal", grants{"x"}, `{"jsonrpc":"2.0","id":1,"method":"vault_who"}`, `{"jsonrpc":"2.0","id":1,"result":["x"]}`},
		{"metadata", grants{"admin"}, `{"jsonrpc":"2.0","id":1,"method":"vault_audit"}`, denied("1", `vault_audit needs the permission \"auditor\"`)},
		{"metadata allowed", grants{"auditor"}, `{"jsonrpc":"2.0","id":1,"method":"vault_audit"}`, `{"jsonrpc":"2.0","id":1,"result":"audit"}`},
		{"option wins", grants{"auditor"}, `{"jsonrpc":"2.0","id":1,"method":"vault_rotate"}`, denied("1", `vault_rotate needs the permission \"admin\"`)},
		{"every method", grants{"admin"}, `{"jsonrpc":"2.0","id":1,"method":"keys_list"}`, denied("1", `keys_list needs the permission \"keys\"`)},
		{"subscription", grants{"admin"}, `{"jsonrpc":"2.0","id":1,"method":"vault_subscribe","params":["watch"]}`,
			denied("1", `vault_subscribe(\"watch\") needs the permission \"watch\"`)},
		{"batch", nil, `[{"jsonrpc":"2.0","id":1,"method":"vault_open"},{"jsonrpc":"2.0","id":2,"method":"vault_secret"},{"jsonrpc":"2.0","id":3,"method":"vault_guarded","params":["panic"]},{"jsonrpc":"2.0","id":4,"method":"test_add","params":[1,2]}]`,
			`[{"jsonrpc":"2.0","id":1,"result":"open"},` + denied("2", `vault_secret needs the permission \"admin\"`) + "," +
				denied("3", `vault_guarded needs the permission \"admin\"`) + `,{"jsonrpc":"2.0","id":4,"result":3}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inbox := rpctest.NewInbox()
			ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{Principal: tc.principal}, inbox)
			if err != nil {
				t.Fatal(err)
			}
			defer ss.Close()
			if err := ss.Handle(context.Background(), []byte(tc.req)); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, inbox); got != tc.want {
				t.Errorf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
	if err := srv.Register("x", vault{}, rpc.WithPermission("p", "Nope")); err == nil || !strings.Contains(err.Error(), `WithPermission("Nope")`) {
		t.Errorf("WithPermission of a missing method: %v", err)
	}
}

// TestPermissionsDiscovery: rpc_modules and rpc.discover list only what the caller may call.
func TestPermissionsDiscovery(t *testing.T) {
	rpctest.CheckLeaks(t)
	srv := permServer(t)
	for _, tc := range []struct {
		name      string
		principal any
		modules   []string
		methods   []string // the vault and keys entries of rpc.discover
	}{
		{"none", nil, []string{"get", "nftest", "notify", "rpc", "test", "vault"},
			[]string{"vault_open", "vault_who"}},
		{"admin", grants{"admin"}, []string{"get", "nftest", "notify", "rpc", "test", "vault"},
			[]string{"vault_guarded", "vault_open", "vault_rotate", "vault_secret", "vault_who"}},
		{"all", grants{"admin", "auditor", "keys", "watch"}, []string{"get", "keys", "nftest", "notify", "rpc", "test", "vault"},
			[]string{"keys_list", "vault_audit", "vault_guarded", "vault_open", "vault_rotate", "vault_secret", "vault_who", "vault_subscribe(watch)", "vault_unsubscribe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inbox := rpctest.NewInbox()
			ss, err := srv.NewSession(context.Background(), rpc.ConnOptions{Principal: tc.principal}, inbox)
			if err != nil {
				t.Fatal(err)
			}
			defer ss.Close()
			ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"rpc_modules"}`))
			var mods struct{ Result map[string]string }
			json.Unmarshal([]byte(recv(t, inbox)), &mods)
			var got []string
			for ns := range mods.Result {
				got = append(got, ns)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.modules) {
				t.Errorf("rpc_modules: %v, want %v", got, tc.modules)
			}
			ss.Handle(context.Background(), []byte(`{"jsonrpc":"2.0","id":2,"method":"rpc.discover"}`))
			var doc struct {
				Result struct{ Methods []struct{ Name string } }
			}
			json.Unmarshal([]byte(recv(t, inbox)), &doc)
			got = nil
			for _, m := range doc.Result.Methods {
				if strings.HasPrefix(m.Name, "vault") || strings.HasPrefix(m.Name, "keys") {
					got = append(got, m.Name)
				}
			}
			if !slices.Equal(got, tc.methods) {
				t.Errorf("rpc.discover: %v, want %v", got, tc.methods)
			}
		})
	}
	doc, err := srv.OpenRPC(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "vault_secret") || !strings.Contains(string(doc), "vault_open") {
		t.Errorf("Server.OpenRPC lists what needs a permission, or not the rest")
	}
}
