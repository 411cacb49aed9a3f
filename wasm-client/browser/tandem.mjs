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
//
// What rooms hold (PROTOCOL.md §9–§13) is the C++ core's replica of the room, read as plain
// objects (snapshots replace, room events apply in seq order, duplicates and gaps are handled
// in the core):
//   room.chat.messages / room.chat.pending / room.chat.typingUsers
//   await room.chat.send('hi');  room.chat.typing(true);  await room.chat.clear();
//   room.chat.bots / room.chat.partials                   // chat bots (PROTOCOL.md "Chat bots")
//   await room.chat.toggleBot('helper', true);  await room.chat.askBot('helper', 'hi');  room.chat.cancelBot(reply)
//   room.doc.nodes / room.doc.edges / room.doc.node('n4')
//   await room.doc.createNode({ id: 'n4', type: 'http_request', label: 'Fetch' });
//   await room.doc.updateNode('n4', { label: 'Fetch paid' }, { fence });
//   await room.doc.deleteNode('n4');  createEdge({id, from, to});  deleteEdge('e9');
//   room.executions                          // {executionId: latest execution_update}
//   room.stream.events / room.stream.send('token', {text}) / await room.stream.control('pause')
//   room.broadcast('dragging', { node: 'n3' });           // ephemeral, to the others (PROTOCOL.md §12a)
//   await room.broadcast('reaction', '🎉', { self: true, ack: true });
//   room.on('chat' | 'typing' | 'doc' | 'execution' | 'stream' | 'streamControl' | 'broadcast' | 'event', fn)
//   client.close();
//
// Transports: connect(url, {token, transports: ['websocket', 'sse']}) (the default) tries the
// WebSocket first and falls back to Server-Sent Events + POSTs where WebSocket upgrades do not
// get through (PROTOCOL.md §5.5; the same session, the same messages); ['sse'] uses only the
// event stream. The URL is the WebSocket's either way (…/ws: the stream is at …/sse).
// client.transport says which one carries the open connection ('websocket' | 'sse'; null when
// not open), as does `transport` in each 'state' event while open. Yjs documents over the
// connection (tandem-yjs.mjs) need the WebSocket.
//
// Token refresh: connect(url, {token, refreshToken: async () => newToken}) — when the server
// closes with 4401 (expired or revoked token) the client asks for a new token and connects
// again with it (its rooms rejoined, its queued requests sent), at most MAX_TOKEN_REFRESHES
// times in a row before it stays closed.
//
// All protocol work (session states, reconnect with backoff, heartbeats, request ids, acks,
// the offline queue and the resend after reconnect) happens in the C++ client core compiled
// to WebAssembly (tandem_core.js + tandem_core.wasm, loaded from beside this file). This
// module only turns it into an idiomatic JS API and drives its clock.
import createTandemCore from './tandem_core.js';

// How often the core's timers run (retry delays, heartbeats, ack timeouts). 50 ms keeps
// countdowns smooth and costs nothing measurable.
const DEFAULT_TICK_MS = 50;
// The transports connect() may use, and each one's letter for the core (bindings.cpp).
const TRANSPORTS = new Map([['websocket', 'w'], ['sse', 's']]);

let corePromise = null;

// Loads and instantiates the wasm once per page; every client shares it. No locateFile: the
// emscripten loader finds tandem_core.wasm with `new URL('tandem_core.wasm', import.meta.url)`,
// beside itself wherever it is served from, and bundlers (Vite, webpack 5, esbuild with the
// file loader) recognise that pattern and emit the wasm as an asset, rewriting the URL.
export function loadCore() {
  corePromise ??= createTandemCore().then((core) => {
    core.tandemCall = callFromCore;
    return core;
  });
  return corePromise;
}

// ---- the core's C exports (wasm-client/browser/bindings.cpp) as an object -----------------------
// JS functions the core calls, by id: id -> [fn, once]. One table per page (the core is shared).
const jsFunctions = new Map();
let nextFunctionId = 1;

function functionId(fn, once = true) {
  if (typeof fn !== 'function') return 0;
  jsFunctions.set(nextFunctionId, [fn, once]);
  return nextFunctionId++;
}

