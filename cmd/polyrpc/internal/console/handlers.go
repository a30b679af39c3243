package console

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/polyrpc/polyrpc/rpc"
)

// handlerList answers the server's calls to the console's client (a method's rpc.CallClient):
// each call is printed as it arrives, and answered with the canned result that .handle METHOD
// JSON set for its method, or with -32601.
type handlerList struct {
	c *Console

	mu     sync.Mutex
	canned map[string]json.RawMessage
}

func (h *handlerList) init(c *Console) {
	h.c = c
	h.canned = map[string]json.RawMessage{}
	if c.cfg.Client != nil {
		c.cfg.Client.ServeOther(h.serve)
	}
}

// serve answers one call of the server's.
func (h *handlerList) serve(_ context.Context, method string, params json.RawMessage) (any, error) {
	c := h.c
	h.mu.Lock()
	res, ok := h.canned[method]
	h.mu.Unlock()
	what := "server called " + method
	if len(params) > 0 {
		what += " " + FormatJSON(params, c.cfg.Color, true)
	}
	if !ok {
		c.printAsync(paintString(c.cfg.Color, colorDim, what+" → -32601 (no handler: .handle "+method+" JSON answers it)"))
		return nil, &rpc.Error{Code: rpc.CodeMethodNotFound, Message: "the method " + method + " does not exist/is not available"}
	}
	c.printAsync(paintString(c.cfg.Color, colorDim, what+" → ") + FormatJSON(res, c.cfg.Color, true))
	return res, nil
}

// command runs .handle: METHOD JSON sets the canned result of METHOD, METHOD alone removes it,
// and nothing lists them.
func (h *handlerList) command(arg string) {
	c := h.c
	method, result, _ := strings.Cut(arg, " ")
	result = strings.TrimSpace(result)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case method == "":
		if len(h.canned) == 0 {
			c.println("no handlers: the server's calls are answered -32601 (.handle METHOD JSON sets one)")
			return
		}
		names := make([]string, 0, len(h.canned))
		for m := range h.canned {
			names = append(names, m)
		}
		slices.Sort(names)
		for _, m := range names {
			c.println("  " + m + " → " + FormatJSON(h.canned[m], c.cfg.Color, true))
		}
	case result == "":
		delete(h.canned, method)
		c.println(paintString(c.cfg.Color, colorDim, "(the server's calls of "+method+" are answered -32601)"))
	case !json.Valid([]byte(result)):
		c.println(paintString(c.cfg.Color, colorError, "the result must be JSON: .handle "+method+" true"))
	default:
		h.canned[method] = json.RawMessage(result)
		c.println(paintString(c.cfg.Color, colorDim, "(the server's calls of "+method+" are answered "+result+")"))
	}
}
