package accesslog_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/polyrpc/polyrpc/observability/accesslog"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

type greeter struct{}

func (greeter) Hello(name string) string { return "hello " + name }

func Example() {
	// Debug logs every call; Info only errors and slow calls. The time and the duration are
	// left out here so that the output does not change.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "conn" {
				return slog.Attr{}
			}
			return a
		},
	}))
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{accesslog.New(&accesslog.Options{Logger: log})}})
	defer srv.Stop()
	srv.Register("greet", greeter{})
	c, _ := inproc.Dial(srv)
	defer c.Close()
	var s string
	c.Call(context.Background(), &s, "greet_hello", "world")
	c.Call(context.Background(), &s, "greet_bye")
	// Output:
	// level=DEBUG msg="rpc call" method=greet_hello transport=inproc id=1 code=ok
	// level=INFO msg="rpc call" method=_OTHER transport=inproc id=2 code=-32601 error="the method greet_bye does not exist/is not available"
}
