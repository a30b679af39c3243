// subs.js: the live subscriptions panel: one card per subscription with its notifications,
// lag notices, state and an Unsubscribe button.

import { h, json, clock } from "./dom.js";

const keep = 100; // notifications shown per subscription; older ones are dropped from view

/** addSubscription adds a card for sub to the list element and keeps it up to date. */
export function addSubscription(list, sub) {
  const state = h("span.sub-state", { "data-testid": "sub-state" }, "active");
  const count = h("span.badge", { "data-testid": "sub-count", title: "notifications received" }, "0");
  const idEl = h("code", { "data-testid": "sub-id" }, String(sub.id));
  const dropped = h("span.badge.warn", { "data-testid": "sub-dropped", title: "notifications the server dropped", hidden: true });
  const items = h("ol.notes", { "data-testid": "sub-notifications", "aria-label": "notifications" });
  const button = h("button", { type: "button", "data-testid": "unsubscribe" }, "Unsubscribe");
  const card = h("li.sub", { "data-testid": "subscription", "data-state": "active" },
    h("header", {},
      h("strong", {}, `${sub.namespace} · ${sub.name}`), " ",
      sub.args.length ? h("code.args", {}, json(sub.args).replace(/\s+/g, " ")) : null,
      " ", idEl, " ", count, " ", dropped, " ", state, " ", button),
    items);
  let n = 0;
  const note = (cls, ...content) => {
    items.prepend(h(`li.${cls}`, {}, h("time", {}, clock()), " ", ...content));
    while (items.childElementCount > keep) items.lastElementChild.remove();
  };
  const setState = (s, text = s) => {
    card.dataset.state = s;
    state.textContent = text;
  };
  sub.addEventListener("data", (e) => {
    count.textContent = String(++n);
    note("note", h("pre", { "data-testid": "notification" }, json(e.detail)));
  });
  sub.addEventListener("lag", (e) => {
    dropped.hidden = false;
    dropped.textContent = `${sub.dropped} dropped`;
    note("lag", h("span", { "data-testid": "lag" }, `the server dropped ${e.detail} notification(s) for this slow client (${sub.dropped} in all)`));
  });
  sub.addEventListener("suspended", () => setState("suspended", "connection lost, will resubscribe"));
  sub.addEventListener("resubscribed", (e) => {
    idEl.textContent = String(e.detail.id);
    setState("active");
    note("info", e.detail.recovered
      ? "resubscribed after reconnecting; nothing missed"
      : "resubscribed after reconnecting; notifications sent meanwhile may have been missed");
  });
  sub.addEventListener("end", (e) => {
    button.disabled = true;
    const { reason, error } = e.detail;
    setState(reason, reason === "unsubscribed" ? "unsubscribed" : `${reason}${error ? ": " + error.message : ""}`);
    if (reason !== "unsubscribed") note("lag", `subscription ${reason}${error ? ": " + error.message : ""}`);
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await sub.unsubscribe();
    } catch (err) {
      note("lag", `unsubscribe failed: ${err.message}`);
    }
    const remove = h("button", { type: "button", onclick: () => card.remove() }, "Remove");
    button.replaceWith(remove);
  });
  list.prepend(card);
  return card;
}
