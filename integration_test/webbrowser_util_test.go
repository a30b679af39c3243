package integration_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Helpers of the browser test: Chromium found on PATH and driven headless with chromedp.

const (
	browserBudget = 3 * time.Minute  // the whole browser session; Chromium is killed after it
	stepTimeout   = 20 * time.Second // one step: a navigation, a click, a wait for some text
)

// chromiumNames are the names the browser has on PATH: Debian's package chromium, other
// distributions' chromium-browser, Google's build.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns the path of a Chromium on PATH, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skipf("no Chromium on PATH (looked for %s): the browser console test needs it "+
		"(Debian: apt-get install chromium; .ci/run installs it when run as root)", strings.Join(chromiumNames, ", "))
	return ""
}

// artifactsDir is where the test saves screenshots: $POLYRPC_ARTIFACTS, or a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("POLYRPC_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("POLYRPC_ARTIFACTS: %v", err)
	}
	return dir
}

// browser is one headless Chromium whose tabs are created with tab.
type browser struct {
	t         *testing.T
	ctx       context.Context // the first tab's context, bounded by browserBudget
	artifacts string
	logs      sync.WaitGroup // goroutines copying a tab's console errors to the test log
}

// startBrowser starts headless Chromium (as root, so without its sandbox) with a profile
// directory of its own; the test's cleanup stops it and waits for it.
func startBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	profile, err := os.MkdirTemp("", "polyrpc-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI and containers has no user namespace sandbox
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	budget, cancelBudget := context.WithTimeout(context.Background(), browserBudget)
	alloc, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	b := &browser{t: t, ctx: ctx, artifacts: artifactsDir(t)}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
		cancelBudget()
		b.logs.Wait()
		// Chromium's helpers may still write to the profile for a moment after it exits.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its first tab
		t.Fatalf("starting %s: %v", exe, err)
	}
	return b
}

// tab is one page of the browser, named for the test log.
type tab struct {
	b    *browser
	name string
	ctx  context.Context
}

// tab opens a new tab (the first call takes the browser's first tab) and logs the exceptions
// and console errors of its pages.
func (b *browser) tab(name string, first bool) *tab {
	ctx := b.ctx
	if !first {
		ctx, _ = chromedp.NewContext(b.ctx) // closed with the browser
		if err := chromedp.Do(ctx); err != nil {
			b.t.Fatalf("opening tab %s: %v", name, err)
		}
	}
	tb := &tab{b: b, name: name, ctx: ctx}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	b.logs.Go(func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.t.Logf("%s: JavaScript exception: %v", name, &chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails})
		}
	})
	b.logs.Go(func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.t.Logf("%s: console.%s: %s", name, ev.Type, strings.Join(args, " "))
			}
		}
	})
	return tb
}

// do runs steps with a bounded time; on failure it saves a screenshot and fails the test.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.fail(what, err)
	}
}

// waitJS polls the JavaScript expression until it is true, for at most stepTimeout.
func (tb *tab) waitJS(what, expr string) {
	tb.b.t.Helper()
	tb.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(stepTimeout))(ctx, t)
		return chromedp.Void{}, err
	})
}

// eval evaluates a JavaScript expression and returns its value decoded into T (with
// chromedp.EvalAwaitPromise, what its promise resolves to).
func eval[T any](tb *tab, what, expr string, opts ...chromedp.EvaluateOption) T {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.fail(what, err)
	}
	return v
}

// setValue sets the value of the element selected by the CSS selector sel, as a script would,
// and sends it an input event. (chromedp.SetValue cannot set an empty value.)
func (tb *tab) setValue(sel, value string) {
	tb.b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		return true;
	})()`, sel, value)
	eval[bool](tb, "set the value of "+sel, js)
}

func (tb *tab) fail(what string, err error) {
	tb.b.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (step limit %v)", err, stepTimeout)
	}
	path := tb.screenshot("failed-" + tb.name)
	tb.b.t.Fatalf("%s: %s: %v (screenshot: %s)", tb.name, what, err, path)
}

// screenshot saves a full-page PNG of the tab in the artifacts directory and returns its path.
func (tb *tab) screenshot(name string) string {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.b.t.Logf("%s: screenshot %s: %v", tb.name, name, err)
		return ""
	}
	path := filepath.Join(tb.b.artifacts, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.b.t.Logf("%s: screenshot %s: %v", tb.name, name, err)
		return ""
	}
	return path
}
