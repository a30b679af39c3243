package integration_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Server-Sent Events against the binary: curl's view (the README's command), a resume with
// Last-Event-ID, and EventSource in Chromium.

// sseEvent is one event of a stream.
type sseEvent struct{ id, data string }

// readEvents reads the events of an open response on a goroutine (comments skipped).
func readEvents(resp *http.Response) <-chan sseEvent {
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if ev.data != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event after 10 s")
	}
	return sseEvent{}
}

func openSSE(t *testing.T, url, body, lastID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readEvents(resp)
}

func chatSend(t *testing.T, url, room, text string) {
	t.Helper()
	c := dialClient(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, nil, "chat_send", room, "sse", text); err != nil {
		t.Fatal(err)
	}
}

func TestSSE(t *testing.T) {
	s := startServer(t)
	room := fmt.Sprintf("sse-%d", s.PID)
	sub := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"chat_subscribe","params":["messages",%q]}`, room)
	events := openSSE(t, s.HTTP, sub, "")
	if ev := nextEvent(t, events); !strings.HasPrefix(ev.data, `{"jsonrpc":"2.0","id":1,"result":"0x`) {
		t.Fatalf("first event %q, want the answer", ev.data)
	}
	if ev := nextEvent(t, events); !strings.Contains(ev.data, `"method":"chat_subscriptionPosition"`) || !strings.Contains(ev.data, `"recovered":true`) {
		t.Fatalf("second event %q, want the position notice", ev.data)
	}
	chatSend(t, s.HTTP, room, "one")
	chatSend(t, s.HTTP, room, "two")
	var last sseEvent
	for _, text := range []string{"one", "two"} {
		last = nextEvent(t, events)
		var n struct {
			Params struct {
				Result struct {
					ID   uint64
					Text string
				}
				Offset uint64
			}
		}
		json.Unmarshal([]byte(last.data), &n)
		if n.Params.Result.Text != text || !strings.HasSuffix(last.id, fmt.Sprintf(":%d", n.Params.Offset)) || n.Params.Result.ID != n.Params.Offset {
			t.Fatalf("event %+v, want the message %q with its position as id", last, text)
		}
	}

	// Missed while away, received on reconnecting with Last-Event-ID.
	chatSend(t, s.HTTP, room, "three")
	again := openSSE(t, s.HTTP, sub, last.id)
	nextEvent(t, again)
	if ev := nextEvent(t, again); !strings.Contains(ev.data, `"recovered":true`) {
		t.Fatalf("resumed with %q", ev.data)
	}
	if ev := nextEvent(t, again); !strings.Contains(ev.data, `"text":"three"`) {
		t.Fatalf("after resuming: %q, want three", ev.data)
	}

	// The README's curl command, as a new user types it (for 2 s).
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("no curl on PATH: its check is skipped")
		return
	}
	out, _ := exec.Command(curl, "-sN", "--max-time", "2", "-H", "Accept: text/event-stream", "-H", "Content-Type: application/json",
		"-d", sub, s.HTTP+"/").Output()
	if !strings.HasPrefix(string(out), `data: {"jsonrpc":"2.0","id":1,"result":"0x`) || !strings.Contains(string(out), "chat_subscriptionPosition") {
		t.Errorf("curl printed %q", out)
	}
}

// TestEventSource: a page's EventSource on GET /events receives the chat's messages.
func TestEventSource(t *testing.T) {
	exe := findChromium(t)
	s := startServer(t)
	b := startBrowser(t, exe)
	room := fmt.Sprintf("es-%d", s.PID)
	tb := b.tab("eventsource", true)
	tb.do("load a page of the server", chromedp.Navigate(s.HTTP+"/health"))
	eval[bool](tb, "open an EventSource", fmt.Sprintf(`(() => {
		window.got = [];
		const es = new EventSource('/events?method=chat_subscribe&params=' + encodeURIComponent(JSON.stringify(['messages', %q])));
		es.onmessage = (e) => window.got.push({id: e.lastEventId, msg: JSON.parse(e.data)});
		return true;
	})()`, room))
	tb.waitJS("the subscribe answer and the position notice", `window.got.length >= 2`)
	chatSend(t, s.HTTP, room, "hello browser")
	tb.waitJS("the message", `window.got.some(e => e.msg.params?.result?.text === "hello browser" && e.id.endsWith(":" + e.msg.params.offset))`)
}
