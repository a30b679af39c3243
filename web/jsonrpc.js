// jsonrpc.js: a small JSON-RPC 2.0 client over WebSocket, with no dependencies.
//
//   import { Client } from "./jsonrpc.js";
//   const c = new Client("ws://127.0.0.1:8545/");
//   await c.connect();
//   const sum = await c.call("test_add", [1, 2]);            // params by position
//   const r = await c.call("test_echo", { str: "x" }, { timeout: 2000 });
//   const ctl = new AbortController();                       // ctl.abort() rejects the call
//   const s = await c.call("test_sleep", [5000], { signal: ctl.signal }); // and cancels it

//   const [a, b] = await c.batch([{ method: "test_add", params: [1, 2] }, { method: "x" }]);
//   const sub = await c.subscribe("chat", "messages", "lobby");
//   sub.addEventListener("data", (e) => console.log(e.detail));  // or: for await (const v of sub)
//   await sub.unsubscribe();
//   c.handle("ui_confirm", async ([question]) => window.confirm(question)); // the server calls it
//
// Calls reject with an RPCError (code, message, data) when the server answers an error, and
// with a TransportError when there is no answer: a timeout, a lost connection, a closed client.
// A call (or batch) given an AbortSignal rejects with the signal's reason when it is aborted,
// and if it was sent, the client tells the server with the notification named by the option
// cancelMethod ({"id": ID}; "$/cancelRequest", polyrpc's and the Language Server Protocol's
// name, by default; null sends nothing), so that the server stops the call.
// After the connection drops the client reconnects with exponential backoff and subscribes its
// subscriptions again; a subscription the server refuses then ends with a "lost" event.
// The client dispatches "status" events ({state, attempt, delay, error}) and "notification"
// events for notifications that belong to no subscription and no handler.
//
// Calls from the server (a polyrpc method's rpc.CallClient): handle(method, fn) makes the
// client answer the server's requests for method with fn(params) (params as sent: an array, an
// object or undefined; fn may be async). What fn returns is the result (undefined: null); what
// it throws is the error: its code, message and data when it has them (an RPCError, or any
// object with a numeric code), else -32000 with its message. A request for a method without a
// handler is answered -32601. A notification from the server for a handled method runs fn and
// is not answered. fn's second argument is {signal}: an AbortSignal that aborts when the server
// gives up on the call and says so with its cancel notification (options.cancelMethod, as a
// polyrpc server does when rpc.CallClient's context ends); the call is then not answered.
//
// Positions: a subscription backed by a polyrpc Feed (chat_subscribe, for one) gets position
// notices (NS_subscriptionPosition) and an offset with each notification; sub.position is the
// last one ({epoch, offset}). After a reconnect such a subscription is subscribed again from
// that position: the last argument is replaced when it is null or a position, else the
// position is added after the arguments. The server then sends what was missed, and the
// "resubscribed" event says {id, recovered: true}; when it could not (its history no longer
// reaches back that far), recovered is false and only new notifications follow, so reload.
// A subscription without positions is resubscribed as it was, with recovered false.

