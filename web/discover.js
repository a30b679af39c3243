// discover.js: what the server offers, from rpc.discover (OpenRPC) or else rpc_modules.

import { RPCError } from "./jsonrpc.js";

const methodNotFound = -32601;

/**
 * discover resolves to {source, title, version, methods, namespaces}. methods are normalized
 * OpenRPC method objects: {name, call, summary, description, params: [{name, required, schema,
 * description}], result, paramStructure, subscription: {names, notification, schema} | null}.
 * call is the method to send: name, except for a subscription listed once per name (such as
 * "chat_subscribe(messages)"), whose x-subscription says the method ("chat_subscribe").
 * Without rpc.discover, source is "rpc_modules" and methods is empty.
 */
export async function discover(client) {
  try {
    const doc = await client.call("rpc.discover");
    const methods = (doc.methods || []).map((m) => normalize(doc, m)).sort((a, b) => a.name.localeCompare(b.name));
    const namespaces = [...new Set(methods.map((m) => namespaceOf(m.name)))];
    return { source: "rpc.discover", title: doc.info?.title, version: doc.info?.version, methods, namespaces };
  } catch (err) {
    if (!(err instanceof RPCError) || err.code !== methodNotFound) throw err;
  }
  const modules = await client.call("rpc_modules");
  return { source: "rpc_modules", methods: [], namespaces: Object.keys(modules || {}).sort() };
}

/** namespaceOf is the namespace of a method: "chat" for chat_send, "rpc" for rpc.discover. */
export function namespaceOf(method) {
  const i = method.search(/[_.]/);
  return i < 0 ? method : method.slice(0, i);
}

function normalize(doc, raw) {
  const m = deref(doc, raw);
  const params = (m.params || []).map((p) => {
    const d = deref(doc, p);
    return { name: d.name, required: !!d.required, description: d.description || d.summary || "", schema: deref(doc, d.schema || {}) };
  });
  const result = m.result ? deref(doc, m.result) : null;
  const subscription = subscriptionOf(doc, m);
  if (subscription && subscription.names.length && !namesParam(params[0], subscription.names)) {
    // The document leaves the subscription's name out of params: ask for it first.
    params.unshift({ name: "subscription", required: true, description: "what to subscribe to", schema: { type: "string", enum: subscription.names } });
  }
  return {
    name: m.name,
    call: (subscription && subscription.method) || m.name,
    summary: m.summary || "",
    description: m.description || "",
    params,
    result: result && { name: result.name, schema: deref(doc, result.schema || {}) },
    paramStructure: m.paramStructure || "either",
    subscription,
  };
}

// namesParam tells whether p is the parameter that takes the subscription's name.
function namesParam(p, names) {
  if (!p) return false;
  const values = p.schema.enum || (p.schema.const !== undefined ? [p.schema.const] : []);
  return values.some((v) => names.includes(v)) || /^(name|kind|event|topic|subscription|type)$/i.test(p.name || "");
}

// subscriptionOf reads the x-subscription extension, tolerating an object or a list of them,
// and treats any NS_subscribe method as a subscription even without it.
function subscriptionOf(doc, m) {
  const x = m["x-subscription"];
  if (!x && !m.name.endsWith("_subscribe")) return null;
  const list = (Array.isArray(x) ? x : x ? [x] : []).map((e) => (typeof e === "object" && e) || { name: e });
  const first = list[0] || {};
  const schema = first.result?.schema || first.schema || first.result || {};
  return {
    method: typeof first.method === "string" ? first.method : "",
    names: list.map((e) => e.name).filter((n) => typeof n === "string"),
    notification: first.notification || `${namespaceOf(m.name)}_subscription`,
    schema: deref(doc, schema),
  };
}

// deref follows a local "$ref" ("#/components/...") a few levels deep.
export function deref(doc, v, depth = 0) {
  if (!v || typeof v !== "object" || typeof v.$ref !== "string" || depth > 8) return v;
  if (!v.$ref.startsWith("#/")) return v;
  let cur = doc;
  for (const part of v.$ref.slice(2).split("/")) {
    cur = cur?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return cur === undefined ? v : deref(doc, cur, depth + 1);
}
