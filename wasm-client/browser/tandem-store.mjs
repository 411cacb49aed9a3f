// wasm-client/browser/tandem-store.mjs — the framework-free state behind the React hooks
// (tandem-react.mjs) and the Vue composables (tandem-vue.mjs): one connection, the rooms its
// components use, and cached snapshots of what they read. Everything here reads tandem.mjs's
// public API (client.state and 'state' events, room.members / locks / chat / doc / stream and
// their room events) and calls its methods; the protocol (joins, acks, the offline queue,
// reconnects, lock renewals) stays in tandem.mjs and the C++ core. Not part of the package's
// exports: the bindings import it from beside themselves; outside the client's size budget
// (pages that use no framework never load it).
//
// Snapshots are immutable and cached until an event changes them, so a framework can compare
// them by identity (React's useSyncExternalStore needs exactly that). Joins and the connection
// are reference-counted, and the last release is deferred by a task: React StrictMode's
// mount -> unmount -> mount (and a component replaced by another one using the same room)
// keeps the one join and the one connection instead of leaving and joining again.
import { connect, TandemError } from './tandem.mjs';

const NO_STATE = Object.freeze({ state: 'closed', cause: 'idle', queued: 0 });

// A room's state before its join (and after its leave), by channel.
export const EMPTY = Object.freeze({
  room: Object.freeze({ name: '', status: 'idle', error: null, room: null }),
  presence: Object.freeze({ members: [], memberCount: 0, membersPartial: false, self: undefined, others: [], presence: {} }),
  locks: Object.freeze({ locks: {}, mine: {}, pending: {}, denied: {}, errors: {}, takeovers: {} }),
  chat: Object.freeze({ messages: [], pending: [], typingUsers: [] }),
  doc: Object.freeze({ loaded: false, nodes: [], edges: [] }),
  stream: Object.freeze({ events: [], paused: false, control: null }),
});
const CHANNELS = Object.keys(EMPTY);

// What the producer's own stream events say about pausing (tandem-agent streams `paused`,
// `resumed`, `cancelled`, `done`; PROTOCOL.md §11 leaves the announcement to the producer).
const PAUSED_BY_EVENT = { paused: true, resumed: false, started: false, cancelled: false, done: false };
const PAUSED_BY_ACTION = { pause: true, resume: false, cancel: false };

const later = (fn) => setTimeout(fn, 0);

// A closed TandemClient's core is freed: nothing may be called on its rooms any more.
const isStopped = (client) => {
  const state = client.state;
  return state.state === 'closed' && state.cause === 'stopped';
};

function notJoined(name) {
  return new TandemError('not_subscribed', `room ${name} is not joined (yet)`);
}

// One connection and the rooms of the components under one provider (React) or useTandem()
// (Vue).
export class TandemStore {
  #client = null;
  #owned = false;       // made here by connect(): closed here
  #attempt = null;      // the connect() in flight: a token compared on resolve
  #key = null;          // what the current connection was made from (url, token, transports, tickMs)
  #options = {};        // the latest connect options (refreshToken is read from here)
  #error = null;        // connect() failed
  #state = null;        // the client's last 'state' event (refreshing / refreshError are only there)
  #offClient = [];
  #closeTimer = null;
  #view;
  #listeners = new Set();
  #messageHandlers = new Map();  // message type ('*': every one) -> Set of handlers
  #rooms = new Map();

  constructor() {
    this.#view = this.#makeView();
  }