/** An error answered by the server: code, message and optional data. */
export class RPCError extends Error {
  constructor({ code, message, data }) {
    super(message);
    this.name = "RPCError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** No answer: the call timed out, the connection was lost or the client was closed. */
export class TransportError extends Error {
  constructor(message, kind) {
    super(message);
    this.name = "TransportError";
    this.kind = kind; // "timeout" | "disconnected" | "closed" | "protocol"
  }
}

const defaults = {
  timeout: 30000, // ms for each call or batch
  reconnect: true,
  minBackoff: 250, // ms before the first reconnection attempt, doubled on each failure
  maxBackoff: 10000,
  maxEarly: 256, // notifications kept for subscription ids not yet known to the client
  cancelMethod: "$/cancelRequest", // sent when an AbortSignal aborts a call; null: nothing
};

export class Client extends EventTarget {
  /** @param {string} url ws:// or wss:// address. */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = { ...defaults, ...options };
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this._nextId = 1;
    this._pending = new Map(); // id -> {resolve, reject, timer}
    this._handlers = new Map(); // method -> fn, for the server's calls
    this._serving = new Map(); // id -> {ctl, ws}: a server's call being answered, its AbortController and connection
    this._subs = new Map(); // server id -> Subscription
    this._early = []; // notifications that arrived before their subscription's id
    this._waiters = []; // {resolve, reject} waiting for the connection to open
    this._attempt = 0;
    this._retryTimer = null;
    this._ws = null;
  }

  /** Opens the connection; resolves once it is open (retrying with backoff if enabled). */
  connect() {
    if (this.state === "closed") return Promise.reject(new TransportError("client closed", "closed"));
    if (this.state === "idle") this._open();
    return this._whenOpen();
  }

  /** Closes the connection for good: pending calls reject, subscriptions end. */
  close() {
    if (this.state === "closed") return;
    this._setState("closed");
    clearTimeout(this._retryTimer);
    if (this._ws) this._ws.close(1000, "client closed");
    const err = new TransportError("client closed", "closed");
    this._failPending(err);
    for (const w of this._waiters.splice(0)) w.reject(err);
    for (const sub of [...this._subs.values()]) sub._end("closed", err);
  }

  /**
   * Calls method with params (an array, an object or undefined); resolves to the result.
   * Options: timeout (ms), signal (an AbortSignal that abandons and cancels the call).
   */
  async call(method, params, { timeout, signal } = {}) {
    const id = this._nextId++;
    const msg = request(method, params, id);
    return this._exchange([id], msg, timeout ?? this.options.timeout, method, signal).then((answers) => {
      const a = answers.get(id);
      if (a.error) throw new RPCError(a.error);
      return a.result;
    });
  }

  /**
   * Serves method to the server: its requests are answered with fn(params), awaited (see the
   * comment at the top). handle(method, null) stops serving it.
   */
  handle(method, fn) {
    if (fn) this._handlers.set(method, fn);
    else this._handlers.delete(method);
  }

  /** Sends a notification (no answer expected). */
  async notify(method, params) {
    await this._whenOpen();
    this._send(request(method, params));
  }

  /**
   * Sends calls as one batch. Each item is {method, params, notification?}. Resolves to an
   * array in the order given, one {result} or {error: RPCError} per call (null for notifications).
   * Options as for call; aborting cancels the whole batch (named by its first call's id).
   */
  async batch(items, { timeout, signal } = {}) {
    const ids = [];
    const msgs = items.map((it) => {
      if (it.notification) return request(it.method, it.params);
      const id = this._nextId++;
      ids.push(id);
      return request(it.method, it.params, id);
    });
    const answers = ids.length
      ? await this._exchange(ids, msgs, timeout ?? this.options.timeout, "batch", signal)
      : (await this._whenOpen(), this._send(msgs), new Map());
    let i = 0;
    return items.map((it) => {
      if (it.notification) return null;
      const a = answers.get(ids[i++]);
      return a.error ? { error: new RPCError(a.error) } : { result: a.result };
    });
  }

  /**
   * Subscribes with NS_subscribe(name, ...args) and resolves to a Subscription once the server
   * has answered its id.
   */
  async subscribe(namespace, name, ...args) {
    const sub = new Subscription(this, namespace, name, args);
    await sub._start();
    return sub;
  }

  // Sends msg once the connection is open and waits for the answers to ids, until timeout or
  // until signal (optional) aborts: then a sent call is cancelled on the server.
  async _exchange(ids, msg, timeout, what, signal) {
    signal?.throwIfAborted();
    const timedOut = () => new TransportError(`${what}: no answer within ${timeout} ms`, "timeout");
    let timer, onAbort;
    const expiry = new Promise((_, reject) => { timer = setTimeout(() => reject(timedOut()), timeout); });
    const aborted = new Promise((_, reject) => {
      if (!signal) return;
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    let sent = false;
    try {
      await Promise.race([this._whenOpen(), expiry, aborted]);
      const answers = new Map();
      const waits = ids.map((id) => new Promise((resolve, reject) => {
        this._pending.set(id, { resolve: (a) => { answers.set(id, a); resolve(); }, reject });
      }));
      this._send(msg);
      sent = true;
      await Promise.race([Promise.all(waits), expiry, aborted]);
      return answers;
    } catch (err) {
      if (sent && signal?.aborted && err === signal.reason) this._cancel(ids[0]);
      throw err;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener("abort", onAbort);
      for (const id of ids) this._pending.delete(id);
    }
  }

  // Tells the server that the client gave up on call id (options.cancelMethod).
  _cancel(id) {
    const method = this.options.cancelMethod;
    if (!method || this.state !== "open") return;
    try {
      this._send(request(method, { id }));
    } catch {
      // The connection is gone, and the call with it.
    }
  }

  _whenOpen() {
    if (this.state === "open") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new TransportError("client closed", "closed"));
    if (this.state === "idle") this._open();
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  _send(msg) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) {
      throw new TransportError("not connected", "disconnected");
    }
    this._ws.send(JSON.stringify(msg));
  }

  _setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ...extra } }));
  }

  _open() {
    this._setState(this._attempt ? "reconnecting" : "connecting", { attempt: this._attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._dropped(err);
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      const reconnected = this._attempt > 0;
      this._attempt = 0;
      this._setState("open", { reconnected });
      for (const w of this._waiters.splice(0)) w.resolve();
      if (reconnected) this._resubscribe();
    };
    ws.onmessage = (ev) => this._receive(ev.data);
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._dropped(new Error(`connection closed (${ev.code}${ev.reason ? " " + ev.reason : ""})`));
    };
    ws.onerror = () => {}; // a close event follows with the details browsers give
  }

  // The connection is gone: fail what waits for answers and retry after a backoff.
  _dropped(cause) {
    if (this.state === "closed") return;
    this._failPending(new TransportError(`connection lost: ${cause.message}`, "disconnected"));
    for (const sub of this._subs.values()) sub._suspend();
    if (!this.options.reconnect) {
      const err = new TransportError(`connection lost: ${cause.message}`, "disconnected");
      for (const w of this._waiters.splice(0)) w.reject(err);
      for (const sub of [...this._subs.values()]) sub._end("lost", err);
      this._setState("closed", { error: cause.message });
      return;
    }
    const { minBackoff, maxBackoff } = this.options;
    const delay = Math.min(maxBackoff, minBackoff * 2 ** this._attempt) * (0.75 + Math.random() / 2);
    this._attempt++;
    this._setState("reconnecting", { attempt: this._attempt, delay: Math.round(delay), error: cause.message });
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _failPending(err) {
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
  }

  _resubscribe() {
    for (const sub of [...this._subs.values()]) sub._restart();
  }

  _receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.dispatchEvent(new CustomEvent("protocolerror", { detail: { text } }));
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) this._handle(m);
  }

  _handle(m) {
    if (m === null || typeof m !== "object") return;
    if (m.method === this.options.cancelMethod && m.id === undefined && !this._handlers.has(m.method)) {
      // The server gave up on one of its calls: its handler's signal aborts.
      const s = this._serving.get(m.params?.id);
      // Ids are the connection's: one of a call from before a reconnect is not this one.
      if (s && s.ws === this._ws) s.ctl.abort(new DOMException("the server cancelled the call", "AbortError"));
      return;
    }
    if (typeof m.method === "string" && m.id === undefined && !this._handlers.has(m.method)) {
      this._notification(m);
      return;
    }
    if (typeof m.method === "string") {
      this._serve(m);
      return;
    }
    const p = this._pending.get(m.id);
    if (p) {
      this._pending.delete(m.id);
      p.resolve(m);
    } else if (m.error) {
      // An error without a usable id (e.g. a parse error): no call can take it.
      this.dispatchEvent(new CustomEvent("protocolerror", { detail: { error: m.error } }));
    }
  }

  // Answers a request of the server's (or runs a notification) with its handler, which gets
  // a signal that aborts when the server cancels the call; a cancelled call is not answered
  // (the server no longer waits for it).
  async _serve(m) {
    const fn = this._handlers.get(m.method);
    const ws = this._ws;
    const ctl = new AbortController();
    const key = m.id;
    if (key !== undefined) this._serving.set(key, { ctl, ws });
    let answer;
    if (!fn) {
      answer = { error: { code: -32601, message: `the method ${m.method} does not exist/is not available` } };
    } else {
      try {
        const result = await fn(m.params, { signal: ctl.signal });
        answer = { result: result === undefined ? null : result };
      } catch (err) {
        answer = { error: errorObject(err) };
      } finally {
        if (this._serving.get(key)?.ctl === ctl) this._serving.delete(key);
      }
    }
    if (m.id === undefined || ctl.signal.aborted) return; // a notification, or cancelled: no answer
    // The answer goes back on the connection the request came on; gone, it is moot.
    if (this._ws !== ws || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: m.id, ...answer }));
  }

  _notification(m) {
    const id = m.params && m.params.subscription;
    const kind = m.method.endsWith("_subscription") ? "data"
      : m.method.endsWith("_subscriptionLag") ? "lag"
      : m.method.endsWith("_subscriptionPosition") ? "position" : "";
    if (kind && id !== undefined) {
      const sub = this._subs.get(id);
      if (sub) sub._deliver(kind, m.params);
      else if (this._early.push({ id, kind, params: m.params }) > this.options.maxEarly) this._early.shift();
      return;
    }
    this.dispatchEvent(new CustomEvent("notification", { detail: { method: m.method, params: m.params } }));
  }

  // Registers sub under its server id and hands it what arrived before the id was known.
  _register(sub) {
    this._subs.set(sub.id, sub);
    const early = this._early.filter((e) => e.id === sub.id);
    this._early = this._early.filter((e) => e.id !== sub.id);
    for (const e of early) sub._deliver(e.kind, e.params);
  }
}

