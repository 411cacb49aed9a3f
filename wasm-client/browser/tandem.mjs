// wasm-client/browser/tandem.mjs — the ES module browser apps import to talk to tandem-server.
//
//   import { connect } from './tandem.mjs';
//   const client = await connect('ws://localhost:8080/ws', { token });
//   client.on('state', (s) => ...);        // {state: 'connecting'|'open'|'reconnecting'|'closed', ...}
//   client.on('message', (msg) => ...);    // every server message, parsed
//   client.send({ type: 'ping' });         // fire and forget (only while open)
//   await client.request({ type: 'ping' }); // resolves with the reply; rejects with Error.code
//   client.close();
//
// All protocol work (session states, reconnect with backoff, heartbeats, request ids, acks,
// the offline queue and the resend after reconnect) happens in the C++ client core compiled
// to WebAssembly (tandem_core.js + tandem_core.wasm, loaded from beside this file). This
// module only turns it into an idiomatic JS API and drives its clock.
import createTandemCore from './tandem_core.js';

// How often the core's timers run (retry delays, heartbeats, ack timeouts). 50 ms keeps
// countdowns smooth and costs nothing measurable.
const DEFAULT_TICK_MS = 50;

let corePromise = null;

// Loads and instantiates the wasm once per page; every client shares it.
export function loadCore() {
  corePromise ??= createTandemCore({
    locateFile: (file) => new URL(file, import.meta.url).href,
  });
  return corePromise;
}

// A failed request or send. `code` is a wire error code (protocol errc: "forbidden",
// "timeout", "queue_full", "closed", "bad_json", ...).
export class TandemError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'TandemError';
    this.code = code;
  }
}

// Accepts ws://, wss://, http(s)://, or a path such as "/ws" (resolved against the page).
function absoluteWebSocketUrl(url) {
  let resolved;
  try {
    resolved = new URL(url, globalThis.location?.href);
  } catch {
    throw new TandemError('invalid_config', `not a valid URL: "${url}"`);
  }
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  return resolved.href;
}

function toJsonText(message) {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

export class TandemClient {
  #core;
  #listeners = { state: new Set(), message: new Set() };
  #timer = null;
  #closed = false;

  constructor(core, url, token) {
    const wsUrl = absoluteWebSocketUrl(url);
    const problem = core.checkConfig(wsUrl, token ?? '');
    if (problem) throw new TandemError('invalid_config', problem);
    this.#core = new core.Client(wsUrl, token ?? '');
    this.#core.setHandlers(
      (snapshot) => this.#emit('state', snapshot),
      (text) => this.#emit('message', JSON.parse(text)),
    );
  }

  // Starts connecting and drives the core's clock until close().
  start(tickMs = DEFAULT_TICK_MS) {
    this.#core.start(performance.now());
    this.#timer = setInterval(() => this.#core.tick(performance.now()), tickMs);
  }

  // Registers fn for 'state' or 'message'; returns a function that unregisters it.
  on(event, fn) {
    const set = this.#listeners[event];
    if (!set) throw new TypeError(`tandem: unknown event "${event}" (use "state" or "message")`);
    set.add(fn);
    return () => set.delete(fn);
  }

  // The current state, read fresh: state name, cause, close code/reason, retryInMs (countdown
  // to the next attempt while reconnecting), attempt, queued requests, and — once connected —
  // connectionId and user {id, name, color}.
  get state() {
    if (this.#closed) return { state: 'closed', cause: 'stopped', queued: 0 };
    return this.#core.snapshot(performance.now());
  }

  // Sends a message without waiting for an answer. Throws TandemError when it cannot go out
  // now ("not_open") or is not a valid client message ("bad_json", "unknown_type",
  // "invalid_message"). Use request() for anything that must not be lost.
  send(message) {
    this.#throwIfClosed();
    const outcome = this.#core.send(toJsonText(message));
    if (!outcome.ok) throw new TandemError(outcome.code, outcome.message);
  }

  // Sends a request (the core assigns its id) and resolves with the server's reply — an ack
  // or a data reply — as a parsed object. While offline the request waits in the core's
  // queue and is sent on reconnect. Rejects with a TandemError carrying .code.
  request(message) {
    if (this.#closed) return Promise.reject(new TandemError('closed', 'the client was closed'));
    return new Promise((resolve, reject) => {
      const outcome = this.#core.request(toJsonText(message), (errorCode, errorMessage, replyText) => {
        if (errorCode) reject(new TandemError(errorCode, errorMessage));
        else resolve(JSON.parse(replyText));
      });
      if (!outcome.ok) reject(new TandemError(outcome.code, outcome.message));
    });
  }

  // Closes the connection for good (code 1000), fails pending requests with "closed", and
  // frees the core. Listeners hear the final 'closed' state.
  close() {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#core.stop();
    this.#closed = true;
    this.#core.delete();
  }

  #throwIfClosed() {
    if (this.#closed) throw new TandemError('closed', 'the client was closed');
  }

  #emit(event, value) {
    for (const fn of [...this.#listeners[event]]) {
      try {
        fn(value);
      } catch (error) {
        // One failing listener must not stop the others, nor unwind into the wasm core.
        queueMicrotask(() => { throw error; });
      }
    }
  }
}

// Loads the core (once), creates a client and starts it. Resolves as soon as the client is
// connecting; watch 'state' for 'open'.
export async function connect(url, { token, tickMs = DEFAULT_TICK_MS } = {}) {
  const core = await loadCore();
  const client = new TandemClient(core, url, token);
  client.start(tickMs);
  return client;
}