function callFromCore(id, once, a, b, c) {
  const entry = jsFunctions.get(id);
  if (once) jsFunctions.delete(id);
  entry?.[0](a, b, c);
}

// Calls the export tandem_<name>: a string goes in as (pointer, byte length) in memory freed
// after the call, a function as a one-shot id, a number or boolean as it is. Returns what the
// export returns (for text: a pointer, 0 for null).
function callCore(core, name, args) {
  const flat = [];
  const owned = [];
  for (const arg of args) {
    if (typeof arg === 'string') {
      const size = core.lengthBytesUTF8(arg) + 1;
      const pointer = core._malloc(size);
      core.stringToUTF8(arg, pointer, size);
      owned.push(pointer);
      flat.push(pointer, size - 1);
    } else {
      flat.push(typeof arg === 'function' ? functionId(arg) : arg);
    }
  }
  try {
    return core[`_tandem_${name}`](...flat);
  } finally {
    for (const pointer of owned) core._free(pointer);
  }
}

const coreText = (core, pointer) => (pointer ? core.UTF8ToString(pointer) : null);

// done(code, message, valueText) -> done(code, message, parsed value).
const parsedDone = (done) => (code, message, value) => done(code, message, value ? JSON.parse(value) : value);

// One core client (bindings.cpp's BrowserClient). Texts the core returns stay JSON text where
// the callers parse them (replica views, request replies), objects elsewhere.
class CoreClient {
  #core;
  #client;
  #handlers = [];

  constructor(core, url, token, transports) {
    this.#core = core;
    this.#client = callCore(core, 'client_new', [url, token, transports]);
  }

