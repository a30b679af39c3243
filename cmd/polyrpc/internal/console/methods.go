package console

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// method is a method (or, from rpc_modules, a namespace prefix "ns_") the server offers. A
// subscription's name is the start of the line that subscribes: "chat_subscribe messages".
type method struct {
	name    string
	params  []string // parameter names, for .methods
	summary string
}

// methodList is what the server offers, loaded once from rpc.discover or rpc_modules.
type methodList struct {
	client *rpc.Client

	mu          sync.Mutex
	loaded      bool
	methods     []method
	fromModules bool // methods are namespace prefixes from rpc_modules
}

// load fetches the list unless it has it, and describes what it found.
func (l *methodList) load(ctx context.Context, timeout time.Duration) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		ctx, cancel := context.WithTimeout(ctx, min(timeout, 10*time.Second))
		defer cancel()
		l.methods, l.fromModules = fetchMethods(ctx, l.client)
		l.loaded = len(l.methods) > 0
	}
	switch {
	case l.fromModules:
		return fmt.Sprintf("%d namespaces", len(l.methods))
	case len(l.methods) > 0:
		return fmt.Sprintf("%d methods", len(l.methods))
	}
	return "no method list"
}

func (l *methodList) snapshot() ([]method, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.methods, l.fromModules
}

// fetchMethods asks rpc.discover (an OpenRPC document) and, failing that, rpc_modules.
func fetchMethods(ctx context.Context, client *rpc.Client) ([]method, bool) {
	var doc struct {
		Methods []struct {
			Name    string `json:"name"`
			Summary string `json:"summary"`
			Params  []struct {
				Name string `json:"name"`
			} `json:"params"`
			Subscription *struct {
				Method string `json:"method"`
				Name   string `json:"name"`
			} `json:"x-subscription"`
		} `json:"methods"`
	}
	if err := client.Call(ctx, &doc, "rpc.discover"); err == nil && len(doc.Methods) > 0 {
		ms := make([]method, 0, len(doc.Methods)+1)
		for _, m := range doc.Methods {
			if m.Name == "" {
				continue
			}
			var params []string
			for _, p := range m.Params {
				params = append(params, p.Name)
			}
			name := m.Name
			if sub := m.Subscription; sub != nil && sub.Method != "" && sub.Name != "" {
				// The first param is the subscription's name, already in the line.
				name, params = sub.Method+" "+sub.Name, params[min(1, len(params)):]
			}
			ms = append(ms, method{name, params, oneLine(m.Summary)})
		}
		if !slices.ContainsFunc(ms, func(m method) bool { return m.name == "rpc.discover" }) {
			ms = append(ms, method{name: "rpc.discover", summary: "the OpenRPC document of this server"})
		}
		slices.SortFunc(ms, func(a, b method) int { return cmp.Compare(a.name, b.name) })
		return ms, false
	}
	var modules map[string]string
	if err := client.Call(ctx, &modules, "rpc_modules"); err != nil {
		return nil, false
	}
	ms := make([]method, 0, len(modules))
	for ns := range modules {
		ms = append(ms, method{name: ns + "_"})
	}
	slices.SortFunc(ms, func(a, b method) int { return cmp.Compare(a.name, b.name) })
	return ms, true
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// Complete completes the start of line: a method name (with a subscription's name after
// NS_subscribe) or a dot command. It is the console's tab completion.
func (c *Console) Complete(line string) []string {
	var out []string
	if strings.HasPrefix(line, ".") {
		for _, cmd := range commands {
			if strings.HasPrefix(cmd, line) {
				out = append(out, cmd)
			}
		}
		return out
	}
	c.methods.load(context.Background(), c.cfg.Timeout)
	ms, _ := c.methods.snapshot()
	for _, m := range ms {
		if strings.HasPrefix(m.name, line) {
			out = append(out, m.name)
		}
	}
	return out
}
