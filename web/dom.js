// dom.js: tiny DOM helpers shared by the console's modules.

/**
 * h("tag#id.class", {attr: value, onclick: fn}, ...children) builds an element. Children are
 * nodes or strings (added as text, never parsed as HTML); null and false are skipped.
 */
export function h(spec, attrs = {}, ...children) {
  const [, tag, id, cls] = /^([a-z0-9-]+)(?:#([\w-]+))?((?:\.[\w-]+)*)$/.exec(spec);
  const el = document.createElement(tag);
  if (id) el.id = id;
  if (cls) el.className = cls.slice(1).replaceAll(".", " ");
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** json pretty-prints a value for display. */
export function json(v) {
  return v === undefined ? "(no value)" : JSON.stringify(v, null, 2);
}

/** clock formats a time (a Date, an RFC 3339 string or Unix seconds) as HH:MM:SS. */
export function clock(t = new Date()) {
  const d = t instanceof Date ? t : new Date(typeof t === "number" ? t * 1000 : t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleTimeString([], { hour12: false });
}

/** wsURL is the WebSocket address of the server that served the page. */
export function wsURL(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/`;
}