// withPosition returns args with pos in place of a last argument that is null or a position,
// or after them.
function withPosition(args, pos) {
  const last = args[args.length - 1];
  const isPos = last === null || (typeof last === "object" && !Array.isArray(last) &&
    typeof last.epoch === "string" && typeof last.offset === "number");
  return isPos ? [...args.slice(0, -1), pos] : [...args, pos];
}

// errorObject turns what a handler threw into a JSON-RPC error object.
function errorObject(err) {
  if (err && typeof err === "object" && Number.isInteger(err.code)) {
    const e = { code: err.code, message: String(err.message ?? "") };
    if (err.data !== undefined) e.data = err.data;
    return e;
  }
  return { code: -32000, message: err instanceof Error ? err.message : String(err) };
}

function request(method, params, id) {
  const msg = { jsonrpc: "2.0", method };
  if (params !== undefined && params !== null) msg.params = params;
  if (id !== undefined) msg.id = id;
  return msg;
}

/**
 * A live subscription. Events: "data" (detail: the result), "lag" (detail: number dropped),
 * "position" (detail: {epoch, offset, recovered, resumed}: a position notice; recovered false
 * means notifications were lost), "suspended" (the connection dropped), "resubscribed" (detail:
 * {id, recovered}, after reconnecting: recovered tells whether nothing was missed), "end"
 * (detail: {reason: "unsubscribed"|"lost"|"closed", error}).
 * It is also an async iterator of its results, which finishes when the subscription ends.
 */
