package console

import (
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/stats"
	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/transports/inproc"
)

// statsAPI answers admin_stats from a collector.
type statsAPI struct{ c *stats.Collector }

func (a statsAPI) Stats() stats.Stats { return a.c.Stats() }

// TestStatsCommand: .stats prints admin_stats as tables; a server without it is explained.
func TestStatsCommand(t *testing.T) {
	col := stats.New()
	srv := rpc.NewServer(&rpc.Options{Middleware: []rpc.Middleware{col.Middleware()}, Hooks: col.Hooks()})
	t.Cleanup(srv.Stop)
	if err := srv.Register("admin", statsAPI{col}); err != nil {
		t.Fatal(err)
	}
	c, err := inproc.Dial(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := runScript(t, c, "admin_nothing\nadmin_nothing\n.stats\n")
	var lines []string // each line's fields, joined by one space
	for line := range strings.SplitSeq(out, "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	flat := strings.Join(lines, "\n")
	for _, want := range []string{
		"\ntransport method calls errors calls/s p50 ms p99 ms\n",
		"\ninproc _OTHER 2 2 ",
		"\nerror code count per second\n-32601 2 ",
		"\ntransport connections subscriptions calls calls/s\ninproc 1 0 2 ",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out = runScript(t, newTestClient(t), ".stats\n")
	if !strings.Contains(out, "-32601") || !strings.Contains(out, "over IPC and in-process") {
		t.Errorf("without admin_stats:\n%s", out)
	}
}
