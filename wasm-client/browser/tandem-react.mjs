// wasm-client/browser/tandem-react.mjs — React hooks over tandem.mjs (the package's
// `tandem-client/react`; types in tandem-react.d.ts). React >= 18 (useSyncExternalStore).
//
//   <TandemProvider url="/ws" options={{ token }}>        // or client={await connect(...)}
//     const { status, transport, error } = useConnection();
//     const { status, room } = useRoom('workflow:42', { presence: { page: 'editor' } });
//     const { members, presence, setPresence } = usePresence('workflow:42');
//     const others = useOthers('workflow:42');          // [{connection, id, name, color, state, cursor}]
//     const lock = useLock('workflow:42', 'n3');        // {status, holder, fence, acquire, release, ...}
//     const doc = useDocument('workflow:42');           // {loaded, nodes, edges, createNode, updateNode, ...}
//     const chat = useChat('workflow:42');              // {messages, pending, typingUsers, send, typing, ...}
//     const stream = useStream('agent:7', 'token');     // {events, paused, pause, resume, cancel, send}
//
// Thin: each hook reads tandem.mjs's replica of the room through tandem-store.mjs (cached
// snapshots, useSyncExternalStore) and calls tandem.mjs for every action. Every room hook
// holds the room joined while its component is mounted (one join per room and provider, shared
// by every hook that names it; left a task after the last one unmounts, so StrictMode's double
// mount neither leaves nor joins twice). Actions return tandem.mjs's promises (rejecting with
// a TandemError) and the lock hook also keeps the last failure in `error`.
import {
  createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState,
  useSyncExternalStore,
} from 'react';
import { EMPTY, TandemStore, filterEvents, lockView } from './tandem-store.mjs';

const StoreContext = createContext(null);

// The connection for the tree below: the app's `client`, or one made from `url` + `options`
// (tandem.mjs connect; a new url, token, transports or tickMs makes a new connection, closed
// when the provider unmounts).
export function TandemProvider({ client, url, options, children }) {
  const [store] = useState(() => new TandemStore());
  const latest = useRef(options);
  latest.current = options;
  const key = client ? null : JSON.stringify([url, options?.token ?? null, options?.transports ?? null, options?.tickMs ?? null]);
  useEffect(() => {
    const given = latest.current ?? {};
    // refreshToken: the latest render's, whenever the client asks.
    const refreshToken = given.refreshToken ? () => latest.current?.refreshToken?.() ?? null : undefined;
    if (client) store.use(client);
    else if (url) store.open(url, refreshToken ? { ...given, refreshToken } : given);
    else store.close();
    return () => store.closeSoon();
  }, [store, client, url, key]);
  return createElement(StoreContext.Provider, { value: store }, children);
}

function useStore() {
  const store = useContext(StoreContext);
  if (!store) throw new Error('tandem-client/react: this hook needs a <TandemProvider> above it');
  return store;
}

// {status: 'idle'|'connecting'|'open'|'reconnecting'|'closed', transport, error, state, client,
// user, connectionId}
export function useConnection() {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getConnection, store.getConnection);
}

// The room's entry in the store, held (joined) from mount to unmount. null for no room.
function useEntry(name, options) {
  const store = useStore();
  const entry = name ? store.room(name) : null;
  const presence = useRef(options?.presence);
  presence.current ??= options?.presence;
  useEffect(() => (entry ? entry.retain({ presence: presence.current }) : undefined), [entry]);
  return entry;
}

function useChannel(entry, channel) {
  const subscribe = useCallback((fn) => (entry ? entry.subscribe(channel, fn) : () => {}), [entry, channel]);
  const get = useCallback(() => (entry ? entry.get(channel) : EMPTY[channel]), [entry, channel]);
  return useSyncExternalStore(subscribe, get, get);
}

// Joins `room` for the component's lifetime: {name, status: 'idle'|'joining'|'joined'|'error',
// error, room: the TandemRoom once joined}. options.presence: the first presence state, sent
// with the join.
export function useRoom(room, options) {
  const entry = useEntry(room, options);
  return useChannel(entry, 'room');
}

