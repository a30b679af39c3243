package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
)

// Config configures a console.
type Config struct {
	Client *rpc.Client
	// Name is what the console is connected to, shown in the greeting.
	Name string
	// Input gives the lines; Output takes results, errors and notifications.
	Input  LineReader
	Output io.Writer
	// Interactive shows a greeting and a prompt, and redraws the prompt after a notification.
	Interactive bool
	// Color colours results and errors with ANSI escapes.
	Color bool
	// Timeout bounds each call (zero: 30 s).
	Timeout time.Duration
	// Interrupt, when set, cancels the call in progress on each signal it delivers (Ctrl-C
	// during a call on a terminal); the console goes on.
	Interrupt <-chan os.Signal
}

// Prompt is the console's prompt.
const Prompt = "> "

// Console is an interactive JSON-RPC console. Create it with New and call Run once.
type Console struct {
	cfg     Config
	methods methodList

	outMu     sync.Mutex
	prompting bool // the input is showing a prompt

	subs     subList
	handlers handlerList
}

// New returns a console for cfg.
func New(cfg Config) *Console {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	c := &Console{cfg: cfg}
	c.methods.client = cfg.Client
	c.subs.init(c)
	c.handlers.init(c)
	return c
}

// Run reads and runs lines until .exit, the end of the input or ctx is done. It ends every
// subscription it started before returning, and closes the input.
func (c *Console) Run(ctx context.Context) error {
	defer c.cfg.Input.Close()
	defer c.subs.closeAll()
	c.cfg.Input.SetCompleter(c.Complete)
	if c.cfg.Interactive {
		n := c.methods.load(ctx, c.cfg.Timeout)
		c.println(fmt.Sprintf("Welcome to the polyrpc console, connected to %s (%s).", c.cfg.Name, n))
		c.println("Type a method and its params (test_add 1 2), .help for more, .exit or Ctrl-D to leave.")
	}
	lines := make(chan lineResult)
	for {
		line, err := c.prompt(ctx, lines)
		switch {
		case errors.Is(err, ErrAborted):
			continue
		case errors.Is(err, io.EOF):
			if c.cfg.Interactive {
				c.println("")
			}
			return nil
		case err != nil:
			return err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		c.cfg.Input.AppendHistory(line)
		if c.exec(ctx, line) {
			return nil
		}
	}
}

type lineResult struct {
	line string
	err  error
}

// prompt reads a line, giving up when ctx is done. The read runs on its own goroutine so that
// a signal can end the console while it waits; Run does not prompt again until that goroutine
// has delivered its line, and a line left unread after ctx is done is dropped.
func (c *Console) prompt(ctx context.Context, lines chan lineResult) (string, error) {
	c.outMu.Lock()
	c.prompting = c.cfg.Interactive
	c.outMu.Unlock()
	defer func() {
		c.outMu.Lock()
		c.prompting = false
		c.outMu.Unlock()
	}()
	go func() {
		l, err := c.cfg.Input.Prompt(Prompt)
		select {
		case lines <- lineResult{l, err}:
		case <-ctx.Done():
		}
	}()
	select {
	case r := <-lines:
		return r.line, r.err
	case <-ctx.Done():
		return "", io.EOF
	}
}

// exec runs one line and reports whether the console should end.
func (c *Console) exec(ctx context.Context, line string) (exit bool) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, ".") {
		return c.command(ctx, line)
	}
	req, err := ParseLine(line)
	if err != nil {
		c.println(FormatError(err, c.cfg.Color))
		return false
	}
	if isSubscribe(req) {
		c.subs.start(ctx, req)
		return false
	}
	c.call(ctx, req)
	return false
}

// call sends req and prints its result or error.
func (c *Console) call(ctx context.Context, req Request) {
	cctx, done := c.callContext(ctx)
	defer done()
	if req.Notify {
		if err := c.cfg.Client.Notify(cctx, req.Method, req.Params()...); err != nil {
			c.println(FormatError(describe(cctx, err), c.cfg.Color))
			return
		}
		c.println(paintString(c.cfg.Color, colorDim, "(notification sent)"))
		return
	}
	res, err := Do(cctx, c.cfg.Client, req)
	if err != nil {
		c.println(FormatError(describe(cctx, err), c.cfg.Color))
		return
	}
	c.println(FormatJSON(res, c.cfg.Color, false))
}

// Do sends req as a call and returns its raw result.
func Do(ctx context.Context, client *rpc.Client, req Request) (json.RawMessage, error) {
	var res json.RawMessage
	var err error
	if req.Named != nil {
		err = client.CallNamed(ctx, &res, req.Method, req.Named)
	} else {
		err = client.Call(ctx, &res, req.Method, req.Params()...)
	}
	if err == nil && res == nil {
		res = json.RawMessage("null")
	}
	return res, err
}

// println writes s and a newline.
func (c *Console) println(s string) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	fmt.Fprintln(c.cfg.Output, s)
}

// redrawer is a LineReader that can draw its prompt and the line being typed again.
type redrawer interface {
	Redraw() bool
}

// printAsync writes s while the user may be at the prompt: it clears the prompt line, writes s
// and has the line editor draw the prompt and what the user had typed below it; an input that
// cannot redraw gets the bare prompt.
func (c *Console) printAsync(s string) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if !c.prompting {
		fmt.Fprintln(c.cfg.Output, s)
		return
	}
	fmt.Fprint(c.cfg.Output, "\r\x1b[2K"+s+"\n")
	if r, ok := c.cfg.Input.(redrawer); !ok || !r.Redraw() {
		fmt.Fprint(c.cfg.Output, Prompt)
	}
}
