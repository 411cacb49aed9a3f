// wasm-client/browser/tandem-vue.mjs — Vue 3 composables over tandem.mjs (the package's
// `tandem-client/vue`; types in tandem-vue.d.ts). Vue >= 3.3.
//
//   // the root component (or any ancestor): the connection, provided to its descendants
//   const tandem = useTandem({ url: '/ws', token });   // or { client }, or autoConnect: false + connect({ token })
//   tandem.status / isConnected / error / transport     // refs
//   tandem.send('ping'); tandem.on('chat', fn); tandem.off('chat', fn); tandem.disconnect();
//   // any component below it (or the same one): the room APIs as refs, held while it lives
//   const { status } = useRoom('workflow:42', { presence: { page: 'editor' } });
//   const { members, others, setPresence } = usePresence('workflow:42');
//   const lock = useLock('workflow:42', 'n3');       // refs status, holder, fence; acquire(), release()
//   const { nodes, createNode, updateNode } = useDocument('workflow:42');
//   const { messages, send, typing } = useChat('workflow:42');
//   const { events, paused, pause, resume } = useStream('agent:7', 'token');
//
// The room name (and the lock's resource) may be a ref or a getter: the composable moves to the
// new room when it changes. Rooms are joined once per useTandem() however many composables name
// them, and left a task after the last one's scope is disposed. The connection's shape follows
// a WebSocket chat composable (status, connect/disconnect, send/on/off, isConnected, error);
// reconnecting with backoff, heartbeats and the offline queue are tandem.mjs's.
import {
  computed, getCurrentInstance, getCurrentScope, inject, onScopeDispose, provide, shallowRef, toValue, watch,
} from 'vue';
import { EMPTY, TandemStore, filterEvents, lockView } from './tandem-store.mjs';

// What useTandem() provides (app.provide(TANDEM_KEY, tandem) works too).
export const TANDEM_KEY = Symbol('tandem-client/vue');

const stores = new WeakMap();     // the object useTandem returned -> its TandemStore
const ownTandem = new WeakMap();  // component instance -> the useTandem() it called itself

function whenDisposed(fn) {
  if (getCurrentScope()) onScopeDispose(fn);
}

// The connection: {status, state, transport, error, user, client, isConnected, connect(overrides?),
// disconnect(), send(type, data?), request(type, data?), on(type, handler), off(type, handler)}.
export function useTandem(options = {}) {
  const store = new TandemStore();
  let settings = { ...options };
  const view = shallowRef(store.getConnection());
  const unsubscribe = store.subscribe(() => { view.value = store.getConnection(); });
  const handlers = new Map();  // handler -> Map(type -> off)

  function connect(overrides = {}) {
    settings = { ...settings, ...overrides };
    const { client, url = '/ws', autoConnect: _autoConnect, ...connectOptions } = settings;
    if (client) store.use(client);
    else store.open(url, connectOptions);
  }

  function disconnect() {
    store.close();
  }

  // Fire and forget; false when it could not go now (not connected).
  function send(type, data = {}) {
    const client = store.client;
    if (!client || client.state.state !== 'open') return false;
    client.send({ ...data, type });
    return true;
  }

  function request(type, data = {}) {
    const client = store.client;
    return client ? client.request({ ...data, type }) : Promise.reject(new Error('tandem-client/vue: not connected'));
  }

  function on(type, handler) {
    let byType = handlers.get(handler);
    if (!byType) handlers.set(handler, (byType = new Map()));
    if (!byType.has(type)) byType.set(type, store.onMessage(type, handler));
  }

  function off(type, handler) {
    const byType = handlers.get(handler);
    byType?.get(type)?.();
    byType?.delete(type);
  }

  const tandem = {
    status: computed(() => view.value.status),
    state: computed(() => view.value.state),
    transport: computed(() => view.value.transport),
    error: computed(() => view.value.error),
    user: computed(() => view.value.user),
    client: computed(() => view.value.client),
    isConnected: computed(() => view.value.status === 'open'),
    connect,
    disconnect,
    send,
    request,
    on,
    off,
  };
  stores.set(tandem, store);
  const instance = getCurrentInstance();
  if (instance) {
    provide(TANDEM_KEY, tandem);
    ownTandem.set(instance, tandem);
  }
  whenDisposed(() => {
    unsubscribe();
    for (const byType of handlers.values()) for (const offHandler of byType.values()) offHandler();
    store.closeSoon();
  });
  if (settings.autoConnect ?? Boolean(settings.url || settings.client || settings.token)) connect();
  return tandem;
}

function storeOf(explicit) {
  const instance = getCurrentInstance();
  const tandem = explicit ?? (instance && ownTandem.get(instance)) ?? inject(TANDEM_KEY, null);
  const store = tandem && stores.get(tandem);
  if (!store) throw new Error('tandem-client/vue: call useTandem() in this component or an ancestor, or pass { tandem }');
  return store;
}

