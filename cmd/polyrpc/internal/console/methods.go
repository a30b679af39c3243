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

// method is a method (or, from rpc_modules, a namespace prefix "ns_") the server offers.
type method struct {
	name    string
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
		} `json:"methods"`
	}
	if err := client.Call(ctx, &doc, "rpc.discover"); err == nil && len(doc.Methods) > 0 {
		ms := make([]method, 0, len(doc.Methods)+1)
		for _, m := range doc.Methods {
			if m.Name != "" {
				ms = append(ms, method{m.Name, oneLine(m.Summary)})
			}
		}
		if !slices.ContainsFunc(ms, func(m method) bool { return m.name == "rpc.discover" }) {
			ms = append(ms, method{"rpc.discover", "the OpenRPC document of this server"})
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

// Complete completes the first word of line: a method name or a dot command. It is the
// console's tab completion.
func (c *Console) Complete(line string) []string {
	if strings.ContainsAny(line, " \t") {
		return nil
	}
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
