// methods.js: the searchable method list and the documentation and form of one method.

import { h, json } from "./dom.js";
import { namespaceOf } from "./discover.js";
import { paramForm } from "./form.js";

/**
 * methodList fills list with the methods matching the search box, grouped by namespace; a
 * click on one calls onSelect(method). It returns a function that marks the selected method.
 */
export function methodList(list, search, methods, onSelect) {
  let selected = "";
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = methods.filter((m) => !q || m.name.toLowerCase().includes(q) || m.summary.toLowerCase().includes(q));
    const groups = Map.groupBy ? Map.groupBy(shown, (m) => namespaceOf(m.name)) : group(shown);
    list.replaceChildren(...[...groups].map(([ns, ms]) => h("li.ns", {},
      h("span.ns-name", {}, ns),
      h("ul", {}, ms.map((m) => h("li", {},
        h("button", {
          type: "button", "data-method": m.name, "aria-current": m.name === selected ? "true" : null,
          title: m.summary || m.name, onclick: () => onSelect(m),
        }, m.name, m.subscription ? h("span.tag", {}, "sub") : null)))))));
    if (!shown.length) list.replaceChildren(h("li.muted", {}, q ? `No method matches “${search.value}”.` : "No methods."));
  };
  search.oninput = render; // replaces the listener of an earlier list (after a reconnection)
  render();
  return (name) => {
    selected = name;
    render();
  };
}

function group(ms) {
  const g = new Map();
  for (const m of ms) {
    const ns = namespaceOf(m.name);
    if (!g.has(ns)) g.set(ns, []);
    g.get(ns).push(m);
  }
  return g;
}

/**
 * methodPanel renders method m's documentation and its call form into panel; onCall(params,
 * byName) runs on submit, onRaw(form, byName) switches to raw JSON for it.
 */
export function methodPanel(panel, m, { onCall, onRaw }) {
  const either = !m.subscription && m.paramStructure === "either" && m.params.length > 0 && m.params.every((p) => p.name);
  const byName = h("input#by-name", { type: "checkbox", checked: m.paramStructure === "by-name" });
  const form = h("form#call-form", { "data-testid": "call-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Parameters"), ...paramForm(m)),
    either ? h("label.inline", {}, byName, " send params by name") : null,
    h("div.actions", {},
      h("button.primary", { type: "submit", "data-testid": "call" }, m.subscription ? "Subscribe" : "Call"),
      h("button", { type: "button", "data-testid": "raw-toggle", onclick: () => onRaw(form, byNameChosen()) }, "Edit as raw JSON")));
  const byNameChosen = () => (either ? byName.checked : m.paramStructure === "by-name");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    onCall(form, byNameChosen());
  });
  const result = m.result;
  panel.replaceChildren(...[
    h("h2#method-title", { "data-testid": "method-title" }, m.name),
    m.summary ? h("p.summary", {}, m.summary) : null,
    m.description && m.description !== m.summary ? h("p.description", {}, m.description) : null,
    h("p.meta", {}, `params: ${m.paramStructure}`,
      result ? [" · returns ", h("code", {}, result.name || "result"), " ", h("code.schema", {}, schemaText(result.schema))] : null),
    m.subscription ? h("p.meta", {}, "notifications: ", h("code", {}, m.subscription.notification), " ",
      h("code.schema", {}, schemaText(m.subscription.schema))) : null,
    form].filter(Boolean));
  return form;
}

function schemaText(s) {
  if (!s || !Object.keys(s).length) return "any";
  return json(s).replace(/\s+/g, " ");
}
