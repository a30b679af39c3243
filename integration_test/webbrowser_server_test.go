package integration_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserServerPage drives the Server page in headless Chromium: on a server that keeps
// admin off WebSocket it says it cannot see admin_stats; on one that offers it, its charts
// move once a scripted load runs (calls per second, errors by code, the per-method table), and
// a screenshot is saved in $POLYRPC_ARTIFACTS (or a temporary directory).
func TestBrowserServerPage(t *testing.T) {
	exe := findChromium(t)
	hidden := startServer(t)
	s := startServer(t, "--ws.api", "admin,chat,test,nftest")
	b := startBrowser(t, exe)

	tb := b.tab("server", true)
	tb.do("load the Server page where admin is not offered", chromedp.Navigate(hidden.HTTP+"/server.html"))
	tb.waitJS("the page says it cannot see admin_stats", `document.body.dataset.stats === "unavailable" &&
		document.querySelector('[data-testid="server-notice"]').textContent.includes("--ws.api")`)

	tb.do("load the Server page", chromedp.Navigate(s.HTTP+"/server.html"))
	tb.waitJS("connected, stats shown", `document.querySelector("#status")?.dataset.state === "open" &&
		document.body.dataset.stats === "ok" && Number(document.querySelector('[data-testid="chart-calls"]').dataset.points) >= 1`)

	// A scripted load over HTTP for a few seconds: test_add and failing test_fail calls.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	c := dialClient(t, s.HTTP, nil)
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil && i < 4000; i++ {
			var sum int
			c.Call(ctx, &sum, "test_add", i, 1)
			if i%10 == 0 {
				c.Call(ctx, nil, "test_fail")
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	})
	tb.waitJS("the calls chart moves", `Number(document.querySelector('[data-testid="chart-calls"]').dataset.last) > 0 &&
		document.querySelector('[data-testid="chart-calls"] polyline[data-series="http"]') !== null`)
	tb.waitJS("the errors chart shows -32000", `Number(document.querySelector('[data-testid="chart-errors"]').dataset.last) > 0 &&
		document.querySelector('[data-testid="chart-errors"] polyline[data-series="-32000"]') !== null`)
	tb.waitJS("the latency chart has values", `Number(document.querySelector('[data-testid="chart-latency"]').dataset.max) > 0`)
	tb.waitJS("the table lists test_add over http with a rate", `(() => {
		const row = document.querySelector('[data-testid="method-stats"] tr[data-method="test_add"][data-transport="http"]');
		return row !== null && Number(row.children[2].textContent) > 0 && Number(row.children[4].textContent) > 0;
	})()`)
	tb.waitJS("the connections chart counts the page's WebSocket", `document.querySelector('[data-testid="chart-conns"] polyline[data-series="ws"]') !== null`)
	time.Sleep(2 * time.Second) // a couple more samples, for the picture
	t.Logf("screenshot of the Server page: %s", tb.screenshot("server-page"))
}
