package integration_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsole drives the browser console (package web) in headless Chromium against the
// binary: the method list from rpc.discover, a call through a generated form, an error, a
// subscription with its notifications and Unsubscribe, chat between pages (history on join,
// live messages), a chat page whose network drops (through a proxy) and that resumes with
// nothing missed, and the reconnection after the server restarts on the same port (the chat
// pages reload the history). It saves screenshots in $POLYRPC_ARTIFACTS (or a temporary
// directory) and logs their paths.
func TestBrowserConsole(t *testing.T) {
	exe := findChromium(t)
	s := startServer(t)
	base := s.HTTP + "/"
	b := startBrowser(t, exe)
	room := fmt.Sprintf("e2e-%d", s.PID)

	// The explorer: the method list comes from rpc.discover.
	ex := b.tab("explorer", true)
	ex.do("load the console", chromedp.Navigate(base))
	ex.waitJS("connected", `document.querySelector("#status")?.dataset.state === "open"`)
	ex.waitJS("methods from rpc.discover", `document.querySelector("#source")?.dataset.source === "rpc.discover" &&
		!!document.querySelector('#method-list button[data-method="test_add"]') &&
		!!document.querySelector('#method-list button[data-method^="chat_subscribe"]')`)

	// A call through the form of test_add, typed in as a person would.
	ex.do("search and open test_add",
		chromedp.SendKeys(chromedp.CSS("#method-search"), "add"),
		chromedp.Click(chromedp.CSS(`#method-list button[data-method="test_add"]`)),
		chromedp.WaitVisible(chromedp.CSS("#call-form")),
		chromedp.SendKeys(chromedp.CSS("#call-form .field:nth-of-type(1) input"), "2"),
		chromedp.SendKeys(chromedp.CSS("#call-form .field:nth-of-type(2) input"), "40"),
		chromedp.Click(chromedp.CSS(`[data-testid="call"]`)))
	ex.waitJS("test_add result 42", `document.querySelector("#result")?.dataset.outcome === "ok" &&
		document.querySelector('[data-testid="result-json"]')?.textContent.trim() === "42"`)

	// The same call turned into raw JSON, edited and sent.
	ex.do("edit as raw JSON", chromedp.Click(chromedp.CSS(`[data-testid="raw-toggle"]`)))
	ex.waitJS("the request in the raw editor", `(() => {
		const req = JSON.parse(document.querySelector("#raw-request").value);
		return req.method === "test_add" && JSON.stringify(req.params) === "[2,40]";
	})()`)
	ex.setValue("#raw-request", `{"jsonrpc":"2.0","id":7,"method":"test_add","params":{"a":20,"b":3}}`)
	ex.do("send raw", chromedp.Click(chromedp.CSS(`[data-testid="raw-send"]`)))
	ex.waitJS("raw result 23", `document.querySelector('[data-testid="result-json"]')?.textContent.trim() === "23"`)

	// An error answer shows its code and message.
	ex.do("call test_failCoded", chromedp.Navigate(base+"#m=test_failCoded"))
	ex.waitJS("test_failCoded form", `document.querySelector("#method-title")?.textContent === "test_failCoded"`)
	ex.do("submit", chromedp.Click(chromedp.CSS(`[data-testid="call"]`)))
	ex.waitJS("error -32042 shown", `document.querySelector("#result")?.dataset.outcome === "error" &&
		document.querySelector('[data-testid="error-code"]')?.textContent === "-32042" &&
		document.querySelector('[data-testid="error-message"]')?.textContent !== ""`)

	// Raw JSON: a batch of a call and an unknown method, answered item by item.
	ex.setValue("#raw-request", `[{"jsonrpc":"2.0","id":1,"method":"test_add","params":[1,2]},{"jsonrpc":"2.0","id":2,"method":"no_such"}]`)
	ex.do("send a raw batch", chromedp.Click(chromedp.CSS(`[data-testid="raw-send"]`)))
	ex.waitJS("batch answers", `(() => {
		const items = document.querySelectorAll("#result ol.batch > li");
		return items.length === 2 && items[0].querySelector("pre")?.textContent.trim() === "3" &&
			items[1].querySelector('[data-testid="error-code"]')?.textContent === "-32601";
	})()`)

	// The client module on its own, over /ws: calls by position and by name, an error, a
	// timeout, an aborted call (which sends the cancel notification), a batch, the server's
	// calls to handlers (a result, a thrown error, a method without a handler, a call the server
	// cancels), and a subscription read as an async iterator (leaving the loop unsubscribes).
	got := eval[string](ex, "use jsonrpc.js", fmt.Sprintf(moduleScript, room+"-module"), chromedp.EvalAwaitPromise)
	const want = `{"sum":3,"byName":7,"err":[true,-32042,{"why":"testing"}],"timeout":[true,"timeout"],"abort":["AbortError",true],` +
		`"batch":[2,-32601],"callback":true,"refused":[4001,"no",{"why":"user"}],"nope":-32601,` +
		`"outer":"AbortError","handlerCancelled":"AbortError",` +
		`"note":"via module","active":false,"unsubscribed":"unsubscribed"}`
	if got != want {
		t.Errorf("jsonrpc.js:\n got %s\nwant %s", got, want)
	}

	// A subscription to the chat room from its form.
	ex.setValue("#method-search", "")
	ex.do("search and open chat_subscribe",
		chromedp.SendKeys(chromedp.CSS("#method-search"), "subscribe"),
		chromedp.Click(chromedp.CSS(`#method-list button[data-method^="chat_subscribe"]`)))
	// rpc.discover lists a subscription as NS_subscribe or once per name, NS_subscribe(NAME).
	ex.waitJS("chat_subscribe form", `document.querySelector("#method-title")?.textContent.startsWith("chat_subscribe")`)
	fillSubscribe := fmt.Sprintf(`(() => {
		const fields = [...document.querySelectorAll("#call-form .field :is(input, select, textarea)")];
		for (const [i, el] of fields.entries()) {
			if (el.name === "since") continue; // optional: no position to resume from
			if (el.name === "room" || (i === fields.length - 1 && el.tagName !== "SELECT")) el.value = %q;
			else if (el.tagName !== "SELECT" && el.value === "") el.value = "messages";
		}
		document.querySelector('[data-testid="call"]').click();
		return fields.length;
	})()`, room)
	if n := eval[int](ex, "fill in and submit chat_subscribe", fillSubscribe); n < 1 {
		t.Fatalf("chat_subscribe form has %d fields", n)
	}
	ex.waitJS("subscription listed", `document.querySelector('[data-testid="subscription"]')?.dataset.state === "active" &&
		/^0x/.test(document.querySelector('[data-testid="sub-id"]')?.textContent)`)

	// Chat: bob speaks before alice joins (history), then live.
	bob := b.tab("bob", false)
	alice := b.tab("alice", false)
	join := func(tb *tab, name, base string) {
		tb.do("open the chat page", chromedp.Navigate(base+"chat.html"))
		tb.waitJS("connected", `document.querySelector("#status")?.dataset.state === "open"`)
		tb.setValue("#chat-room", room)
		tb.setValue("#chat-name", "")
		tb.do("join "+room,
			chromedp.SendKeys(chromedp.CSS("#chat-name"), name),
			chromedp.Click(chromedp.CSS(`[data-testid="chat-join"]`)))
		tb.waitJS("joined", `document.querySelector("#room-title")?.textContent === "Room `+room+`" &&
			!document.querySelector("#chat-text").disabled`)
	}
	say := func(tb *tab, text string) {
		tb.do("send "+strconv.Quote(text),
			chromedp.SendKeys(chromedp.CSS("#chat-text"), text),
			chromedp.Click(chromedp.CSS(`[data-testid="chat-send"]`)))
		tb.waitJS("the input emptied once sent", `document.querySelector("#chat-text").value === ""`)
	}
	sees := func(tb *tab, author, text string) {
		tb.waitJS(fmt.Sprintf("sees %s: %q", author, text), fmt.Sprintf(`[...document.querySelectorAll('[data-testid="chat-message"]')].some((li) =>
			li.querySelector('[data-testid="chat-author"]').textContent === %q &&
			li.querySelector('[data-testid="chat-body"]').textContent === %q)`, author, text))
	}
	join(bob, "bob", base)
	say(bob, "hello before alice")
	sees(bob, "bob", "hello before alice")
	join(alice, "alice", base)
	sees(alice, "bob", "hello before alice") // from chat_history
	say(bob, "hello alice")
	sees(alice, "bob", "hello alice") // live, through chat_subscribe
	say(alice, "hi bob")
	sees(bob, "alice", "hi bob")

	// The explorer's subscription got the live messages as notifications.
	ex.waitJS("notifications in the subscription card", `(() => {
		const notes = [...document.querySelectorAll('[data-testid="notification"]')].map((p) => JSON.parse(p.textContent));
		return notes.some((m) => m.text === "hello alice" && m.name === "bob") && notes.some((m) => m.text === "hi bob");
	})()`)
	shot := ex.screenshot("console")
	t.Logf("screenshot of the console: %s", shot)
	t.Logf("screenshot of the chat page: %s", alice.screenshot("chat"))

	// Unsubscribe: the card says so and counts no more notifications.
	count := eval[string](ex, "count", `document.querySelector('[data-testid="sub-count"]').textContent`)
	ex.do("unsubscribe", chromedp.Click(chromedp.CSS(`[data-testid="unsubscribe"]`)))
	ex.waitJS("unsubscribed", `document.querySelector('[data-testid="subscription"]')?.dataset.state === "unsubscribed"`)
	say(bob, "after unsubscribe")
	sees(alice, "bob", "after unsubscribe")
	if after := eval[string](ex, "count", `document.querySelector('[data-testid="sub-count"]').textContent`); after != count {
		t.Errorf("notifications counted after Unsubscribe: %s, then %s", count, after)
	}

	// The network drops under carol's page while the server runs on: what bob says meanwhile
	// reaches her when she is back (resumed from her position), each message once, and the
	// page says that nothing was missed.
	proxy := startCutProxy(t, mustHost(t, s.HTTP))
	carol := b.tab("carol", false)
	join(carol, "carol", "http://"+proxy.addr()+"/")
	sees(carol, "bob", "after unsubscribe")
	proxy.cut(true)
	carol.waitJS("disconnected", `document.querySelector("#status")?.dataset.state === "reconnecting"`)
	say(bob, "while carol was away")
	say(bob, "still away")
	proxy.resume()
	carol.waitJS("reconnected, nothing missed", `document.querySelector("#chat-notice")?.textContent === "Reconnected, nothing missed."`)
	sees(carol, "bob", "still away")
	sees(bob, "bob", "still away")
	if cl, bl := chatLog(carol), chatLog(bob); cl != bl {
		t.Errorf("after the reconnect carol's page shows\n%s\nand bob's\n%s", cl, bl)
	}
	t.Logf("screenshot of the chat page after the network cut: %s", carol.screenshot("chat-resumed"))

	// A second subscription from the same form, to follow through a restart.
	ex.do("subscribe again", chromedp.Click(chromedp.CSS(`[data-testid="call"]`)))
	ex.waitJS("a second subscription", `document.querySelectorAll('[data-testid="subscription"]').length === 2 &&
		document.querySelector('[data-testid="subscription"]').dataset.state === "active"`)

	// The server restarts on the same port: the pages reconnect, alice's page joins again and
	// the explorer subscribes again. The new server's history is not the old one (another
	// epoch): the chat pages reload it, and carol, who comes back only after a message was
	// sent to the new server, sees it from there.
	_, port, err := net.SplitHostPort(mustHost(t, s.HTTP))
	if err != nil {
		t.Fatal(err)
	}
	proxy.cut(true)
	carol.waitJS("disconnected again", `document.querySelector("#status")?.dataset.state === "reconnecting"`)
	s.stop(t)
	alice.waitJS("disconnected", `document.querySelector("#status")?.dataset.state === "reconnecting"`)
	ex.waitJS("subscription suspended", `document.querySelector('[data-testid="subscription"]').dataset.state === "suspended"`)
	s2 := startServer(t, "--http.port", port)
	if err := dialClient(t, s2.HTTP, nil).Call(context.Background(), nil, "chat_send", room, "dave", "while the pages were away"); err != nil {
		t.Fatal(err)
	}
	proxy.resume()
	alice.waitJS("reconnected", `document.querySelector("#status")?.dataset.state === "open"`)
	ex.waitJS("explorer reconnected", `document.querySelector("#status")?.dataset.state === "open"`)
	const reloaded = `document.querySelector("#chat-notice")?.textContent === "Reconnected, reloaded history."`
	alice.waitJS("rejoined, history reloaded", reloaded)
	carol.waitJS("rejoined, history reloaded", reloaded)
	sees(carol, "dave", "while the pages were away")
	sees(alice, "dave", "while the pages were away")
	say(alice, "back again")
	sees(alice, "alice", "back again")
	ex.waitJS("the resubscribed subscription gets new messages", `(() => {
		const card = document.querySelector('[data-testid="subscription"]');
		return card.dataset.state === "active" && [...card.querySelectorAll('[data-testid="notification"]')]
			.some((p) => JSON.parse(p.textContent).text === "back again");
	})()`)
}

