// form.js: a form generated from a method's parameter schemas, and reading its values back.

import { h, json } from "./dom.js";

/** kindOf maps a JSON Schema to the input used for it. */
export function kindOf(schema = {}) {
  if (choices(schema).length && choices(schema).every((v) => typeof v === "string")) return "enum";
  let t = schema.type;
  if (Array.isArray(t)) t = t.find((x) => x !== "null");
  if (t === undefined && schema.const !== undefined) t = typeof schema.const;
  return ["string", "number", "integer", "boolean"].includes(t) ? t : "json";
}

/**
 * paramForm builds the inputs for method m, each with a label, its type and description.
 * The ids are "param-NAME"; read values with readParams.
 */
export function paramForm(m) {
  if (!m.params.length) return [h("p.muted", {}, "This method takes no parameters.")];
  return m.params.map((p, i) => {
    const id = `param-${p.name || i}`;
    const kind = kindOf(p.schema);
    const schema = p.schema;
    const help = p.description ? h("small.help", { id: `${id}-help` }, p.description) : null;
    return h("div.field", { "data-kind": kind },
      h("label", { for: id }, p.name || `#${i + 1}`, " ",
        h("span.type", {}, typeLabel(schema, kind)), p.required ? h("span.req", { title: "required" }, " *") : null),
      input(id, kind, schema, p, help ? `${id}-help` : null),
      help,
      h("small.field-error", { id: `${id}-error`, role: "alert" }));
  });
}

// choices are the values a schema allows by enum or const.
function choices(schema) {
  if (Array.isArray(schema.enum)) return schema.enum;
  return schema.const !== undefined ? [schema.const] : [];
}

function typeLabel(schema, kind) {
  if (kind === "json") return Array.isArray(schema.type) ? schema.type.join("|") : schema.type || "JSON";
  return kind === "enum" ? "string" : kind;
}

function input(id, kind, schema, p, describedBy) {
  const common = { id, name: p.name, "data-testid": id, "aria-describedby": describedBy, required: p.required };
  switch (kind) {
    case "enum": {
      const opts = choices(schema).map((v) => h("option", { value: v }, v));
      if (!p.required) opts.unshift(h("option", { value: "" }, "(omit)"));
      return h("select", common, ...opts);
    }
    case "boolean":
      return h("select", common, p.required ? null : h("option", { value: "" }, "(omit)"),
        h("option", { value: "false" }, "false"), h("option", { value: "true" }, "true"));
    case "number":
    case "integer":
      return h("input", { ...common, type: "number", step: kind === "integer" ? "1" : "any", inputmode: kind === "integer" ? "numeric" : "decimal" });
    case "string":
      return h("input", { ...common, type: "text", autocomplete: "off", placeholder: schema.default !== undefined ? String(schema.default) : null });
    default:
      return h("textarea", { ...common, rows: 3, spellcheck: "false", placeholder: schema.default !== undefined ? json(schema.default) : "JSON" });
  }
}

/**
 * readParams reads the form back as params: an array, or an object when byName. It returns null
 * and marks the fields in error when a value does not parse. With draft, nothing is marked and
 * a value that does not parse is taken as its text (a start for editing as raw JSON).
 */
export function readParams(form, m, byName, draft = false) {
  const values = [];
  let ok = true;
  for (const [i, p] of m.params.entries()) {
    const el = form.querySelector(`#${CSS.escape(`param-${p.name || i}`)}`);
    const err = form.querySelector(`#${CSS.escape(`param-${p.name || i}-error`)}`);
    err.textContent = "";
    el.removeAttribute("aria-invalid");
    try {
      values.push(parse(el, el.closest(".field").dataset.kind, p));
    } catch (e) {
      if (draft) {
        values.push(el.value === "" ? undefined : el.value);
        continue;
      }
      ok = false;
      err.textContent = e.message;
      el.setAttribute("aria-invalid", "true");
    }
  }
  if (!ok) return null;
  if (byName) {
    const obj = {};
    m.params.forEach((p, i) => { if (values[i] !== undefined) obj[p.name] = values[i]; });
    return obj;
  }
  while (values.length && values[values.length - 1] === undefined) values.pop();
  return values.map((v) => (v === undefined ? null : v));
}

// parse turns one input's text into a value; undefined means omitted.
function parse(el, kind, p) {
  const text = el.value;
  if (text === "" && kind !== "string") {
    if (p.required) throw new Error("required");
    return undefined;
  }
  switch (kind) {
    case "string":
    case "enum":
      return text === "" && !p.required ? undefined : text;
    case "boolean":
      return text === "true";
    case "number":
    case "integer": {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === "integer" && !Number.isInteger(n))) throw new Error(`not ${kind === "integer" ? "an integer" : "a number"}`);
      return n;
    }
    default:
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`invalid JSON: ${e.message}`);
      }
  }
}
