// server.js: the Server page: live calls per second, latency (p50/p99), errors by code,
// connections and subscriptions per transport, from admin_stats asked every second.

import { Client, RPCError } from "./jsonrpc.js";
import { h, wsURL } from "./dom.js";
import { showStatus } from "./status.js";
import { Chart, format, sparkline } from "./chart.js";

const $ = (sel) => document.querySelector(sel);
const client = new Client(wsURL());
const charts = {
  calls: new Chart($("#chart-calls"), { title: "Calls per second, by transport", unit: "/s" }),
  latency: new Chart($("#chart-latency"), { title: "Latency p50 and p99 (all methods, the slowest)", unit: "ms" }),
  errors: new Chart($("#chart-errors"), { title: "Errors per second, by code", unit: "/s" }),
  conns: new Chart($("#chart-conns"), { title: "Open connections, by transport" }),
  subs: new Chart($("#chart-subs"), { title: "Subscriptions, by transport" }),
};
const rates = new Map(); // "transport method" → last minute of calls/s
let timer = null;
let busy = false;

showStatus(client, $("#status"));
client.addEventListener("status", (e) => {
  if (e.detail.state === "open" && !timer) {
    timer = setInterval(tick, 1000);
    tick();
  }
});
client.connect().catch(() => {});

function notice(text, kind = "") {
  const el = $("#server-notice");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}
notice("");

async function tick() {
  if (busy || client.state !== "open") return;
  busy = true;
  try {
    const st = await client.call("admin_stats", [], { timeout: 5000 });
    notice("");
    show(st);
  } catch (err) {
    if (err instanceof RPCError && err.code === -32601) {
      notice("This connection cannot see admin_stats: the admin namespace stays off the public transports. " +
        "Start polyrpc with --ws.api naming admin (for example --ws.api admin,chat), or use polyrpc attach over IPC and its .stats command.", "warn");
      document.body.dataset.stats = "unavailable";
    } else {
      notice(`admin_stats failed: ${err.message}`, "error");
    }
  } finally {
    busy = false;
  }
}

function show(st) {
  document.body.dataset.stats = "ok";
  $("#server-window").textContent = `Rates and latencies over the last ${st.windowSeconds.toFixed(1)} s, updated every second.`;
  const by = (list, key, val) => new Map(list.map((x) => [String(x[key]), x[val]]));
  const active = st.transports.filter((t) => t.calls > 0 || t.connections > 0 || t.subscriptions > 0);
  charts.calls.push(by(active, "transport", "callsPerSecond"));
  charts.conns.push(by(active, "transport", "connections"));
  charts.subs.push(by(active, "transport", "subscriptions"));
  charts.errors.push(by(st.errors.filter((e) => e.count > 0), "code", "perSecond"));
  let p50 = 0;
  let p99 = 0;
  for (const m of st.methods) {
    p50 = Math.max(p50, m.p50Ms);
    p99 = Math.max(p99, m.p99Ms);
  }
  charts.latency.push(new Map([["p50", p50], ["p99", p99]]));

  const rows = [];
  for (const m of st.methods) {
    const key = `${m.transport} ${m.method}`;
    const hist = rates.get(key) || [];
    hist.push(m.callsPerSecond);
    if (hist.length > 60) hist.shift();
    rates.set(key, hist);
    rows.push(h("tr", { "data-method": m.method, "data-transport": m.transport },
      h("td", {}, m.transport), h("td", {}, h("code", {}, m.method)),
      h("td.num", {}, String(m.calls)), h("td.num", {}, String(m.errors)),
      h("td.num", {}, format(m.callsPerSecond)), h("td.num", {}, format(m.p50Ms)), h("td.num", {}, format(m.p99Ms)),
      h("td", {}, sparkline(hist))));
  }
  $("#method-rows").replaceChildren(...rows);
}
