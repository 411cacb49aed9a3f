// wasm-client/browser/tandem.mjs — the ES module browser apps import to talk to tandem-server.
//
//   import { connect } from './tandem.mjs';
//   const client = await connect('ws://localhost:8080/ws', { token });
//   client.on('state', (s) => ...);        // {state: 'connecting'|'open'|'reconnecting'|'closed', ...}
//   client.on('message', (msg) => ...);    // every server message, parsed
//   client.send({ type: 'ping' });         // fire and forget (only while open)
//   await client.request({ type: 'ping' }); // resolves with the reply; rejects with Error.code
//   const room = await client.join('workflow:42', { presence: { node: 'n3' } });
//   room.on('presence', (members) => ...);  // [{id, name, color, metas: [{connection, state}]}]
//   room.on('locks', (locks) => ...);       // {resource: {user, name, color, fence, expiresAt}}
//   room.on('lockLost', (lost) => ...);     // {resource, reason, fence, holder?}
//   room.on('takeover', (request) => ...);  // {resource, by: {user, name, color}, graceMs}
//   room.setPresence({ cursor: { x, y } }); // throttled in the core (50 ms, latest wins)
//   const answer = await room.lock('n3');   // {outcome: 'granted'|'denied', fence, holder?}
//   await room.unlock('n3');  await room.leave();
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

function callbackPromise(start) {
  return new Promise((resolve, reject) => {
    start((errorCode, errorMessage, value) => {
      if (errorCode) reject(new TandemError(errorCode, errorMessage));
      else resolve(value);
    });
  });
}

// One joined room (from TandemClient.join). Its replica lives in the core; `members` and
// `locks` are read fresh as plain objects. Rejoined automatically after a reconnect.
export class TandemRoom {
  #core;
  #listeners = { presence: new Set(), locks: new Set(), lockLost: new Set(), takeover: new Set() };

  constructor(core, name) {
    this.#core = core;
    this.name = name;
  }

  // Registers fn for 'presence' (members), 'locks', 'lockLost' or 'takeover'; returns an
  // unregister function.
  on(event, fn) {
    const set = this.#listeners[event];
    if (!set) throw new TypeError(`tandem: unknown room event "${event}" (presence, locks, lockLost, takeover)`);
    set.add(fn);
    return () => set.delete(fn);
  }

  // [{id, name, color, metas: [{connection, state}]}]
  get members() {
    const text = this.#core.roomMembers(this.name);
    if (!text) return [];
    return JSON.parse(text).members.map((m) => ({ ...m.user, metas: m.metas }));
  }

  // {resource: {user, name, color, fence, expiresAt}}
  get locks() {
    const text = this.#core.roomLocks(this.name);
    const locks = {};
    if (!text) return locks;
    for (const l of JSON.parse(text).locks)
      locks[l.resource] = { ...l.holder, fence: l.fence, expiresAt: l.expires_at };
    return locks;
  }

  // Replaces this connection's presence state; returns 'sent', 'throttled' or 'deferred'.
  setPresence(state) {
    const outcome = this.#core.setPresence(JSON.stringify({ type: 'presence', room: this.name, state }));
    if (!outcome.ok) throw new TandemError(outcome.code, outcome.message);
    return outcome.status;
  }

  // Resolves {outcome: 'granted', fence, expiresAt} (renewed automatically while held) or
  // {outcome: 'denied', holder: {user, name, color}, expiresAt}; rejects with TandemError.
  lock(resource, { ttlMs = 0 } = {}) {
    return callbackPromise((done) => this.#core.lock(this.name, resource, ttlMs, done));
  }

  // Asks the holder to yield; resolves like lock() once the lock is ours.
  takeover(resource) {
    return callbackPromise((done) => this.#core.takeover(this.name, resource, done));
  }

  unlock(resource) {
    return callbackPromise((done) => this.#core.unlock(this.name, resource, done));
  }

  leave() {
    return callbackPromise((done) => this.#core.leave(this.name, done));
  }

  // Called by the client with what changed.
  _changed(what) {
    if (what.members || what.presence) this._emit('presence', this.members);
    if (what.locks) this._emit('locks', this.locks);
  }

  _emit(event, value) {
    for (const fn of [...this.#listeners[event]]) {
      try {
        fn(value);
      } catch (error) {
        queueMicrotask(() => { throw error; });
      }
    }
  }
}

export class TandemClient {
  #core;
  #listeners = { state: new Set(), message: new Set() };
  #timer = null;
  #closed = false;
  #rooms = new Map();

  constructor(core, url, token) {
    const wsUrl = absoluteWebSocketUrl(url);
    const problem = core.checkConfig(wsUrl, token ?? '');
    if (problem) throw new TandemError('invalid_config', problem);
    this.#core = new core.Client(wsUrl, token ?? '');
    this.#core.setHandlers(
      (snapshot) => this.#emit('state', snapshot),
      (text) => this.#emit('message', JSON.parse(text)),
    );
    this.#core.setRoomHandlers(
      (room, what) => this.#rooms.get(room)?._changed(what),
      (lost) => this.#rooms.get(lost.room)?._emit('lockLost', lost),
      (request) => this.#rooms.get(request.room)?._emit('takeover', request),
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

  // Joins a room; resolves with a TandemRoom once subscribed (its presence and locks arrive
  // right after: listen to 'presence' / 'locks'). Rejects with TandemError ('forbidden', ...).
  join(room, { presence } = {}) {
    if (this.#closed) return Promise.reject(new TandemError('closed', 'the client was closed'));
    const handle = this.#rooms.get(room) ?? new TandemRoom(this.#core, room);
    this.#rooms.set(room, handle);
    const presenceText = presence ? JSON.stringify({ type: 'presence', room, state: presence }) : '';
    return new Promise((resolve, reject) => {
      const outcome = this.#core.join(room, presenceText, (errorCode, errorMessage) => {
        if (errorCode) {
          if (this.#rooms.get(room) === handle && !this.#core.roomMembers(room)) this.#rooms.delete(room);
          reject(new TandemError(errorCode, errorMessage));
        } else resolve(handle);
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