// The room named by `room` (a string, ref or getter; empty: none), held while the scope lives,
// and a shallow ref of one of its channels' snapshots. Returns { entry, value }.
function useChannel(room, channel, options) {
  const store = storeOf(options?.tandem);
  const entry = shallowRef(null);
  const value = shallowRef(EMPTY[channel]);
  watch(() => toValue(room), (name, _previous, onCleanup) => {
    if (!name) {
      entry.value = null;
      value.value = EMPTY[channel];
      return;
    }
    const current = store.room(name);
    const release = current.retain({ presence: options?.presence });
    const unsubscribe = current.subscribe(channel, () => { value.value = current.get(channel); });
    entry.value = current;
    value.value = current.get(channel);
    onCleanup(() => {
      unsubscribe();
      release();
    });
  }, { immediate: true });
  return { entry, value };
}

const noRoom = () => Promise.reject(new Error('tandem-client/vue: no room given'));

// {name, status: 'idle'|'joining'|'joined'|'error', error, room} as refs. options.presence: the
// first presence state, sent with the join; options.tandem: a useTandem() not provided above.
export function useRoom(room, options) {
  const { value } = useChannel(room, 'room', options);
  return {
    name: computed(() => value.value.name),
    status: computed(() => value.value.status),
    error: computed(() => value.value.error),
    room: computed(() => value.value.room),
  };
}

// {members, memberCount, membersPartial, self, others, presence} as refs, and setPresence.
export function usePresence(room, options) {
  const { entry, value } = useChannel(room, 'presence', options);
  return {
    members: computed(() => value.value.members),
    memberCount: computed(() => value.value.memberCount),
    membersPartial: computed(() => value.value.membersPartial),
    self: computed(() => value.value.self),
    others: computed(() => value.value.others),
    presence: computed(() => value.value.presence),
    setPresence: (next) => (entry.value ? entry.value.setPresence(next) : 'not_joined'),
  };
}

// The room's other connections (ours left out), with their cursors, as a ref.
export function useOthers(room, options) {
  const { value } = useChannel(room, 'presence', options);
  return computed(() => value.value.others);
}

// One lock (`resource`: a string, ref or getter): refs status, heldByMe, holder, fence,
// expiresAt, denied, error, takeoverRequest; acquire(options?), release(), takeover().
export function useLock(room, resource, options) {
  const { entry, value } = useChannel(room, 'locks', options);
  const view = computed(() => lockView(value.value, toValue(resource)));
  const act = (fn) => {
    const name = toValue(resource);
    return entry.value && name ? fn(entry.value, name) : noRoom();
  };
  return {
    status: computed(() => view.value.status),
    heldByMe: computed(() => view.value.heldByMe),
    holder: computed(() => view.value.holder),
    fence: computed(() => view.value.fence),
    expiresAt: computed(() => view.value.expiresAt),
    denied: computed(() => view.value.denied),
    error: computed(() => view.value.error),
    takeoverRequest: computed(() => view.value.takeoverRequest),
    acquire: (lockOptions) => act((e, name) => e.lock(name, lockOptions)),
    release: () => act((e, name) => e.unlock(name)),
    takeover: () => act((e, name) => e.takeover(name)),
  };
}

// The workflow document: refs loaded, nodes, edges; node(id) and the edits (tandem.mjs RoomDoc's).
export function useDocument(room, options) {
  const { entry, value } = useChannel(room, 'doc', options);
  const call = (fn) => (entry.value ? entry.value.call(fn) : noRoom());
  return {
    loaded: computed(() => value.value.loaded),
    nodes: computed(() => value.value.nodes),
    edges: computed(() => value.value.edges),
    node: (id) => value.value.nodes.find((n) => n.id === id),
    createNode: (node) => call((r) => r.doc.createNode(node)),
    updateNode: (id, fields, fenceOption) => call((r) => r.doc.updateNode(id, fields, fenceOption)),
    deleteNode: (id, fenceOption) => call((r) => r.doc.deleteNode(id, fenceOption)),
    createEdge: (edge) => call((r) => r.doc.createEdge(edge)),
    deleteEdge: (id) => call((r) => r.doc.deleteEdge(id)),
  };
}

// The chat: refs messages (history, then live), pending, typingUsers; send(text), typing(active),
// dismiss(localId), clear().
export function useChat(room, options) {
  const { entry, value } = useChannel(room, 'chat', options);
  const call = (fn) => (entry.value ? entry.value.call(fn) : noRoom());
  return {
    messages: computed(() => value.value.messages),
    pending: computed(() => value.value.pending),
    typingUsers: computed(() => value.value.typingUsers),
    send: (text) => call((r) => r.chat.send(text)),
    typing: (active = true) => { entry.value?.room?.chat.typing(active); },
    dismiss: (localId) => { entry.value?.room?.chat.dismiss(localId); },
    clear: () => call((r) => r.chat.clear()),
  };
}

// The event stream of an agent: room: refs events (only those named `stream` when given),
// paused, control; send(event, data), pause(), resume(), cancel(), control(action).
export function useStream(room, stream, options) {
  const { entry, value } = useChannel(room, 'stream', options);
  const control = (action) => (entry.value ? entry.value.control(action) : noRoom());
  return {
    events: computed(() => filterEvents(value.value.events, toValue(stream))),
    paused: computed(() => value.value.paused),
    lastControl: computed(() => value.value.control),
    send: (event, data) => entry.value?.room?.stream.send(event, data) ?? false,
    control,
    pause: () => control('pause'),
    resume: () => control('resume'),
    cancel: () => control('cancel'),
  };
}
