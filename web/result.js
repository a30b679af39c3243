// result.js: shows the outcome of a call: its result, or its error with code, message and data.

import { h, json } from "./dom.js";
import { RPCError } from "./jsonrpc.js";

/** showResult renders into el the result of what (a label) after ms milliseconds. */
export function showResult(el, what, ms, result) {
  el.dataset.outcome = "ok";
  el.replaceChildren(
    h("header", {}, h("strong", {}, "Result"), " of ", h("code", {}, what), h("span.muted", {}, ` · ${ms} ms`)),
    h("pre", { "data-testid": "result-json" }, json(result)));
}

/** showError renders err (an RPCError, a TransportError or any Error). */
export function showError(el, what, ms, err) {
  el.dataset.outcome = "error";
  el.replaceChildren(
    h("header", {}, h("strong", {}, "Error"), " from ", h("code", {}, what), ms === null ? null : h("span.muted", {}, ` · ${ms} ms`)),
    errorDetails(err));
}

/** errorDetails is a description list of an error's code, message and data. */
export function errorDetails(err) {
  const rows = [];
  if (err instanceof RPCError) {
    rows.push(["code", h("code", { "data-testid": "error-code" }, String(err.code))]);
  } else {
    rows.push(["kind", err.kind || err.name || "error"]);
  }
  rows.push(["message", h("span", { "data-testid": "error-message" }, err.message)]);
  if (err.data !== undefined) rows.push(["data", h("pre", { "data-testid": "error-data" }, json(err.data))]);
  return h("dl.error", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** showBatch renders the answers of a batch, one per call. */
export function showBatch(el, ms, items, answers) {
  el.dataset.outcome = answers.some((a) => a && a.error) ? "error" : "ok";
  el.replaceChildren(
    h("header", {}, h("strong", {}, "Batch"), ` of ${items.length}`, h("span.muted", {}, ` · ${ms} ms`)),
    h("ol.batch", {}, answers.map((a, i) => h("li", {},
      h("code", {}, String(items[i].method)), " ",
      a === null ? h("span.muted", {}, "notification, no answer")
        : a.error ? errorDetails(a.error) : h("pre", {}, json(a.result))))));
}
