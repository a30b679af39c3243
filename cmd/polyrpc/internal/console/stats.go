package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/polyrpc/polyrpc/cmd/polyrpc/internal/stats"
)

// showStats prints what admin_stats answers as tables: per transport and method the calls,
// errors, calls per second and p50/p99 latency; the errors by code; the connections and
// subscriptions per transport.
func (c *Console) showStats(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var st stats.Stats
	if err := c.cfg.Client.Call(ctx, &st, "admin_stats"); err != nil {
		msg := FormatError(err, c.cfg.Color)
		if IsErrorAnswer(err) && strings.Contains(err.Error(), "does not exist") {
			msg += "\n(admin_stats is offered over IPC and in-process; over HTTP and WebSocket only when --http.api or --ws.api names admin)"
		}
		c.println(msg)
		return
	}
	c.println(formatStats(&st))
}

// formatStats renders st as the tables of .stats.
func formatStats(st *stats.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rates and latencies over the last %.1f s\n\n", st.WindowSeconds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "transport\tmethod\tcalls\terrors\tcalls/s\tp50 ms\tp99 ms")
	for _, m := range st.Methods {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", m.Transport, m.Method, m.Calls, m.Errors, num(m.Rate), num(m.P50), num(m.P99))
	}
	tw.Flush()
	if len(st.Methods) == 0 {
		b.WriteString("(no calls yet)\n")
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "error code\tcount\tper second")
	for _, e := range st.Errors {
		fmt.Fprintf(tw, "%d\t%d\t%s\n", e.Code, e.Count, num(e.Rate))
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "transport\tconnections\tsubscriptions\tcalls\tcalls/s")
	for _, t := range st.Transports {
		if t.Connections == 0 && t.Subscriptions == 0 && t.Calls == 0 {
			continue // a transport not in use
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Transport, t.Connections, t.Subscriptions, t.Calls, num(t.Rate))
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// num formats a rate or a latency briefly.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