  get client() { return this.#client; }

  // The connection as the bindings show it; a new object only when something changed.
  getConnection = () => this.#view;

  // fn() after every change of getConnection(); returns the unsubscribe function.
  subscribe = (fn) => {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  };

  // Uses the app's own client (connected by the app, never closed here).
  use(client) {
    this.cancelClose();
    if (client === this.#client) return;
    this.#drop();
    this.#key = null;
    this.#setClient(client, false);
  }

  // Connects to `url` (tandem.mjs connect), unless the current connection was made from the
  // same url, token, transports and tickMs. refreshToken is always the latest one given.
  open(url, options = {}) {
    this.cancelClose();
    this.#options = options;
    const key = JSON.stringify([url, options.token ?? null, options.transports ?? null, options.tickMs ?? null]);
    if (key === this.#key && (this.#client || this.#attempt)) return;
    this.#drop();
    this.#key = key;
    const attempt = {};
    this.#attempt = attempt;
    this.#error = null;
    this.#changed();
    const { refreshToken: _ignored, ...rest } = options;
    const refreshToken = options.refreshToken ? () => this.#options.refreshToken?.() ?? null : undefined;
    connect(url, { ...rest, ...(refreshToken ? { refreshToken } : {}) }).then(
      (client) => {
        if (this.#attempt !== attempt) return client.close();
        this.#attempt = null;
        this.#setClient(client, true);
      },
      (error) => {
        if (this.#attempt !== attempt) return;
        this.#attempt = null;
        this.#error = error;
        this.#changed();
      });
  }

  // Closes the connection made here (an app's own client is only let go) at once.
  close() {
    this.cancelClose();
    this.#drop();
    this.#key = null;
    this.#changed();
  }

  // close() after the current task, unless use() / open() / cancelClose() come first.
  closeSoon() {
    this.cancelClose();
    this.#closeTimer = later(() => {
      this.#closeTimer = null;
      this.close();
    });
  }

  cancelClose() {
    clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
  }

  // handler(message) for every server message of `type` ('*': all); kept across connections.
  onMessage(type, handler) {
    let set = this.#messageHandlers.get(type);
    if (!set) this.#messageHandlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  // The room `name` of this store (made on first use; joined while retained; forgotten once
  // left with nobody holding or watching it, so a later first holder's presence counts).
  room(name) {
    let entry = this.#rooms.get(name);
    if (!entry) this.#rooms.set(name, (entry = new RoomEntry(this, name)));
    return entry;
  }

  // RoomEntry's: it is unused (left, no holds, no listeners) / held again after that.
  _forget(entry) {
    if (this.#rooms.get(entry.name) === entry) this.#rooms.delete(entry.name);
  }
  _adopt(entry) {
    if (!this.#rooms.has(entry.name)) this.#rooms.set(entry.name, entry);
  }

  #setClient(client, owned) {
    this.#client = client;
    this.#owned = owned;
    this.#state = client.state;
    this.#offClient = [
      client.on('state', (state) => {
        this.#state = state;
        this.#changed();
      }),
      client.on('message', (message) => {
        for (const type of [message.type, '*']) {
          for (const fn of [...(this.#messageHandlers.get(type) ?? [])]) {
            try {
              fn(message);
            } catch (error) {
              queueMicrotask(() => { throw error; });
            }
          }
        }
      }),
    ];
    this.#changed();
    for (const entry of this.#rooms.values()) entry._clientChanged();
  }

  #drop() {
    this.#attempt = null;
    const client = this.#client;
    if (!client) return;
    for (const off of this.#offClient) off();
    this.#offClient = [];
    this.#client = null;
    this.#state = null;
    // Ours is closed first (its rooms go with it); an app's own client is left by each room.
    if (this.#owned) client.close();
    for (const entry of this.#rooms.values()) entry._clientChanged();
  }

  #makeView() {
    const client = this.#client;
    let state = client ? this.#state : null;
    let status;
    if (client) status = state.state;
    else status = this.#attempt ? 'connecting' : 'idle';
    let error = this.#error;
    if (!error && state?.state === 'closed' && (state.refreshError || state.cause === 'unauthorized'))
      error = new TandemError('unauthorized', state.refreshError || state.closeReason || 'the server refused the token');
    state ??= this.#attempt ? { state: 'connecting', cause: 'connect', queued: 0 } : NO_STATE;
    return Object.freeze({
      status,
      transport: state.state === 'open' ? state.transport ?? null : null,
      error,
      state,
      client,
      user: state.user ?? null,
      connectionId: state.connectionId ?? null,
    });
  }

  #changed() {
    const before = this.#view;
    this.#view = this.#makeView();
    if (before.connectionId !== this.#view.connectionId || before.user?.id !== this.#view.user?.id) {
      for (const entry of this.#rooms.values()) entry._selfChanged();
    }
    for (const fn of [...this.#listeners]) fn();
  }
}

// One room of a store: joined while at least one component holds it, left a task after the
// last lets go. Its channels (room, presence, locks, chat, doc, stream) are cached snapshots
// that its room events mark stale.
class RoomEntry {
  #store;
  #holds = 0;
  #leaveTimer = null;
  #client = null;     // the client the join below was made on
  #joining = null;    // the join promise in flight
  #room = null;       // the TandemRoom once joined
  #status = 'idle';
  #error = null;
  #presence = null;   // our presence state: sent with the join, then by setPresence
  #joinPresence = null;  // the one the join in flight carries
  #offRoom = [];
  #cache = {};
  #listeners = Object.fromEntries(CHANNELS.map((c) => [c, new Set()]));
  // locks: what this connection holds (resource -> fence), has asked for, was refused, failed.
  #mine = {};
  #confirmed = {};    // resource -> true once the replica showed our fence
  #pendingLocks = {};
  #denied = {};
  #lockErrors = {};
  #takeovers = {};
  #paused = false;
  #control = null;

  constructor(store, name) {
    this.#store = store;
    this.name = name;
  }

  get room() { return this.#room; }

  // Holds the room (joins it if needed, with `presence` as the first presence state); returns
  // the release function (idempotent).
  retain({ presence } = {}) {
    this.#holds += 1;
    clearTimeout(this.#leaveTimer);
    this.#leaveTimer = null;
    this.#store._adopt(this);  // an entry got in render and held after it was forgotten
    if (presence && !this.#presence) this.#presence = presence;
    this.#sync();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  subscribe(channel, fn) {
    const set = this.#listeners[channel];
    set.add(fn);
    return () => set.delete(fn);
  }

  get(channel) {
    if (!this.#room && channel !== 'room' && channel !== 'locks' && channel !== 'presence') return EMPTY[channel];
    this.#cache[channel] ??= this.#read(channel);
    return this.#cache[channel];
  }

  // ---- actions (each on the joined room; before the join they reject with not_subscribed) ----

  // Replaces our presence state (or maps it: fn(previous) -> next); before the join it is kept
  // and sent with it. Returns tandem.mjs's status ('sent', 'throttled', 'deferred') or
  // 'not_joined'.
  setPresence(next) {
    const state = typeof next === 'function' ? next(this.#presence ?? {}) : next;
    this.#presence = state;
    this.#touch('presence');
    return this.#room ? this.#room.setPresence(state) : 'not_joined';
  }

  lock(resource, options) {
    return this.#lockAction(resource, 'acquiring', (room) => room.lock(resource, options));
  }

  takeover(resource) {
    return this.#lockAction(resource, 'acquiring', (room) => room.takeover(resource));
  }

  async unlock(resource) {
    const room = this.#room;
    if (!room) throw notJoined(this.name);
    this.#pendingLocks[resource] = 'releasing';
    delete this.#lockErrors[resource];
    this.#touch('locks');
    try {
      await room.unlock(resource);
    } catch (error) {
      this.#lockErrors[resource] = error;
      throw error;
    } finally {
      delete this.#pendingLocks[resource];
      delete this.#mine[resource];
      delete this.#confirmed[resource];
      delete this.#takeovers[resource];
      this.#touch('locks');
    }
  }

  // room.doc / room.chat / room.stream calls: fn(room) on the joined room.
  call(fn) {
    const room = this.#room;
    return room ? fn(room) : Promise.reject(notJoined(this.name));
  }

  async control(action) {
    const answer = await this.call((room) => room.stream.control(action));
    if (action in PAUSED_BY_ACTION) this.#setPaused(PAUSED_BY_ACTION[action]);
    return answer;
  }

  // ---- the store's calls ----

  _clientChanged() {
    if (this.#client && this.#client !== this.#store.client) this.#leave();
    this.#sync();
  }

  _selfChanged() {
    if (this.#room) this.#touch('presence');
  }

  // ---- inside ----

  async #lockAction(resource, pending, request) {
    const room = this.#room;
    if (!room) throw notJoined(this.name);
    this.#pendingLocks[resource] = pending;
    delete this.#denied[resource];
    delete this.#lockErrors[resource];
    this.#touch('locks');
    try {
      const answer = await request(room);
      if (answer.outcome === 'granted') {
        this.#mine[resource] = answer.fence;
        delete this.#takeovers[resource];
      } else {
        this.#denied[resource] = answer.holder ?? null;
      }
      return answer;
    } catch (error) {
      this.#lockErrors[resource] = error;
      throw error;
    } finally {
      delete this.#pendingLocks[resource];
      this.#touch('locks');
    }
  }

  #release() {
    this.#holds -= 1;
    if (this.#holds > 0) return;
    clearTimeout(this.#leaveTimer);
    this.#leaveTimer = later(() => {
      this.#leaveTimer = null;
      if (this.#holds > 0) return;
      if (this.#room) this.#leave();
      // A join still in flight is left when it resolves (#sync's handler sees no holds); the
      // entry stays known until then, so a new holder does not join the room a second time.
      if (!this.#joining) this.#forgetIfUnused();
    });
  }

  #forgetIfUnused() {
    if (this.#holds === 0 && CHANNELS.every((channel) => this.#listeners[channel].size === 0)) this.#store._forget(this);
  }

  #sync() {
    const client = this.#store.client;
    if (this.#holds === 0 || !client || this.#joining || (this.#room && this.#client === client)) return;
    this.#client = client;
    this.#joinPresence = this.#presence;
    const attempt = client.join(this.name, this.#presence ? { presence: this.#presence } : undefined);
    this.#joining = attempt;
    this.#status = 'joining';
    this.#error = null;
    this.#touch('room');
    attempt.then(
      (room) => {
        if (this.#joining !== attempt) {
          // Superseded: the store moved to another client; this one's join is not ours any more.
          if (this.#client !== client && !isStopped(client)) room.leave().catch(() => {});
          return;
        }
        this.#joining = null;
        if (this.#holds === 0) {
          if (!isStopped(client)) room.leave().catch(() => {});
          this.#status = 'idle';
          this.#touch('room');
          this.#forgetIfUnused();
          return;
        }
        this.#attach(room);
      },
      (error) => {
        if (this.#joining !== attempt) return;
        this.#joining = null;
        this.#status = 'error';
        this.#error = error;
        this.#touch('room');
      });
  }

  #attach(room) {
    this.#room = room;
    this.#status = 'joined';
    this.#paused = pausedFrom(room.stream.events, false);
    const stale = (channel) => () => this.#touch(channel);
    this.#offRoom = [
      room.on('presence', stale('presence')),
      room.on('locks', () => {
        this.#forgetLostLocks(room.locks);
        this.#touch('locks');
      }),
      room.on('lockLost', (lost) => {
        delete this.#mine[lost.resource];
        delete this.#confirmed[lost.resource];
        delete this.#takeovers[lost.resource];
        this.#touch('locks');
      }),
      room.on('takeover', (request) => {
        this.#takeovers[request.resource] = request;
        this.#touch('locks');
      }),
      room.on('chat', stale('chat')),
      room.on('typing', stale('chat')),
      room.on('doc', stale('doc')),
      room.on('stream', (event) => {
        if (event.event in PAUSED_BY_EVENT) this.#paused = PAUSED_BY_EVENT[event.event];
        this.#touch('stream');
      }),
      room.on('streamControl', (control) => {
        this.#control = control;
        if (control.action in PAUSED_BY_ACTION) this.#paused = PAUSED_BY_ACTION[control.action];
        this.#touch('stream');
      }),
    ];
    // A presence state set while the join was on its way.
    if (this.#presence && this.#presence !== this.#joinPresence) {
      try {
        room.setPresence(this.#presence);
      } catch (error) {
        queueMicrotask(() => { throw error; });
      }
    }
    // What arrived with the join (snapshots, history) came before these listeners.
    for (const channel of CHANNELS) this.#touch(channel);
  }

  #leave() {
    const room = this.#room;
    const client = this.#client;
    this.#reset();
    if (room && client && !isStopped(client)) room.leave().catch(() => {});
  }

  // Forgets the join (left, or its client is gone); keeps our presence state for the next.
  #reset() {
    for (const off of this.#offRoom) off();
    this.#offRoom = [];
    this.#room = null;
    this.#client = null;
    this.#joining = null;
    this.#status = 'idle';
    this.#error = null;
    this.#mine = {};
    this.#confirmed = {};
    this.#pendingLocks = {};
    this.#denied = {};
    this.#lockErrors = {};
    this.#takeovers = {};
    this.#paused = false;
    this.#control = null;
    for (const channel of CHANNELS) this.#touch(channel);
  }

  // A lock we were granted is ours while the replica shows our fence on it (or does not show
  // it yet); another fence, or its absence after it was shown, means it ended.
  #forgetLostLocks(locks) {
    for (const [resource, fence] of Object.entries(this.#mine)) {
      const info = locks[resource];
      if (info && info.fence === fence) this.#confirmed[resource] = true;
      else if (info || this.#confirmed[resource]) {
        delete this.#mine[resource];
        delete this.#confirmed[resource];
      }
    }
    for (const resource of Object.keys(this.#denied)) if (!locks[resource]) delete this.#denied[resource];
  }

  #setPaused(paused) {
    if (this.#paused === paused) return;
    this.#paused = paused;
    this.#touch('stream');
  }

  #touch(channel) {
    delete this.#cache[channel];
    for (const fn of [...this.#listeners[channel]]) fn();
  }

  #read(channel) {
    const room = this.#room;
    switch (channel) {
      case 'room':
        return Object.freeze({ name: this.name, status: this.#status, error: this.#error, room });
      case 'presence': {
        const own = this.#presence ?? {};
        if (!room) return Object.freeze({ ...EMPTY.presence, presence: own });
        const { user, connectionId } = this.#store.getConnection();
        const members = room.members;
        const others = [];
        for (const member of members) {
          for (const meta of member.metas) {
            if (meta.connection === connectionId) continue;
            others.push(Object.freeze({
              connection: meta.connection, id: member.id, name: member.name, color: member.color,
              state: meta.state, cursor: cursorOf(meta.state),
            }));
          }
        }
        return Object.freeze({
          members, memberCount: room.memberCount, membersPartial: room.membersPartial,
          self: members.find((m) => m.id === user?.id), others, presence: own,
        });
      }
      case 'locks':
        return Object.freeze({
          locks: room ? room.locks : {}, mine: { ...this.#mine }, pending: { ...this.#pendingLocks },
          denied: { ...this.#denied }, errors: { ...this.#lockErrors }, takeovers: { ...this.#takeovers },
        });
      case 'chat':
        return Object.freeze({ messages: room.chat.messages, pending: room.chat.pending, typingUsers: room.chat.typingUsers });
      case 'doc':
        return Object.freeze({ loaded: room.doc.loaded, nodes: room.doc.nodes, edges: room.doc.edges });
      case 'stream':
        return Object.freeze({ events: room.stream.events, paused: this.#paused, control: this.#control });
      default:
        throw new TypeError(`tandem: unknown channel ${channel}`);
    }
  }
}

// The last pause announcement in `events` (replays after a join), else `fallback`.
function pausedFrom(events, fallback) {
  for (let i = events.length - 1; i >= 0; i -= 1) {
    if (events[i].event in PAUSED_BY_EVENT) return PAUSED_BY_EVENT[events[i].event];
  }
  return fallback;
}

// {x, y} when a presence state carries a cursor with numeric x and y, else null.
function cursorOf(state) {
  const cursor = state?.cursor;
  return cursor && typeof cursor.x === 'number' && typeof cursor.y === 'number' ? { x: cursor.x, y: cursor.y } : null;
}

// One lock of a locks snapshot as useLock shows it.
export function lockView(snapshot, resource) {
  const info = resource ? snapshot.locks[resource] : undefined;
  const ownFence = resource ? snapshot.mine[resource] : undefined;
  const heldByMe = ownFence !== undefined && (!info || info.fence === ownFence);
  const pending = (resource && snapshot.pending[resource]) || null;
  let status;
  if (pending) status = pending;
  else if (heldByMe) status = 'mine';
  else status = info ? 'held' : 'free';
  const holder = info ? { user: info.user, name: info.name, color: info.color } : null;
  return {
    status,
    heldByMe,
    holder,
    fence: heldByMe ? ownFence : info?.fence ?? null,
    expiresAt: info?.expiresAt ?? null,
    denied: (resource && snapshot.denied[resource]) || null,
    error: (resource && snapshot.errors[resource]) || null,
    takeoverRequest: (resource && snapshot.takeovers[resource]) || null,
  };
}

// The stream events whose name is `filter` (a string or a list), or all of them.
export function filterEvents(events, filter) {
  if (filter === undefined || filter === null) return events;
  const names = new Set(Array.isArray(filter) ? filter : [filter]);
  return events.filter((e) => names.has(e.event));
}
