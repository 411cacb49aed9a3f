// tests/yjs/hocuspocus.test.mjs — what @hocuspocus/provider apps rely on beyond sync (issue 17):
// the authentication answer (scope read-write / readonly, permission denied with a reason), a
// read-only token's edits not applied while it still syncs, stateless messages between the
// document's providers, the acknowledgement of stored updates (unsyncedChanges back to 0), and
// several documents multiplexed on one socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';

import { converged, hocuspocusClient, isSynced, serverPerFile, state, tokenFor, waitFor, yjsUrl, yWebsocketClient } from './lib.mjs';

const fixture = serverPerFile();
const track = (client) => fixture.track(client);

test('a read-only token syncs and sees edits, and its own edits are not applied', async () => {
  const { server } = fixture;
  const writer = track(hocuspocusClient(server, 'handbook'));
  const reader = track(hocuspocusClient(server, 'handbook', {
    token: tokenFor(server, { sub: 'reader', rooms: ['doc:*'], read_only: ['doc:handbook'] }),
  }));
  await waitFor('both to sync', () => isSynced(writer) && isSynced(reader));
  assert.deepEqual(writer.events.authenticated, ['read-write']);
  assert.deepEqual(reader.events.authenticated, ['readonly']);
  writer.doc.getText('t').insert(0, 'written by the writer');
  await converged([writer, reader], 'the reader to see the writer\'s edit');
  await waitFor('the writer\'s edit to be acknowledged', () => !writer.provider.hasUnsyncedChanges);

  reader.doc.getText('t').insert(0, 'NOT ALLOWED ');
  writer.doc.getMap('m').set('after', 1);  // a later edit: once the reader has it, its own would have arrived
  await waitFor('the reader to see the later edit', () => state(reader).map.after === 1);
  assert.equal(state(writer).text, 'written by the writer');
  // The reader's change stays unacknowledged (SyncStatus 0): the app can tell it was refused.
  assert.equal(reader.provider.hasUnsyncedChanges, true);
  const late = track(yWebsocketClient(server, 'handbook'));
  await waitFor('a late joiner to sync', () => isSynced(late));
  assert.equal(state(late).text, 'written by the writer');
});

test('a token without the document is denied with a reason, and the socket serves other documents', async () => {
  const { server } = fixture;
  const denied = track(hocuspocusClient(server, 'secret', { token: tokenFor(server, { sub: 'eve', rooms: ['doc:public/*'] }) }));
  await waitFor('the permission denied answer', () => denied.events.denied.length > 0);
  assert.match(denied.events.denied[0], /doc:secret/);
  assert.equal(isSynced(denied), false);
  const forged = track(hocuspocusClient(server, 'public/a', { token: 'not-a-token' }));
  await waitFor('the bad token to be denied', () => forged.events.denied.length > 0);
  const allowed = track(hocuspocusClient(server, 'public/a', { token: tokenFor(server, { sub: 'eve', rooms: ['doc:public/*'] }) }));
  await waitFor('the allowed document to sync', () => isSynced(allowed));
});

test('stateless messages reach the document\'s other providers, not the sender or other documents', async () => {
  const { server } = fixture;
  const ana = track(hocuspocusClient(server, 'signals'));
  const ben = track(hocuspocusClient(server, 'signals'));
  const elsewhere = track(hocuspocusClient(server, 'other-signals'));
  await waitFor('every client to sync', () => [ana, ben, elsewhere].every(isSynced));
  ana.provider.sendStateless(JSON.stringify({ event: 'dragging', node: 'n3' }));
  await waitFor('ben to get ana\'s stateless message', () => ben.events.stateless.length === 1);
  assert.deepEqual(JSON.parse(ben.events.stateless[0]), { event: 'dragging', node: 'n3' });
  ben.provider.sendStateless('pong');
  await waitFor('ana to get ben\'s', () => ana.events.stateless.includes('pong'));
  assert.deepEqual(ana.events.stateless, ['pong']);
  assert.deepEqual(elsewhere.events.stateless, []);
});

test('one socket multiplexes several documents, each with its own token and access', async () => {
  const { server } = fixture;
  const socket = new HocuspocusProviderWebsocket({ url: yjsUrl(server), WebSocketPolyfill: WebSocket });
  const open = (name, token) => {
    const doc = new Y.Doc();
    const events = { authenticated: [], denied: [] };
    const provider = new HocuspocusProvider({
      websocketProvider: socket, name, document: doc, token,
      onAuthenticated: ({ scope }) => events.authenticated.push(scope),
      onAuthenticationFailed: ({ reason }) => events.denied.push(reason),
    });
    provider.attach();
    return track({ kind: 'hocuspocus', doc, provider, events, destroy() { provider.destroy(); doc.destroy(); } });
  };
  const token = tokenFor(server, { sub: 'multi', rooms: ['doc:shared/*'], read_only: ['doc:shared/readonly'] });
  const a = open('shared/a', token);
  const b = open('shared/b', token);
  const readonly = open('shared/readonly', token);
  const refused = open('private', token);
  await waitFor('three documents to sync on one socket', () => [a, b, readonly].every(isSynced));
  await waitFor('the fourth to be denied', () => refused.events.denied.length > 0);
  assert.deepEqual([a, b, readonly].map((c) => c.events.authenticated[0]), ['read-write', 'read-write', 'readonly']);

  // Each document's edits stay in it: y-websocket clients of each see only their own.
  a.doc.getText('t').insert(0, 'in a');
  b.doc.getText('t').insert(0, 'in b');
  const seeA = track(yWebsocketClient(server, 'shared/a'));
  const seeB = track(yWebsocketClient(server, 'shared/b'));
  await converged([a, seeA], 'document a to reach its reader');
  await converged([b, seeB], 'document b to reach its reader');
  assert.equal(state(seeA).text, 'in a');
  assert.equal(state(seeB).text, 'in b');
  socket.destroy();
});
