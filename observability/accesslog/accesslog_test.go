package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

type svc struct{}

func (svc) Ok() int { return 1 }

func (svc) Fail() error { return errors.New("no") }

func (svc) Crash() int { panic("boom") }

func (svc) Sleep(ms int) int { time.Sleep(time.Duration(ms) * time.Millisecond); return ms }

// logged runs the calls on a server logging at level with slow as Options.Slow and returns the
// records, decoded from JSON.
func logged(t *testing.T, level slog.Level, slow time.Duration, calls func(c *rpc.Client)) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	srv := rpc.NewServer(&rpc.Options{
		Logger:     slog.New(slog.DiscardHandler),
		Middleware: []rpc.Middleware{New(&Options{Logger: log, Slow: slow, Batches: true})},
	})
	defer srv.Stop()
	if err := srv.Register("svc", svc{}); err != nil {
		t.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	calls(c)
	c.Close()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func script(c *rpc.Client) {
	ctx := context.Background()
	var n int
	c.Call(ctx, &n, "svc_ok")
	c.Call(ctx, nil, "svc_fail")
	c.Call(ctx, &n, "svc_crash")
	c.Call(ctx, &n, "svc_sleep", 30)
	c.Call(ctx, &n, "svc_missing")
	c.Notify(ctx, "svc_ok")
	c.BatchCall(ctx, []rpc.BatchElem{{Method: "svc_ok", Result: &n}, {Method: "svc_ok", Result: &n}})
}

// TestLevels: the logger's level decides which calls are logged.
func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		level slog.Level
		want  []string // method code level of each record
	}{
		{"debug", slog.LevelDebug, []string{
			"svc_ok ok DEBUG", "svc_fail -32000 INFO", "svc_crash -32603 WARN", "svc_sleep ok INFO",
			"_OTHER -32601 INFO", "svc_ok ok DEBUG", "svc_ok ok DEBUG", "svc_ok ok DEBUG", "_BATCH ok DEBUG"}},
		{"info", slog.LevelInfo, []string{"svc_fail -32000 INFO", "svc_crash -32603 WARN", "svc_sleep ok INFO", "_OTHER -32601 INFO"}},
		{"warn", slog.LevelWarn, []string{"svc_crash -32603 WARN"}},
		{"error", slog.LevelError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := logged(t, tc.level, 20*time.Millisecond, script)
			var got []string
			for _, r := range recs {
				if r["msg"] != "rpc call" {
					continue
				}
				got = append(got, r["method"].(string)+" "+r["code"].(string)+" "+r["level"].(string))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestAttributes: a record carries the call's transport, connection, id, kind and duration.
func TestAttributes(t *testing.T) {
	recs := logged(t, slog.LevelDebug, -1, func(c *rpc.Client) {
		var n int
		c.Call(context.Background(), &n, "svc_sleep", 5)
		c.Notify(context.Background(), "svc_ok")
	})
	if len(recs) != 2 {
		t.Fatalf("%d records: %v", len(recs), recs)
	}
	r := recs[0]
	if r["transport"] != "inproc" || r["id"] == nil || r["conn"] == nil || r["kind"] != nil {
		t.Errorf("record %v", r)
	}
	if d, _ := r["duration"].(float64); d < float64(5*time.Millisecond) {
		t.Errorf("duration %v, want at least 5ms", r["duration"])
	}
	if n := recs[1]; n["kind"] != "notification" || n["id"] != nil {
		t.Errorf("notification's record %v", n)
	}
}
