// app.js: the method explorer page: connects to the server that served it, lists what
// rpc.discover offers and runs calls, batches and subscriptions from forms or raw JSON.

import { Client } from "./jsonrpc.js";
import { h, json, clock, wsURL } from "./dom.js";
import { showStatus } from "./status.js";
import { discover, namespaceOf } from "./discover.js";
import { methodList, methodPanel } from "./methods.js";
import { readParams } from "./form.js";
import { showResult, showError, showBatch } from "./result.js";
import { addSubscription } from "./subs.js";

const $ = (sel) => document.querySelector(sel);
const client = new Client(wsURL());
let methods = new Map();
let shown = ""; // what the method list shows, as JSON
let select = () => {};

showStatus(client, $("#status"));
client.addEventListener("status", (e) => {
  if (e.detail.state === "open") load(); // again after a reconnection: the server may have changed
});
client.addEventListener("notification", (e) => {
  const list = $("#other-notes");
  list.prepend(h("li", {}, h("time", {}, clock()), " ", h("code", {}, e.detail.method), " ", h("code", {}, json(e.detail.params))));
  while (list.childElementCount > 50) list.lastElementChild.remove();
});
client.connect().catch(() => {}); // the status indicator reports failures
$("#raw-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sendRaw($("#raw-request").value);
});
window.addEventListener("hashchange", () => openMethod(hashMethod()));

async function load() {
  let info;
  try {
    info = await discover(client);
  } catch (err) {
    $("#source").textContent = `Could not list methods: ${err.message}`;
    return;
  }
  const doc = JSON.stringify(info);
  if (doc === shown) return; // reconnected to a server offering the same: keep the forms as typed
  shown = doc;
  methods = new Map(info.methods.map((m) => [m.name, m]));
  const src = $("#source");
  src.dataset.source = info.source;
  if (info.source === "rpc.discover") {
    src.textContent = `${info.methods.length} methods from rpc.discover${info.title ? ` (${info.title}${info.version ? " " + info.version : ""})` : ""}`;
  } else {
    src.textContent = `This server has no rpc.discover; namespaces from rpc_modules: ${info.namespaces.join(", ") || "none"}. Use raw JSON.`;
  }
  select = methodList($("#method-list"), $("#method-search"), info.methods, (m) => {
    window.location.hash = `m=${m.name}`;
    openMethod(m.name);
  });
  openMethod(hashMethod());
}

function hashMethod() {
  return new URLSearchParams(window.location.hash.slice(1)).get("m") || "";
}

function openMethod(name) {
  const m = methods.get(name);
  if (!m) return;
  select(name);
  methodPanel($("#method-panel"), m, {
    onCall: (form, byName) => {
      const params = readParams(form, m, byName && !m.subscription); // subscribing is by position
      if (params === null) return;
      if (m.subscription) subscribe(m.call, params);
      else run(m.call, () => client.call(m.call, params), (r, ms) => showResult($("#result"), m.call, ms, r));
    },
    onRaw: (form, byName) => {
      const params = readParams(form, m, byName && !m.subscription, true);
      $("#raw-request").value = json({ jsonrpc: "2.0", id: 1, method: m.call, params });
      $("#raw-request").focus();
    },
  });
}

// run times fn, shows what it resolves to with show, or its error.
async function run(what, fn, show) {
  const t0 = performance.now();
  const el = $("#result");
  el.dataset.outcome = "pending";
  el.replaceChildren(h("p.muted", {}, `Calling ${what}…`));
  try {
    const r = await fn();
    show(r, Math.round(performance.now() - t0));
  } catch (err) {
    showError(el, what, Math.round(performance.now() - t0), err);
  }
}

function subscribe(method, params) {
  const ns = namespaceOf(method);
  run(method, () => client.subscribe(ns, ...params), (sub, ms) => {
    $("#no-subs").hidden = true;
    addSubscription($("#sub-list"), sub);
    showResult($("#result"), method, ms, sub.id);
  });
}

function sendRaw(text) {
  let req;
  try {
    req = JSON.parse(text);
  } catch (err) {
    showError($("#result"), "raw request", null, new Error(`invalid JSON: ${err.message}`));
    return;
  }
  if (Array.isArray(req)) {
    const items = req.map((r) => ({ method: r?.method, params: r?.params, notification: r?.id === undefined }));
    run("batch", () => client.batch(items), (answers, ms) => showBatch($("#result"), ms, items, answers));
  } else if (!req || typeof req.method !== "string") {
    showError($("#result"), "raw request", null, new Error('a request needs a "method" string'));
  } else if (req.method.endsWith("_subscribe") && Array.isArray(req.params) && req.id !== undefined) {
    subscribe(req.method, req.params);
  } else if (req.id === undefined) {
    run(req.method, () => client.notify(req.method, req.params), (_, ms) =>
      showResult($("#result"), `${req.method} (notification: no answer)`, ms, null));
  } else {
    run(req.method, () => client.call(req.method, req.params), (r, ms) => showResult($("#result"), req.method, ms, r));
  }
}
