// chat.js: the chat page on the chat service: join a room (its history, then its messages live
// through chat_subscribe("messages", room)) and send with chat_send(room, name, text).

import { Client } from "./jsonrpc.js";
import { h, clock, wsURL } from "./dom.js";
import { showStatus } from "./status.js";

const $ = (sel) => document.querySelector(sel);
const historyLimit = 50;
const keep = 500; // messages kept on the page
const client = new Client(wsURL());
let room = null; // {name, user, sub, seen: Set of message keys}

showStatus(client, $("#status"));
client.connect().catch(() => {});
$("#chat-name").value = remembered() || "";
$("#join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  join($("#chat-room").value.trim(), $("#chat-name").value.trim());
});
$("#send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  send();
});

function notice(text, kind = "info") {
  const el = $("#chat-notice");
  el.dataset.kind = kind;
  el.textContent = text;
}

async function join(name, user) {
  if (room) await room.sub.unsubscribe().catch(() => false);
  room = null;
  setSending(false);
  $("#chat-messages").replaceChildren();
  $("#room-title").textContent = `Joining ${name}…`;
  notice("");
  try {
    // Subscribe first, then read the history, so no message falls between the two.
    const sub = await client.subscribe("chat", "messages", name);
    room = { name, user, sub, seen: new Set() };
    sub.addEventListener("data", (e) => add(e.detail));
    sub.addEventListener("lag", (e) => notice(`${e.detail} message(s) were dropped because this page fell behind.`, "warn"));
    sub.addEventListener("suspended", () => notice("Connection lost; rejoining when the server is back…", "warn"));
    // Back from a reconnect: the subscription resumed from the last message received, and
    // either nothing was missed or the server no longer had it all (then the history reloads).
    sub.addEventListener("resubscribed", (e) => {
      if (e.detail.recovered) notice("Reconnected, nothing missed.");
      else reload("Reconnected, reloaded history.");
    });
    // Messages lost while connected (the server's broker lost them): reload as well.
    sub.addEventListener("position", (e) => {
      if (!e.detail.recovered && !e.detail.resumed) reload("Some messages were missed; reloaded history.");
    });
    sub.addEventListener("end", (e) => {
      if (e.detail.reason !== "unsubscribed") {
        notice(`Left ${name}: ${e.detail.error?.message || e.detail.reason}`, "error");
        setSending(false);
      }
    });
    await loadHistory();
    remembered(user);
    $("#room-title").textContent = `Room ${name}`;
    setSending(true);
    $("#chat-text").focus();
  } catch (err) {
    $("#room-title").textContent = "Not in a room";
    notice(`Could not join ${name}: ${err.message}`, "error");
  }
}

// remembered reads, or with an argument stores, the name last joined with; storage may be
// refused (private modes, blocked cookies), and then nothing is remembered.
function remembered(name) {
  try {
    if (name === undefined) return localStorage.getItem("polyrpc.chat.name");
    localStorage.setItem("polyrpc.chat.name", name);
  } catch {
    // not remembered
  }
  return name;
}

// reload reads the room's history again (add skips what the page has) and then says text.
function reload(text) {
  notice("Reloading the history…", "warn");
  loadHistory().then(() => notice(text), (err) => notice(`Could not reload the history: ${err.message}`, "error"));
}

async function loadHistory() {
  const r = room;
  const msgs = await client.call("chat_history", [r.name, historyLimit]);
  if (room !== r) return;
  for (const m of msgs || []) add(m);
}

// add shows a message once, in time order; history and live messages may overlap. (An id alone
// is no key: a restarted server numbers its messages anew.)
function add(m) {
  if (!room || !m || typeof m !== "object") return;
  const key = JSON.stringify([m.id, m.time, m.name, m.text]);
  if (room.seen.has(key)) return;
  room.seen.add(key);
  const li = h("li.msg", { "data-testid": "chat-message", "data-order": String(order(m.time)) },
    h("time", { datetime: typeof m.time === "string" ? m.time : null }, clock(m.time)), " ",
    h("strong", { "data-testid": "chat-author" }, m.name ?? "?"), " ",
    h("span", { "data-testid": "chat-body" }, m.text ?? ""));
  if (m.name === room.user) li.classList.add("mine");
  const list = $("#chat-messages");
  const later = [...list.children].find((el) => Number(el.dataset.order) > Number(li.dataset.order));
  list.insertBefore(li, later || null);
  while (list.childElementCount > keep) list.firstElementChild.remove();
  li.scrollIntoView({ block: "nearest" });
}

// order is a message time as milliseconds (from RFC 3339 text or Unix seconds); messages with
// no readable time go last.
function order(t) {
  const ms = typeof t === "number" ? t * 1000 : Date.parse(t);
  return Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER;
}

async function send() {
  const input = $("#chat-text");
  const text = input.value;
  if (!room || !text.trim()) return;
  input.disabled = true;
  try {
    await client.call("chat_send", [room.name, room.user, text]);
    input.value = "";
  } catch (err) {
    notice(`Not sent: ${err.message}${err.data !== undefined ? ` (${JSON.stringify(err.data)})` : ""}`, "error");
  } finally {
    input.disabled = false;
    input.focus();
  }
}

function setSending(on) {
  $("#chat-text").disabled = !on;
  $("#send-form button").disabled = !on;
}
