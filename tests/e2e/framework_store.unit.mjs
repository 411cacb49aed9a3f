// tests/e2e/framework_store.unit.mjs — tandem-store.mjs, the state under the React hooks and the
// Vue composables, against a fake TandemClient (no browser, no server; ctest
// framework_store_unit, label unit): one join per room however many holders, StrictMode's
// release-and-retain in one task keeps it, the last release leaves a task later, a join waits
// for the client and one released meanwhile is left; presence others without our connection,
// with cursors, and our presence state sent with (or after) the join; lock states from grant,
// denial, another fence and loss; pause from stream events and controls; snapshots stable
// until a change; a new client leaves the rooms on the old one and joins them on the new one;
// a room left with nobody holding or watching it is forgotten.
//
// Imports the assembled package's tandem-store.mjs (node_modules/tandem-client ->
// build/tandem-pkg, the wasm build), as the apps do.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TandemStore, lockView } from '../../node_modules/tandem-client/tandem-store.mjs';

// After the store's deferred work (a setTimeout 0, queued before this one) and any promise jobs.
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

class FakeRoom {
  listeners = new Map();
  members = [];
  memberCount = 0;
  membersPartial = false;
  locks = {};
  presenceSent = [];
  left = 0;
  lockAnswers = [];
  chat = { messages: [], pending: [], typingUsers: [], send: async () => ({ type: 'ack' }) };
  doc = { loaded: false, nodes: [], edges: [] };
  stream = { events: [], control: async () => ({ type: 'ack' }) };
  constructor(name) { this.name = name; }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }
  emit(event, value) { for (const fn of this.listeners.get(event) ?? []) fn(value); }
  setPresence(state) { this.presenceSent.push(state); return 'sent'; }
  async lock() { return this.lockAnswers.shift(); }
  async unlock() {}
  async leave() { this.left += 1; }
}

class FakeClient {
  joins = [];   // {name, options, resolve, reject, room}
  rooms = new Map();
  listeners = new Map();
  closed = false;
  snapshot = { state: 'open', cause: 'connected', queued: 0, connectionId: 'c1', user: { id: 'ana', name: 'Ana', color: '#e91e63' }, transport: 'websocket' };
  get state() { return this.closed ? { state: 'closed', cause: 'stopped', queued: 0 } : this.snapshot; }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }
  join(name, options) {
    const room = this.rooms.get(name) ?? new FakeRoom(name);
    this.rooms.set(name, room);
    return new Promise((resolve, reject) => this.joins.push({ name, options, resolve: () => resolve(room), reject, room }));
  }
  close() { this.closed = true; }
}

const member = (id, connections) => ({ id, name: id, color: '#000', metas: connections.map(([connection, state]) => ({ connection, state })) });

test('one join per room; a release and retain in one task keeps it; the last release leaves a task later', async () => {
  const store = new TandemStore();
  const client = new FakeClient();
  store.use(client);
  const entry = store.room('workflow:1');
  const releaseA = entry.retain({ presence: { page: 'a' } });
  const releaseB = entry.retain();
  assert.equal(client.joins.length, 1);
  assert.deepEqual(client.joins[0].options, { presence: { page: 'a' } });
  assert.equal(entry.get('room').status, 'joining');
  client.joins[0].resolve();
  await nextTask();
  assert.equal(entry.get('room').status, 'joined');
  // StrictMode: unmount and mount again in the same task.
  releaseA();
  releaseB();
  const releaseC = entry.retain();
  await nextTask();
  assert.equal(client.rooms.get('workflow:1').left, 0);
  assert.equal(client.joins.length, 1);
  releaseC();
  releaseC();  // idempotent
  assert.equal(client.rooms.get('workflow:1').left, 0, 'not before the next task');
  await nextTask();
  assert.equal(client.rooms.get('workflow:1').left, 1);
  assert.equal(entry.get('room').status, 'idle');
});

