// tests/yjs/collaboration.test.mjs — two y-websocket clients and one Hocuspocus client edit one
// Yjs document on tandem-server (issue 17): concurrent edits of a Y.Text and a Y.Map converge,
// edits made offline arrive after the reconnect, a late joiner gets the same state, awareness
// states appear at the others and disappear when their connection closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { converged, hocuspocusClient, isSynced, serverPerFile, state, waitFor, yWebsocketClient } from './lib.mjs';

const fixture = serverPerFile();
const track = (client) => fixture.track(client);

test('three clients of both protocols converge, also after offline edits, and a late joiner catches up', async () => {
  const { server } = fixture;
  const ana = track(yWebsocketClient(server, 'notes'));
  const ben = track(yWebsocketClient(server, 'notes'));
  const cleo = track(hocuspocusClient(server, 'notes'));
  await waitFor('every client to sync', () => [ana, ben, cleo].every(isSynced));
  assert.deepEqual(cleo.events.authenticated, ['read-write']);

  // Concurrent edits, each client its own, in the same moment.
  ana.doc.getText('t').insert(0, 'ana ');
  ben.doc.getText('t').insert(0, 'ben ');
  cleo.doc.getText('t').insert(0, 'cleo ');
  ana.doc.getMap('m').set('ana', 1);
  ben.doc.getMap('m').set('ben', { nested: [1, 2, 3] });
  cleo.doc.getMap('m').set('cleo', 'three');
  ana.doc.getMap('m').set('shared', 'from ana');
  cleo.doc.getMap('m').set('shared', 'from cleo');
  const together = await converged([ana, ben, cleo]);
  for (const word of ['ana ', 'ben ', 'cleo ']) assert.ok(together.text.includes(word), together.text);
  assert.deepEqual(Object.keys(together.map).sort(), ['ana', 'ben', 'cleo', 'shared']);

  // Ben goes offline and edits; the others edit meanwhile.
  ben.provider.disconnect();
  await waitFor('ben to be offline', () => !ben.provider.wsconnected);
  ben.doc.getText('t').insert(0, 'offline-ben ');
  ben.doc.getMap('m').set('offline', true);
  ana.doc.getText('t').insert(ana.doc.getText('t').length, ' while-ben-was-away');
  cleo.doc.getMap('m').delete('cleo');
  await waitFor('ana and cleo to see each other', () => JSON.stringify(state(ana)) === JSON.stringify(state(cleo)));
  ben.provider.connect();
  const after = await converged([ana, ben, cleo], 'the offline edits to arrive everywhere');
  assert.ok(after.text.startsWith('offline-ben '), after.text);
  assert.ok(after.text.endsWith(' while-ben-was-away'), after.text);
  assert.equal(after.map.offline, true);
  assert.equal(after.map.cleo, undefined);

  // A late joiner of each protocol gets exactly that state.
  const dana = track(yWebsocketClient(server, 'notes'));
  const eve = track(hocuspocusClient(server, 'notes'));
  await waitFor('the late joiners to sync', () => isSynced(dana) && isSynced(eve));
  await converged([ana, dana, eve], 'the late joiners to hold the document');
});

test('awareness states appear at the others and disappear when a connection closes', async () => {
  const { server } = fixture;
  const ana = track(yWebsocketClient(server, 'cursors'));
  const ben = track(yWebsocketClient(server, 'cursors'));
  const cleo = track(hocuspocusClient(server, 'cursors'));
  await waitFor('every client to sync', () => [ana, ben, cleo].every(isSynced));
  ana.awareness.setLocalStateField('user', { name: 'Ana', cursor: 3 });
  cleo.awareness.setLocalStateField('user', { name: 'Cleo', cursor: 7 });
  const names = (client) => [...client.awareness.getStates().values()].map((s) => s.user?.name).filter(Boolean).sort();
  await waitFor('ben to see ana and cleo', () => JSON.stringify(names(ben)) === '["Ana","Cleo"]',
                { detail: () => JSON.stringify(names(ben)) });
  await waitFor('cleo to see ana', () => names(cleo).includes('Ana'), { detail: () => JSON.stringify(names(cleo)) });

  // Ana's connection closes (no goodbye from the client: the server removes her state).
  ana.provider.ws.terminate();
  ana.provider.shouldConnect = false;
  await waitFor('ana to disappear at ben and cleo', () => !names(ben).includes('Ana') && !names(cleo).includes('Ana'),
                { detail: () => `${JSON.stringify(names(ben))} ${JSON.stringify(names(cleo))}` });
  assert.deepEqual(names(ben), ['Cleo']);
});