  #call(name, ...args) {
    this.#core.tandemOwner = this.#client;  // tags a socket the call opens (browser_transport.cpp)
    return callCore(this.#core, name, [this.#client, ...args]);
  }
  // This client's browser WebSocket (the latest it opened; not an event stream), for tandem-yjs.mjs.
  socket() { return this.#core.tandemSockets?.findLast((s) => s?.owner === this.#client && s instanceof WebSocket); }
  #text(name, ...args) { return coreText(this.#core, this.#call(name, ...args)); }
  #json(name, ...args) {
    const text = this.#text(name, ...args);
    return text === null ? null : JSON.parse(text);
  }
  #handler(fn) {
    const id = functionId((text) => fn(JSON.parse(text)), false);
    this.#handlers.push(id);
    return id;
  }

  // onState(snapshot), onMessage(jsonText), onRoomChange(room, what), onLockLost(lost),
  // onTakeover(request).
  setHandlers(onState, onMessage, onRoomChange, onLockLost, onTakeover) {
    const messages = functionId(onMessage, false);
    this.#handlers.push(messages);
    this.#call('set_handlers', this.#handler(onState), messages, this.#handler((what) => onRoomChange(what.room, what)),
      this.#handler(onLockLost), this.#handler(onTakeover));
  }
  start(nowMs) { this.#call('tick', nowMs, 1); }
  stop() { this.#call('stop'); }
  tick(nowMs) { this.#call('tick', nowMs, 0); }
  setToken(token) { this.#call('set_token', token); }
  snapshot(nowMs) { return this.#json('snapshot', nowMs); }
  send(text) { return this.#json('send', text); }
  request(text, room, done) { return this.#json('request', text, room, parsedDone(done)); }
  join(room, presenceText, done) { return this.#json('join', room, presenceText, done); }
  leave(room, done) { this.#call('leave', room, done); }
  setPresence(text) { return this.#json('set_presence', text); }
  lock(room, resource, ttlMs, done) { this.#call('lock', room, resource, ttlMs, 0, parsedDone(done)); }
  takeover(room, resource, done) { this.#call('lock', room, resource, 0, 1, parsedDone(done)); }
  unlock(room, resource, done) { this.#call('unlock', room, resource, done); }
  broadcast(room, event, dataText, self, done) {
    return this.#json('broadcast', room, event, dataText, self, done && parsedDone(done));
  }
  listMembers(room, after, limit, done) { this.#call('list_members', room, after, limit, done); }
  // A replica view as JSON text, or null (bindings.cpp tandem_room_view; REPLICA_VIEWS).
  roomView(view, room) { return this.#text('room_view', view, room); }
  roomTyping(room) { return this.#json('room_view', TYPING_VIEW, room); }
  // Frees the client (closing its socket) and forgets its handlers.
  delete() {
    this.#call('client_delete');
    for (const id of this.#handlers) jsFunctions.delete(id);
  }
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

// Room events carry a seq (PROTOCOL.md §4) and are announced with room.on('event').
const ROOM_EVENTS = new Set(['chat', 'cleared', 'node_created', 'node_updated', 'node_deleted', 'edge_created',
  'edge_deleted', 'locked', 'unlocked', 'stream', 'execution_update', 'node_update', 'bot_toggled']);

// How often typing(true) may go out (PROTOCOL.md §10: about once a second while typing; the
// server clears an indicator after 5 s of quiet).
const TYPING_RESEND_MS = 1_000;
// Token refreshes in a row (without an open connection between them) before giving up.
const MAX_TOKEN_REFRESHES = 3;

const ROOM_EVENT_NAMES = ['presence', 'locks', 'lockLost', 'takeover', 'chat', 'typing', 'doc', 'execution',
  'stream', 'streamControl', 'broadcast', 'event', 'bots'];

// The parts of the core's replica of a room that JS reads, each as the core's JSON text (null
// when the room is not joined; `view` numbers it for bindings.cpp's tandem_room_view) and what
// it is parsed to; `change` names the bit of the core's room change report after which a
// parsed copy is stale.
const MEMBERS_VIEW = 0;
const TYPING_VIEW = 4;
const REPLICA_VIEWS = {
  members: { view: MEMBERS_VIEW, change: ['members', 'presence'],
    parse: (m) => ({ list: m.members.map(memberOf), count: m.count ?? m.members.length, partial: Boolean(m.partial) }),
    empty: { list: [], count: 0, partial: false } },
  locks: { view: 1, change: ['locks'],
    parse: (m) => Object.fromEntries(m.locks.map((l) => [l.resource, { ...l.holder, fence: l.fence, expiresAt: l.expires_at }])),
    empty: {} },
  doc: { view: 2, change: ['doc'], parse: (m) => ({ nodes: m.nodes, edges: m.edges }), empty: { nodes: [], edges: [] } },
  chat: { view: 3, change: ['chat'], parse: (m) => m.messages, empty: [] },
  executions: { view: 5, change: ['execution'], parse: (updates) => updates.map(withoutRouting), empty: [] },
  stream: { view: 6, change: ['stream'], parse: (events) => events.map(withoutRouting), empty: [] },
};

// A presence member as the app sees it: {id, name, color, metas: [{connection, state}]}.
function memberOf(member) {
  return { ...member.user, metas: member.metas };
}

// A room message without what routes it (type, room): the entry a replica view holds.
function withoutRouting({ type: _type, room: _room, ...entry }) {
  return entry;
}

// room.chat: the chat of one room (PROTOCOL.md §10). `messages` are the core's replica (history
// on join, then live), oldest first: {user, name, color, text, seq, ts}. `pending` are ours not
// yet acknowledged (queued while offline, or on the wire): {localId, text, state:
// 'pending'|'failed', code?, message?}. Changes are announced with room.on('chat').
class RoomChat {
  #room;
  #pending = [];
  #nextLocalId = 1;
  #typingSentAt = -Infinity;
  #typingOn = false;
  // Chat bots: the ids turned on here (from history, then bot_toggled), and the replies still
  // growing: reply id -> {reply, bot, text}, until the bot's chat message carrying it arrives.
  bots = [];
  partials = new Map();

  constructor(room) {
    this.#room = room;
  }

  get messages() { return this.#room._view('chat').map((m) => ({ ...m })); }
  get pending() { return this.#pending.map((p) => ({ ...p })); }
  // [{user, name}] of those typing now (our own user included when another tab of ours types);
  // empty while we are offline (indicators are not refreshed then; a rejoin starts afresh).
  get typingUsers() {
    if (!this.#room._online) return [];
    return this.#room._core.roomTyping(this.#room.name) ?? [];
  }

  // Sends a message; resolves with the ack once it is durable on the server. It shows in
  // `pending` until then, and in `messages` when the server's chat event comes back. Sent
  // while offline, it waits in the core's queue and goes once the connection is back.
  send(text) {
    const entry = { localId: this.#nextLocalId++, text: String(text), state: 'pending' };
    this.#pending.push(entry);
    this.#typingOn = false;  // the server ends our indicator when the chat arrives
    this.#typingSentAt = -Infinity;
    this.#room._emit('chat', this);
    return this.#room._request({ type: 'chat', room: this.#room.name, text: entry.text }).then(
      (ack) => {
        this.#dropPending(entry);
        return ack;
      },
      (error) => {
        entry.state = 'failed';
        entry.code = error.code;
        entry.message = error.message;
        this.#room._emit('chat', this);
        throw error;
      });
  }

  // Removes a failed pending message (after the app showed it).
  dismiss(localId) {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((p) => !(p.localId === localId && p.state === 'failed'));
    if (this.#pending.length !== before) this.#room._emit('chat', this);
  }

  // typing(true) on every keystroke is fine: it goes out at most once a second. typing(false)
  // goes at once (if we said true). Fire and forget: nothing happens while offline.
  typing(active = true) {
    const now = performance.now();
    if (active) {
      if (this.#typingOn && now - this.#typingSentAt < TYPING_RESEND_MS) return;
      if (this.#room._send({ type: 'typing', room: this.#room.name, active: true })) {
        this.#typingOn = true;
        this.#typingSentAt = now;
      }
    } else if (this.#typingOn) {
      this.#typingOn = false;
      this.#typingSentAt = -Infinity;
      this.#room._send({ type: 'typing', room: this.#room.name, active: false });
    }
  }

  // Deletes the room's history (needs the "chat:clear" permission; else rejects 'forbidden').
  clear() {
    return this.#room._request({ type: 'clear', room: this.#room.name });
  }

  // Turns a bot on or off for everyone here (needs the "chat:bots" permission).
  toggleBot(bot, enabled) {
    return this.#room._request({ type: 'bot_toggle', room: this.#room.name, bot, enabled: Boolean(enabled) });
  }

  // Posts `prompt` as our message and asks `bot` (turned on here) to answer it: the answer grows
  // in `partials` (room.on('chat')) and ends as the bot's message.
  askBot(bot, prompt) {
    return this.#room._request({ type: 'ai_request', room: this.#room.name, bot, prompt: String(prompt) });
  }

  // Asks the bot to stop a growing reply; it ends with the text so far.
  cancelBot(reply) {
    return this.#room._request({ type: 'ai_cancel', room: this.#room.name, reply });
  }

  #dropPending(entry) {
    const index = this.#pending.indexOf(entry);
    if (index < 0) return;
    this.#pending.splice(index, 1);
    this.#room._emit('chat', this);
  }

  // Our own message is back in the replica: its pending line goes now rather than at the ack
  // (which follows it, PROTOCOL.md §3) so it is never shown twice. The oldest pending with that
  // text: the server applies one connection's requests in order.
  _echoed(text) {
    const mine = this.#pending.find((p) => p.state === 'pending' && !p.echoed && p.text === text);
    if (!mine) return;
    mine.echoed = true;
    this.#pending.splice(this.#pending.indexOf(mine), 1);
  }
  _offline() {
    this.#typingOn = false;
  }
}

// room.doc: the workflow document of a workflow:{id} room (PROTOCOL.md §9) as the core's
// replica holds it: nodes {id, type, label, x, y, status, data} and edges {id, from, to}.
// Changes are announced with room.on('doc', {kind, id?, deleted?, user?}). Edits resolve with
// the ack (the change is already applied then) and reject with a TandemError: conflict,
// not_found, locked, stale_fence, limit_exceeded, ...
class RoomDoc {
  #room;
  #loaded = false;

  constructor(room) {
    this.#room = room;
  }

  // True once a doc_snapshot arrived (the room is a workflow room).
  get loaded() { return this.#loaded; }
  get nodes() { return this.#room._view('doc').nodes.map((n) => ({ ...n })); }
  get edges() { return this.#room._view('doc').edges.map((e) => ({ ...e })); }
  node(id) {
    const node = this.#room._view('doc').nodes.find((n) => n.id === id);
    return node ? { ...node } : undefined;
  }

  createNode(node) {
    return this.#room._request({ type: 'node_create', room: this.#room.name, node });
  }
  // fields: any of type, label, x, y, status, data. fence: the fence of our lock on the node.
  updateNode(id, fields, { fence } = {}) {
    return this.#room._request({ type: 'node_update', room: this.#room.name, node: id, fields, ...fenceField(fence) });
  }
  deleteNode(id, { fence } = {}) {
    return this.#room._request({ type: 'node_delete', room: this.#room.name, node: id, ...fenceField(fence) });
  }
  createEdge(edge) {
    return this.#room._request({ type: 'edge_create', room: this.#room.name, edge });
  }
  deleteEdge(id) {
    return this.#room._request({ type: 'edge_delete', room: this.#room.name, edge: id });
  }

  // What a document message (already applied by the core) changed, for room.on('doc'); null
  // for other messages.
  _describe(m) {
    switch (m.type) {
      case 'doc_snapshot':
        this.#loaded = true;
        return { kind: 'snapshot' };
      case 'node_created': return { kind: 'node', id: m.node.id, user: m.user };
      case 'node_updated': return { kind: 'node', id: m.node, user: m.user };
      case 'node_update': return { kind: 'node', id: m.node, published: true };
      case 'node_deleted': return { kind: 'node', id: m.node, deleted: true, user: m.user };
      case 'edge_created': return { kind: 'edge', id: m.edge.id, user: m.user };
      case 'edge_deleted': return { kind: 'edge', id: m.edge, deleted: true, user: m.user };
      default: return null;
    }
  }
}

function fenceField(fence) {
  return fence === undefined || fence === null ? {} : { fence };
}

// room.stream: the event stream of an agent:{id} room (PROTOCOL.md §11). `events` are the
// stream events the core's replica holds (the latest 1000, replays included): {event, data,
// user, seq, ts}. room.on('stream', event) for each new one; room.on('streamControl', {action,
// user}) when this connection is the producer and a consumer asks it to pause, resume or cancel.
class RoomStream {
  #room;

  constructor(room) {
    this.#room = room;
  }

  get events() { return this.#room._view('stream').map((e) => ({ ...e })); }

  // As producer: sends one stream event (fire and forget, like tokens; false when offline).
  send(event, data) {
    const message = { type: 'stream', room: this.#room.name, event };
    if (data !== undefined) message.data = data;
    return this.#room._send(message);
  }

  // As consumer: 'pause' | 'resume' | 'cancel', routed to the producer. Resolves with the ack
  // once routed; rejects 'not_found' when the room has no producer.
  control(action) {
    return this.#room._request({ type: 'stream_control', room: this.#room.name, action });
  }
}

// One joined room (from TandemClient.join). Everything it holds — members, locks, document,
// chat, typing, executions, stream — is the core's replica, read fresh as plain objects.
// Rejoined automatically after a reconnect.
export class TandemRoom {
  #core;
  #client;
  #listeners = Object.fromEntries(ROOM_EVENT_NAMES.map((name) => [name, new Set()]));
  #views = new Map();  // REPLICA_VIEWS name -> parsed value, until the core reports a change

  constructor(core, name, client) {
    this.#core = core;
    this.#client = client;
    this.name = name;
    this.chat = new RoomChat(this);
    this.doc = new RoomDoc(this);
    this.stream = new RoomStream(this);
  }

  // Registers fn for one of ROOM_EVENT_NAMES; returns an unregister function.
  //   presence (members), locks, lockLost, takeover, chat (room.chat), typing ([{user, name}]),
  //   doc ({kind: 'snapshot'|'node'|'edge', id?, deleted?, user?}), execution (the update),
  //   stream (the event), streamControl ({action, user}), broadcast ({event, data?, user, name,
  //   color, connection}: a member's broadcast; ours too when sent with self), event (every
  //   room event applied: the server's message {type, room, seq, ts, ...} — chat, node_*,
  //   edge_*, locked, unlocked, stream, execution_update, node_update, cleared).
  on(event, fn) {
    const set = this.#listeners[event];
    if (!set) throw new TypeError(`tandem: unknown room event "${event}" (${ROOM_EVENT_NAMES.join(', ')})`);
    set.add(fn);
    return () => set.delete(fn);
  }

  // [{id, name, color, metas: [{connection, state}]}]. In a crowd (membersPartial) only the
  // users fetched with listMembers() and those known before the room became one.
  get members() { return this._view('members').list.map((m) => ({ ...m })); }
  // Users in the room (the server's count in a crowd).
  get memberCount() { return this._view('members').count; }
  // True while the room is a crowd (PROTOCOL.md §7): joins and leaves are counted, not listed;
  // 'presence' fires when the count changes.
  get membersPartial() { return this._view('members').partial; }

  // One page of the member list, in user id order: resolves {members, count, next} — pass
  // `next` as `after` for the following page (absent on the last). The page's members are
  // added to room.members.
  async listMembers({ after = '', limit = 0 } = {}) {
    const text = await callbackPromise((done) => this.#core.listMembers(this.name, String(after), Number(limit), done));
    const page = JSON.parse(text);
    return { members: page.members.map(memberOf), count: page.count, ...(page.next ? { next: page.next } : {}) };
  }

  // {resource: {user, name, color, fence, expiresAt}}
  get locks() {
    return Object.fromEntries(Object.entries(this._view('locks')).map(([resource, l]) => [resource, { ...l }]));
  }

  // {executionId: the latest execution_update {execution, status, node?, progress?, message?,
  // data?, seq, ts}} seen in this room since joining.
  get executions() {
    return Object.fromEntries(this._view('executions').map((update) => [update.execution, { ...update }]));
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

  // An app event to every other member of the room (PROTOCOL.md §12a): "dragging", a
  // reaction, any ephemeral UI signal. Never stored, never replayed to later joiners. `data`:
  // any JSON value (undefined: none, at most 32 KiB as JSON); `self`: we receive it too (room
  // on 'broadcast'). Fire and forget by default: true when it went out, false when it could
  // not now (offline, the room being rejoined, the client closed) — nothing is kept. With
  // `ack: true` a Promise of the server's ack instead (queued while offline and sent after the
  // rejoin, like chat). A bad event name or data throws (or rejects) a TandemError.
  broadcast(event, data, { self = false, ack = false } = {}) {
    let dataText = '';
    try {
      if (data !== undefined) dataText = JSON.stringify(data);
    } catch {
      dataText = undefined;  // a BigInt, a cycle
    }
    const fail = (error) => {
      if (ack) return Promise.reject(error);
      throw error;
    };
    if (typeof dataText !== 'string') return fail(new TandemError('invalid_message', 'broadcast data must be a JSON value'));
    if (this.#client._closed) return ack ? Promise.reject(new TandemError('closed', 'the client was closed')) : false;
    if (ack) {
      return callbackPromise((done) => {
        const outcome = this.#core.broadcast(this.name, String(event), dataText, Boolean(self), done);
        if (!outcome.ok) done(outcome.code, outcome.message);
      });
    }
    const outcome = this.#core.broadcast(this.name, String(event), dataText, Boolean(self), null);
    if (outcome.ok) return true;
    if (outcome.code === 'not_open') return false;
    return fail(new TandemError(outcome.code, outcome.message));
  }

  leave() {
    this.#client._forget(this);
    return callbackPromise((done) => this.#core.leave(this.name, done));
  }

  // One part of the core's replica (REPLICA_VIEWS), parsed once per change; callers copy
  // before handing it out.
  _view(name) {
    if (!this.#views.has(name)) {
      const view = REPLICA_VIEWS[name];
      const text = this.#core.roomView(view.view, this.name);
      this.#views.set(name, text ? view.parse(JSON.parse(text)) : view.empty);
    }
    return this.#views.get(name);
  }
  // For RoomChat: the core and whether the connection is open.
  get _core() { return this.#core; }
  get _online() { return this.#client.state.state === 'open'; }

  // A room request through the core's Rooms and outbox (queued offline, resent with its id
  // after a reconnect, deduplicated by the server; one the server refused with not_subscribed
  // because it raced the rejoin is sent again once the room is joined). Resolves with the ack
  // {type: 'ack', duplicate?}.
  _request(message) {
    return callbackPromise((done) => this.#client._rawRequest(message, done, this.name));
  }

  // Fire and forget; false when it could not go out (offline).
  _send(message) {
    try {
      this.#client.send(message);
      return true;
    } catch {
      return false;
    }
  }

  // Called by the client when the core's replica changed (before the message that changed it
  // reaches _message). Announces what has no message of its own; the rest is announced by
  // _message, once per message, when the listeners can read the whole change.
  _changed(what) {
    for (const [name, view] of Object.entries(REPLICA_VIEWS))
      if (view.change.some((bit) => what[bit])) this.#views.delete(name);
    if (what.members || what.presence) this._emit('presence', this.members);
    if (what.locks) this._emit('locks', this.locks);
    if (what.typing) this._emit('typing', this.chat.typingUsers);
  }

  // Called by the client with every server message naming this room that the core's replica
  // took (duplicates and events after a gap never get here).
  _message(m, selfUser) {
    switch (m.type) {
      case 'chat':
        if (m.user === selfUser) this.chat._echoed(m.text);
        this.chat.partials.delete(m.reply);
        this._emit('chat', this.chat);
        break;
      case 'chat_partial':
        this.chat.partials.set(m.reply, { reply: m.reply, bot: m.bot, text: m.text });
        this._emit('chat', this.chat);
        break;
      case 'history':
        this.chat.partials.clear();  // the server resends the replies still growing after it
        this.chat.bots = m.bots ? m.bots.split(',') : [];  // comma-separated (PROTOCOL.md "Chat bots")
        this._emit('bots', this.chat.bots);
      // falls through
      case 'cleared':
        this._emit('chat', this.chat);
        break;
      case 'bot_toggled':
        this.chat.bots = this.chat.bots.filter((b) => b !== m.bot).concat(m.enabled ? [m.bot] : []);
        this._emit('bots', this.chat.bots);
        break;
      case 'execution_update':
        this._emit('execution', withoutRouting(m));
        break;
      case 'stream':
        this._emit('stream', withoutRouting(m));
        break;
      case 'stream_control':
        this._emit('streamControl', { action: m.action, user: m.user });
        break;
      case 'broadcast':
        this._emit('broadcast', withoutRouting(m));
        break;
      default: {
        const change = this.doc._describe(m);
        if (change) this._emit('doc', change);
      }
    }
    if (ROOM_EVENTS.has(m.type)) this._emit('event', m);
  }

  _offline() {
    this.chat._offline();
    if (this.#core.roomTyping(this.name)?.length) this._emit('typing', []);
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
  #selfUser = null;  // our user id, from the last `connected`
  #refreshToken;     // the app's async () => token, or undefined
  #refreshesInARow = 0;

  constructor(core, url, token, { refreshToken, transports = [...TRANSPORTS.keys()] } = {}) {
    const wsUrl = absoluteWebSocketUrl(url);
    const problem = coreText(core, callCore(core, 'check_config', [wsUrl, token ?? '']));
    if (problem) throw new TandemError('invalid_config', problem);
    if (refreshToken !== undefined && typeof refreshToken !== 'function')
      throw new TandemError('invalid_config', 'refreshToken must be a function returning a token (or a promise of one)');
    this.#refreshToken = refreshToken;
    const order = Array.isArray(transports) ? transports.map((t) => TRANSPORTS.get(t) ?? '?').join('') : '';
    if (!/^(ws?|sw?)$/.test(order))
      throw new TandemError('invalid_config', `transports: "websocket" and/or "sse", each once (not ${JSON.stringify(transports)})`);
    this.#core = new CoreClient(core, wsUrl, token ?? '', order);
    this.#core.setHandlers(
      (snapshot) => {
        if (snapshot.user) this.#selfUser = snapshot.user.id;
        if (snapshot.state === 'open') this.#refreshesInARow = 0;
        else for (const room of this.#rooms.values()) room._offline();
        const refreshing = this.#shouldRefresh(snapshot);
        this.#emit('state', refreshing ? { ...snapshot, refreshing: true } : snapshot);
        if (refreshing) this.#refresh();
      },
      (text) => {
        const message = JSON.parse(text);
        if (typeof message.room === 'string') {
          this.#rooms.get(message.room)?._message(message, this.#selfUser);
        }
        this.#emit('message', message);
      },
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

  // The browser WebSocket of the latest connection (undefined before the first, and while the
  // connection is an event stream): Yjs documents ride on it (tandem-yjs.mjs).
  get socket() { return this.#core.socket(); }

  // What carries the open connection: 'websocket' or 'sse' (connect's `transports`); null
  // while not open.
  get transport() { return this.state.transport ?? null; }

  // The current state, read fresh: state name, cause, close code/reason, retryInMs (countdown
  // to the next attempt while reconnecting), attempt, queued requests, and — once connected —
  // connectionId, user {id, name, color} and transport (the carrier, while open).
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
    return callbackPromise((done) => this._rawRequest(message, done));
  }

  // For TandemRoom: true once close() ran (the core is freed).
  get _closed() { return this.#closed; }

  // A left room's handle is dropped: joining again starts a fresh one.
  _forget(handle) {
    if (this.#rooms.get(handle.name) === handle) this.#rooms.delete(handle.name);
  }

  // request() for TandemRoom: done(errorCode, errorMessage, reply) runs synchronously when the
  // answer is handled (in order with the messages around it). With `room`: one of that room's
  // ack-answered requests, through the core's Rooms (TandemRoom._request).
  _rawRequest(message, done, room = '') {
    if (this.#closed) return done('closed', 'the client was closed', null);
    const outcome = this.#core.request(toJsonText(message), room, done);
    if (!outcome.ok) done(outcome.code, outcome.message, null);
  }

  // Joins a room; resolves with a TandemRoom once subscribed (its presence and locks arrive
  // right after: listen to 'presence' / 'locks'; a workflow room's document, a room's chat
  // history: 'doc' / 'chat'). Rejects with TandemError ('forbidden', ...).
  join(room, { presence } = {}) {
    if (this.#closed) return Promise.reject(new TandemError('closed', 'the client was closed'));
    const handle = this.#rooms.get(room) ?? new TandemRoom(this.#core, room, this);
    this.#rooms.set(room, handle);
    const presenceText = presence ? JSON.stringify({ type: 'presence', room, state: presence }) : '';
    return new Promise((resolve, reject) => {
      const outcome = this.#core.join(room, presenceText, (errorCode, errorMessage) => {
        if (errorCode) {
          if (this.#rooms.get(room) === handle && !this.#core.roomView(MEMBERS_VIEW, room)) this.#rooms.delete(room);
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

  // 4401: the token was refused (expired, revoked). With a refreshToken callback, and fewer
  // than MAX_TOKEN_REFRESHES refreshes since the last open connection, we try again.
  #shouldRefresh(snapshot) {
    return snapshot.state === 'closed' && snapshot.cause === 'unauthorized' && !this.#closed &&
      this.#refreshToken !== undefined && this.#refreshesInARow < MAX_TOKEN_REFRESHES;
  }

  // Asks the app for a new token and connects with it. A callback that throws or returns no
  // token leaves the client closed; listeners hear the closed state again with refreshError.
  async #refresh() {
    this.#refreshesInARow += 1;
    let token;
    let failure = null;
    try {
      token = await this.#refreshToken();
      if (typeof token !== 'string' || token === '') failure = 'refreshToken returned no token';
    } catch (error) {
      failure = `refreshToken failed: ${error?.message ?? error}`;
    }
    if (this.#closed) return;
    if (failure) {
      this.#emit('state', { ...this.#core.snapshot(performance.now()), refreshError: failure });
      return;
    }
    this.#core.setToken(token);
    this.#core.start(performance.now());
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
// connecting; watch 'state' for 'open'. transports, refreshToken: see the top of this file.
export async function connect(url, { token, tickMs = DEFAULT_TICK_MS, refreshToken, transports } = {}) {
  const core = await loadCore();
  const client = new TandemClient(core, url, token, { refreshToken, transports });
  client.start(tickMs);
  return client;
}