export class Subscription extends EventTarget {
  constructor(client, namespace, name, args) {
    super();
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.args = args;
    this.id = null;
    this.active = false;
    this.suspended = false;
    this.dropped = 0; // notifications the server reported dropped (lag notices)
    this.position = null; // {epoch, offset} of the last notification or position notice
    this._resuming = false; // subscribed again from position: the next notice tells if recovered
    this._queue = [];
    this._readers = [];
  }

  async _start() {
    this.id = await this._call();
    this.active = true;
    this.client._register(this);
  }

  // _call sends NS_subscribe (with args, by default the subscription's) and resolves to the id
  // the server answers.
  async _call(args = this.args) {
    const id = await this.client.call(`${this.namespace}_subscribe`, [this.name, ...args]);
    if (typeof id !== "string" && typeof id !== "number") {
      throw new TransportError(`${this.namespace}_subscribe answered ${JSON.stringify(id)}, not an id`, "protocol");
    }
    return id;
  }

  // _restart subscribes again on a new connection. If that connection drops too, the
  // subscription stays suspended and the next connection tries again.
  // A subscription with a position resumes from it (see the top of the file); its
  // "resubscribed" event waits for the position notice that says whether it recovered.
  async _restart() {
    const pos = this.position;
    let id;
    try {
      id = await this._call(pos ? withPosition(this.args, pos) : this.args);
    } catch (err) {
      if (!(err instanceof TransportError && err.kind === "disconnected")) this._end("lost", err);
      return;
    }
    if (!this.active) { // unsubscribed meanwhile
      this.client.call(`${this.namespace}_unsubscribe`, [id]).catch(() => {});
      return;
    }
    this.client._subs.delete(this.id);
    this.id = id;
    this.suspended = false;
    this._resuming = pos !== null;
    this.client._register(this); // hands over the notice if it came first
    if (!pos) this.dispatchEvent(new CustomEvent("resubscribed", { detail: { id, recovered: false } }));
  }

