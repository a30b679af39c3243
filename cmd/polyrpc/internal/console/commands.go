package console

import (
	"context"
	"strings"
)

const helpText = `Calls:
  METHOD [PARAMS...]      each param a JSON value, or a string when it is not JSON:
                            test_add 1 2      chat_send lobby ann "hello there"
  METHOD [P1,P2,...]      a single array is the params list
  METHOD {"name":value}   a single object gives params by name
  {"jsonrpc":"2.0","id":1,"method":"M","params":[...]}
                          a raw request object (without "id": a notification)
  NS_subscribe NAME ...   start a subscription; its notifications print as they arrive
Commands:
  .help                   this text
  .methods [PREFIX]       the server's methods (from rpc.discover, or rpc_modules)
  .subs                   the subscriptions of this console
  .unsub ID               end a subscription
  .stats                  the server's calls, latencies, errors and connections (polyrpc's admin_stats)
  .handle METHOD JSON     answer the server's calls of METHOD with the result JSON
                          (the server calls its client: each call prints as it comes,
                          answered -32601 without a handler); .handle METHOD removes it,
                          .handle lists them
  .exit                   leave (Ctrl-D too)
Tab completes method names and commands.`

// commands are the console's dot commands, for completion.
var commands = []string{".help", ".methods", ".subs", ".unsub", ".stats", ".handle", ".exit"}

// command runs a dot command and reports whether the console should end.
func (c *Console) command(ctx context.Context, line string) (exit bool) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case ".exit", ".quit":
		return true
	case ".help":
		c.println(helpText)
	case ".methods":
		c.listMethods(ctx, arg)
	case ".subs":
		c.subs.list()
	case ".unsub":
		c.subs.stop(arg)
	case ".stats":
		c.showStats(ctx)
	case ".handle":
		c.handlers.command(arg)
	default:
		c.println(paintString(c.cfg.Color, colorError, "unknown command "+name+" (try .help)"))
	}
	return false
}

// listMethods prints the methods whose names start with prefix.
func (c *Console) listMethods(ctx context.Context, prefix string) {
	c.methods.load(ctx, c.cfg.Timeout)
	ms, fromModules := c.methods.snapshot()
	var b strings.Builder
	n := 0
	for _, m := range ms {
		if !strings.HasPrefix(m.name, prefix) {
			continue
		}
		n++
		b.WriteString("  " + m.name)
		for _, p := range m.params {
			b.WriteString(" " + p)
		}
		if m.summary != "" {
			b.WriteString(paintString(c.cfg.Color, colorDim, "  "+m.summary))
		}
		b.WriteByte('\n')
	}
	switch {
	case len(ms) == 0:
		b.WriteString("the server lists no methods (neither rpc.discover nor rpc_modules answered)")
	case n == 0:
		b.WriteString("no method starts with " + prefix)
	case fromModules:
		b.WriteString("(namespaces from rpc_modules: the server offers no rpc.discover)")
	}
	c.println(strings.TrimRight(b.String(), "\n"))
}