test('a room left with nobody holding or watching it is forgotten: the next first holder\'s presence counts', async () => {
  const store = new TandemStore();
  const client = new FakeClient();
  store.use(client);
  const first = store.room('chat:lobby');
  const release = first.retain({ presence: { page: 'a' } });
  client.joins[0].resolve();
  await nextTask();
  const unwatch = first.subscribe('room', () => {});
  release();
  await nextTask();
  assert.equal(client.rooms.get('chat:lobby').left, 1);
  assert.equal(store.room('chat:lobby'), first, 'still watched: kept');
  unwatch();
  first.retain()();  // held and released again, not watched: its join is left when it resolves
  client.joins.at(-1).resolve();
  await nextTask();
  assert.equal(client.rooms.get('chat:lobby').left, 2);
  const second = store.room('chat:lobby');
  assert.notEqual(second, first, 'forgotten once unused');
  second.retain({ presence: { page: 'b' } });
  assert.deepEqual(client.joins.at(-1).options, { presence: { page: 'b' } });

  // An entry got before it was forgotten and held after that is known again (one join).
  const third = store.room('doc:1');
  const releaseThird = third.retain();
  client.joins.at(-1).resolve();
  await nextTask();
  releaseThird();
  await nextTask();  // left and forgotten
  third.retain();
  assert.equal(store.room('doc:1'), third);
});

test('a join waits for the client; one released while joining is left once it resolves', async () => {
  const store = new TandemStore();
  const entry = store.room('chat:lobby');
  const release = entry.retain();
  assert.equal(entry.get('room').status, 'idle');
  const client = new FakeClient();
  store.use(client);
  assert.equal(client.joins.length, 1);
  release();
  await nextTask();
  client.joins[0].resolve();
  await nextTask();
  assert.equal(client.rooms.get('chat:lobby').left, 1);
  assert.equal(entry.get('room').status, 'idle');
});

test('presence: others without our connection, cursors, our state with and after the join, stable snapshots', async () => {
  const store = new TandemStore();
  const client = new FakeClient();
  store.use(client);
  const entry = store.room('workflow:2');
  entry.setPresence({ cursor: { x: 1, y: 2 } });
  entry.retain();
  assert.deepEqual(client.joins[0].options, { presence: { cursor: { x: 1, y: 2 } } });
  entry.setPresence((previous) => ({ ...previous, page: 'doc' }));  // while the join is on its way
  const room = client.joins[0].room;
  room.members = [member('ana', [['c1', {}], ['c9', { cursor: { x: 0.5, y: 0.25 } }]]), member('ben', [['c2', { cursor: 'no' }]])];
  client.joins[0].resolve();
  await nextTask();
  assert.deepEqual(room.presenceSent, [{ cursor: { x: 1, y: 2 }, page: 'doc' }]);
  const snapshot = entry.get('presence');
  assert.equal(entry.get('presence'), snapshot, 'the same object until a change');
  assert.equal(snapshot.self.id, 'ana');
  assert.deepEqual(snapshot.others.map((o) => [o.connection, o.cursor]), [['c9', { x: 0.5, y: 0.25 }], ['c2', null]]);
  let notified = 0;
  entry.subscribe('presence', () => { notified += 1; });
  room.members = [member('ana', [['c1', {}]])];
  room.emit('presence', room.members);
  assert.equal(notified, 1);
  assert.notEqual(entry.get('presence'), snapshot);
  assert.deepEqual(entry.get('presence').others, []);
  assert.equal(entry.setPresence({ page: 'x' }), 'sent');
});