// chatLog is the chat page's messages, one "author: text" a line, in the page's order.
func chatLog(tb *tab) string {
	return eval[string](tb, "read the messages", `[...document.querySelectorAll('[data-testid="chat-message"]')]
		.map((li) => li.querySelector('[data-testid="chat-author"]').textContent + ": " +
			li.querySelector('[data-testid="chat-body"]').textContent).join("\n")`)
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// moduleScript exercises web/jsonrpc.js in the page; %q is the chat room.
const moduleScript = `(async () => {
	const { Client, RPCError, TransportError } = await import("./jsonrpc.js");
	const c = new Client(location.origin.replace(/^http/, "ws") + "/ws", { timeout: 10000 });
	await c.connect();
	const out = {};
	out.sum = await c.call("test_add", [1, 2]);
	out.byName = await c.call("test_add", { a: 2, b: 5 });
	try { await c.call("test_failCoded"); } catch (e) { out.err = [e instanceof RPCError, e.code, e.data]; }
	try { await c.call("test_sleep", [3000], { timeout: 100 }); } catch (e) { out.timeout = [e instanceof TransportError, e.kind]; }
	const sent = [], send = c._ws.send.bind(c._ws);
	c._ws.send = (m) => { sent.push(m); send(m); };
	const ctl = new AbortController();
	setTimeout(() => ctl.abort(), 50);
	try { await c.call("test_sleep", [60000], { signal: ctl.signal }); } catch (e) {
		out.abort = [e.name, sent.some((m) => m.includes('"method":"$/cancelRequest"'))];
	}
	const b = await c.batch([{ method: "test_add", params: [1, 1] }, { method: "no_such" }]);
	out.batch = [b[0].result, b[1].error.code];
	c.handle("ui_confirm", async ([q]) => q === "ok?");
	c.handle("ui_refuse", () => { throw new RPCError({ code: 4001, message: "no", data: { why: "user" } }); });
	out.callback = await c.call("test_callback", ["ui_confirm", ["ok?"]]);
	try { await c.call("test_callback", ["ui_refuse", []]); } catch (e) { out.refused = [e.code, e.message, e.data]; }
	try { await c.call("test_callback", ["ui_nope", []]); } catch (e) { out.nope = e.code; }
	// Cancelling test_callback cancels its call to this client: the handler's signal aborts.
	let handlerSaw = "";
	c.handle("ui_wait", (_, { signal }) => new Promise((resolve) => {
		signal.addEventListener("abort", () => { handlerSaw = signal.reason.name; resolve(null); }, { once: true });
	}));
	const ctl2 = new AbortController();
	setTimeout(() => ctl2.abort(), 100);
	try { await c.call("test_callback", ["ui_wait", []], { signal: ctl2.signal }); } catch (e) { out.outer = e.name; }
	for (let i = 0; i < 250 && !handlerSaw; i++) await new Promise((r) => setTimeout(r, 20));
	out.handlerCancelled = handlerSaw;
	const sub = await c.subscribe("chat", "messages", %q);
	const ended = new Promise((resolve) => sub.addEventListener("end", (e) => resolve(e.detail.reason)));
	await c.call("chat_send", [sub.args[0], "module", "via module"]);
	for await (const m of sub) { out.note = m.text; break; }
	out.active = sub.active;
	out.unsubscribed = await ended;
	c.close();
	return JSON.stringify(out);
})()`