// {members, memberCount, membersPartial, self, others, presence, setPresence(state | fn)}
export function usePresence(room) {
  const entry = useEntry(room);
  const snapshot = useChannel(entry, 'presence');
  const setPresence = useCallback((next) => (entry ? entry.setPresence(next) : 'not_joined'), [entry]);
  return useMemo(() => ({ ...snapshot, setPresence }), [snapshot, setPresence]);
}

// The room's other connections (ours left out): [{connection, id, name, color, state, cursor}].
export function useOthers(room) {
  return useChannel(useEntry(room), 'presence').others;
}

// One lock: {status: 'free'|'acquiring'|'mine'|'releasing'|'held', heldByMe, holder, fence,
// expiresAt, denied, error, takeoverRequest, acquire(options?), release(), takeover()}.
export function useLock(room, resource) {
  const entry = useEntry(room);
  const snapshot = useChannel(entry, 'locks');
  return useMemo(() => {
    const missing = () => Promise.reject(new Error('tandem-client/react: useLock without a room or resource'));
    const ready = entry && resource;
    return {
      ...lockView(snapshot, resource),
      acquire: (options) => (ready ? entry.lock(resource, options) : missing()),
      release: () => (ready ? entry.unlock(resource) : missing()),
      takeover: () => (ready ? entry.takeover(resource) : missing()),
    };
  }, [entry, resource, snapshot]);
}

// The workflow document: {loaded, nodes, edges, node(id), createNode, updateNode, deleteNode,
// createEdge, deleteEdge} (tandem.mjs RoomDoc's, resolving with the ack).
export function useDocument(room) {
  const entry = useEntry(room);
  const snapshot = useChannel(entry, 'doc');
  const actions = useMemo(() => docActions(entry), [entry]);
  return useMemo(() => ({
    ...snapshot,
    node: (id) => snapshot.nodes.find((n) => n.id === id),
    ...actions,
  }), [snapshot, actions]);
}

// The chat: {messages (history, then live), pending, typingUsers, send(text), typing(active),
// dismiss(localId), clear()}.
export function useChat(room) {
  const entry = useEntry(room);
  const snapshot = useChannel(entry, 'chat');
  const actions = useMemo(() => chatActions(entry), [entry]);
  return useMemo(() => ({ ...snapshot, ...actions }), [snapshot, actions]);
}

// The event stream of an agent: room: {events (only those named `stream` when given: a name or
// a list), paused, lastControl (the last stream_control we got as producer), send(event, data),
// control(action), pause(), resume(), cancel()}.
export function useStream(room, stream) {
  const entry = useEntry(room);
  const snapshot = useChannel(entry, 'stream');
  const filterKey = Array.isArray(stream) ? stream.join('\n') : stream;
  // filterKey stands for `stream` (a new array each render is the same filter)
  const events = useMemo(() => filterEvents(snapshot.events, stream), [snapshot.events, filterKey]);
  const actions = useMemo(() => streamActions(entry), [entry]);
  return useMemo(() => ({ events, paused: snapshot.paused, lastControl: snapshot.control, ...actions }),
    [events, snapshot, actions]);
}

const notJoinedPromise = () => Promise.reject(new Error('tandem-client/react: no room given'));

function docActions(entry) {
  const call = (fn) => (entry ? entry.call(fn) : notJoinedPromise());
  return {
    createNode: (node) => call((r) => r.doc.createNode(node)),
    updateNode: (id, fields, options) => call((r) => r.doc.updateNode(id, fields, options)),
    deleteNode: (id, options) => call((r) => r.doc.deleteNode(id, options)),
    createEdge: (edge) => call((r) => r.doc.createEdge(edge)),
    deleteEdge: (id) => call((r) => r.doc.deleteEdge(id)),
  };
}

function chatActions(entry) {
  const call = (fn) => (entry ? entry.call(fn) : notJoinedPromise());
  return {
    send: (text) => call((r) => r.chat.send(text)),
    typing: (active = true) => { entry?.room?.chat.typing(active); },
    dismiss: (localId) => { entry?.room?.chat.dismiss(localId); },
    clear: () => call((r) => r.chat.clear()),
  };
}

function streamActions(entry) {
  const control = (action) => (entry ? entry.control(action) : notJoinedPromise());
  return {
    send: (event, data) => entry?.room?.stream.send(event, data) ?? false,
    control,
    pause: () => control('pause'),
    resume: () => control('resume'),
    cancel: () => control('cancel'),
  };
}
