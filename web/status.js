// status.js: the connection status indicator shared by the console and the chat page.

import { h } from "./dom.js";

const labels = {
  idle: "not connected",
  connecting: "connecting…",
  open: "connected",
  reconnecting: "reconnecting…",
  closed: "closed",
};

/** showStatus keeps el (a live region) in step with the client's connection state. */
export function showStatus(client, el) {
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  const render = (d) => {
    el.dataset.state = d.state;
    let text = labels[d.state] || d.state;
    if (d.state === "reconnecting" && d.delay !== undefined) {
      text = `disconnected, retrying in ${(d.delay / 1000).toFixed(1)} s (attempt ${d.attempt})`;
    }
    el.replaceChildren(h("span.dot", { "aria-hidden": "true" }), " ", text);
    el.title = d.error ? `${client.url}: ${d.error}` : client.url;
  };
  render({ state: client.state });
  client.addEventListener("status", (e) => render(e.detail));
}