test('locks: granted is mine with its fence; denied names the holder; another fence or a loss ends it', async () => {
  const store = new TandemStore();
  const client = new FakeClient();
  store.use(client);
  const entry = store.room('workflow:3');
  entry.retain();
  client.joins[0].resolve();
  await nextTask();
  const room = client.joins[0].room;
  const ana = { user: 'ana', name: 'Ana', color: '#e91e63' };
  const ben = { user: 'ben', name: 'Ben', color: '#3f51b5' };
  assert.equal(lockView(entry.get('locks'), 'n1').status, 'free');

  room.lockAnswers.push({ outcome: 'granted', fence: 7, expiresAt: 1 });
  const acquiring = entry.lock('n1');
  assert.equal(lockView(entry.get('locks'), 'n1').status, 'acquiring');
  await acquiring;
  assert.deepEqual([lockView(entry.get('locks'), 'n1').status, lockView(entry.get('locks'), 'n1').fence], ['mine', 7]);
  room.locks = { n1: { ...ana, fence: 7, expiresAt: 1 } };
  room.emit('locks', room.locks);
  assert.equal(lockView(entry.get('locks'), 'n1').heldByMe, true);
  room.emit('lockLost', { room: room.name, resource: 'n1', reason: 'expired', fence: 7 });
  assert.equal(lockView(entry.get('locks'), 'n1').status, 'held', 'the replica still shows it; no longer ours');

  room.locks = { n1: { ...ben, fence: 9, expiresAt: 1 } };
  room.emit('locks', room.locks);
  room.lockAnswers.push({ outcome: 'denied', fence: 0, expiresAt: 1, holder: ben });
  await entry.lock('n1');
  let view = lockView(entry.get('locks'), 'n1');
  assert.deepEqual([view.status, view.holder.name, view.fence, view.denied.name], ['held', 'Ben', 9, 'Ben']);
  room.locks = {};
  room.emit('locks', room.locks);
  view = lockView(entry.get('locks'), 'n1');
  assert.deepEqual([view.status, view.denied], ['free', null]);

  room.lockAnswers.push({ outcome: 'granted', fence: 11, expiresAt: 1 });
  await entry.lock('n2');
  room.locks = { n2: { ...ben, fence: 12, expiresAt: 1 } };  // taken over: another fence
  room.emit('locks', room.locks);
  assert.equal(lockView(entry.get('locks'), 'n2').status, 'held');
  await assert.rejects(store.room('workflow:none').lock('n1'), { code: 'not_subscribed' });
});

test('stream: paused from the producer\'s events, our controls and the controls it receives', async () => {
  const store = new TandemStore();
  const client = new FakeClient();
  store.use(client);
  const entry = store.room('agent:1');
  entry.retain();
  client.joins[0].room.stream.events = [{ event: 'token' }, { event: 'paused' }];
  client.joins[0].resolve();
  await nextTask();
  const room = client.joins[0].room;
  assert.equal(entry.get('stream').paused, true, 'from the replayed events');
  room.emit('stream', { event: 'resumed' });
  assert.equal(entry.get('stream').paused, false);
  await entry.control('pause');
  assert.equal(entry.get('stream').paused, true);
  room.emit('streamControl', { action: 'resume', user: 'ben' });
  assert.deepEqual([entry.get('stream').paused, entry.get('stream').control.user], [false, 'ben']);
});

test('a new client: the rooms are left on the old one and joined on the new one', async () => {
  const store = new TandemStore();
  const first = new FakeClient();
  store.use(first);
  const entry = store.room('workflow:4');
  entry.retain();
  first.joins[0].resolve();
  await nextTask();
  const states = [];
  store.subscribe(() => states.push(store.getConnection().status));
  const second = new FakeClient();
  second.snapshot = { ...second.snapshot, connectionId: 'c2' };
  store.use(second);
  assert.equal(first.rooms.get('workflow:4').left, 1);
  assert.equal(second.joins.length, 1);
  assert.equal(store.getConnection().connectionId, 'c2');
  second.joins[0].resolve();
  await nextTask();
  assert.equal(entry.get('room').room, second.rooms.get('workflow:4'));
  store.close();
  assert.equal(second.closed, false, "an app's own client is never closed here");
  assert.equal(second.rooms.get('workflow:4').left, 1);
  assert.equal(store.getConnection().status, 'idle');
  assert.ok(states.length >= 2);
});