  // The connection dropped: the server forgot the subscription; it waits for a reconnection.
  _suspend() {
    this.suspended = true;
    this.dispatchEvent(new CustomEvent("suspended"));
  }

  _deliver(kind, params) {
    if (!this.active) return;
    if (kind === "position") {
      const recovered = params.recovered === true;
      const resumed = this._resuming;
      this._resuming = false;
      this.position = { epoch: String(params.epoch), offset: Number(params.offset) };
      this.dispatchEvent(new CustomEvent("position", { detail: { ...this.position, recovered, resumed } }));
      if (resumed) this.dispatchEvent(new CustomEvent("resubscribed", { detail: { id: this.id, recovered } }));
      return;
    }
    if (kind === "lag") {
      const n = Number(params.dropped) || 0;
      this.dropped += n;
      this.dispatchEvent(new CustomEvent("lag", { detail: n }));
      return;
    }
    if (typeof params.offset === "number") {
      this.position = { epoch: this.position ? this.position.epoch : "", offset: params.offset };
    }
    this.dispatchEvent(new CustomEvent("data", { detail: params.result }));
    const reader = this._readers.shift();
    if (reader) reader.resolve({ value: params.result, done: false });
    else this._queue.push(params.result);
  }

  /** Ends the subscription; resolves to the server's answer (true), or false when already ended. */
  async unsubscribe() {
    if (!this.active) return false;
    const { id, suspended } = this;
    this._end("unsubscribed");
    if (suspended || this.client.state !== "open") return false; // the server has forgotten it
    return this.client.call(`${this.namespace}_unsubscribe`, [id]);
  }

  _end(reason, error) {
    if (!this.active) return;
    this.active = false;
    this.suspended = false;
    this.client._subs.delete(this.id);
    this.endReason = reason;
    this.endError = error;
    for (const r of this._readers.splice(0)) r.resolve({ value: undefined, done: true });
    this.dispatchEvent(new CustomEvent("end", { detail: { reason, error } }));
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => {
        if (this._queue.length) return Promise.resolve({ value: this._queue.shift(), done: false });
        if (!this.active) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this._readers.push({ resolve, reject }));
      },
      return: async () => {
        await this.unsubscribe().catch(() => false);
        return { value: undefined, done: true };
      },
    };
  }
}
