// tests/yjs/cluster.test.mjs — Yjs documents on several instances (issue 17): two tandem-servers
// sharing Redis and PostgreSQL behind nginx (tests/e2e/lib/cluster.mjs starts all of it).
//
// A document is owned like a room ("doc:{doc}" in the room directory): its owner runs it, and a
// provider connected to the other instance is checked there and forwarded. So clients on both
// instances (y-websocket and Hocuspocus) converge and see each other's awareness; when the owner
// is killed, the survivor's clients are closed 1012, reconnect, and the survivor takes the
// document over from the store with everything that had been acknowledged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { startCluster } from '../e2e/lib/cluster.mjs';
import { converged, hocuspocusClient, isSynced, state, waitFor, yWebsocketClient } from './lib.mjs';

let cluster;
const clients = [];
const track = (client) => { clients.push(client); return client; };

before(async () => {
  cluster = await startCluster({
    binary: process.env.TANDEM_SERVER_BIN,
    webRoot: process.env.TANDEM_WWW_DIR ?? '.',
    extraArgs: ['--rate-per-sec', '100000', '--rate-burst', '100000'],
  });
});
after(async () => {
  for (const client of clients) client.destroy();
  await cluster?.stop();
});

// nginx in front of both instances, as a server for lib.mjs's clients.
const balancer = () => ({ port: Number(new URL(cluster.url).port), jwtSecret: cluster.jwtSecret });

// Whether `client` sees an awareness state announced with `name`.
const sees = (client, name) => [...client.awareness.getStates().values()].some((s) => s.user?.name === name);

test('clients on both instances edit one document, offline edits included, and converge; awareness comes and goes', async (t) => {
  const [a, b] = cluster.servers;
  t.diagnostic(`instances ${a.name} (port ${a.port}) and ${b.name} (port ${b.port})`);
  // Ana first, on a: a takes the document; Ben and Cy on b are forwarded to it.
  const ana = track(yWebsocketClient(a, 'shared'));
  await waitFor('ana to sync', () => isSynced(ana));
  assert.equal(await cluster.ownerOf('doc:shared'), a.name);
  const ben = track(yWebsocketClient(b, 'shared'));
  const cy = track(hocuspocusClient(b, 'shared'));
  await waitFor('ben and cy to sync', () => isSynced(ben) && isSynced(cy), { detail: () => cluster.logs() });

  for (let i = 0; i < 20; ++i) {
    ana.doc.getText('t').insert(0, `a${i} `);
    ben.doc.getMap('m').set(`ben${i}`, i);
    cy.doc.getText('t').insert(cy.doc.getText('t').length, `c${i} `);
  }
  // Ben goes offline and edits; his edits reach the others once he is back.
  ben.provider.disconnect();
  ben.doc.getMap('m').set('offline', 'ben');
  ben.doc.getText('t').insert(0, 'OFFLINE ');
  ana.doc.getMap('m').set('while-ben-was-away', true);
  ben.provider.connect();
  const final = await converged([ana, ben, cy]);
  assert.match(final.text, /OFFLINE /);
  assert.equal(final.map.offline, 'ben');
  assert.equal(final.map['while-ben-was-away'], true);
  assert.equal(Object.keys(final.map).filter((k) => k.startsWith('ben')).length, 20);

  // A late joiner through nginx (either instance) gets the same state.
  const late = track(yWebsocketClient(balancer(), 'shared'));
  await waitFor('the late joiner to sync', () => isSynced(late));
  await converged([ana, late], 'the late joiner to hold the same state');

  // Awareness across instances: announced on a, seen on b (both protocols), gone on close.
  ana.awareness.setLocalStateField('user', { name: 'ana' });
  cy.awareness.setLocalStateField('user', { name: 'cy' });
  await waitFor('ben and cy to see ana', () => sees(ben, 'ana') && sees(cy, 'ana'));
  await waitFor('ana to see cy', () => sees(ana, 'cy'));
  cy.provider.destroy();
  await waitFor('cy to leave ana\'s and ben\'s awareness', () => !sees(ana, 'cy') && !sees(ben, 'cy'));
});

test('the owner killed: the survivor\'s clients reconnect, it takes the document over, nothing acknowledged is lost', async (t) => {
  const [a, b] = cluster.servers;
  const ana = track(yWebsocketClient(a, 'failover'));
  await waitFor('ana to sync', () => isSynced(ana));
  assert.equal(await cluster.ownerOf('doc:failover'), a.name);
  const ben = track(hocuspocusClient(b, 'failover'));   // forwarded to a
  const watcher = track(yWebsocketClient(b, 'failover'));
  await waitFor('ben and the watcher to sync', () => isSynced(ben) && isSynced(watcher));

  // Ben's updates, each acknowledged (stored by the owner) before the next.
  for (let i = 0; i < 20; ++i) {
    ben.doc.getMap('m').set(`ben${i}`, i);
    await waitFor(`ben's update ${i} to be acknowledged`, () => !ben.provider.hasUnsyncedChanges);
  }
  ana.doc.getText('t').insert(0, 'from ana ');
  await waitFor('the watcher to see ana\'s words', () => state(watcher).text.includes('from ana'));
  const acknowledged = state(watcher);  // everything it saw was stored before it was relayed

  await a.kill();
  t.diagnostic(`killed ${a.name}; ${b.name} takes over`);
  ana.provider.disconnect();
  // The survivor learns that a died (instance_ttl), closes its forwarded clients 1012; they
  // reconnect to it and it owns the document now.
  await waitFor(`${b.name} to own the document`, async () => (await cluster.ownerOf('doc:failover')) === b.name,
                { deadlineMs: 60_000, detail: () => cluster.logs() });
  await waitFor('ben and the watcher to sync again', () => isSynced(ben) && isSynced(watcher),
                { deadlineMs: 60_000, detail: () => cluster.logs() });

  // Everything acknowledged is there, for a fresh client too; editing goes on.
  const fresh = track(yWebsocketClient(b, 'failover'));
  await waitFor('a fresh client to sync', () => isSynced(fresh));
  for (const [key, value] of Object.entries(acknowledged.map)) assert.equal(state(fresh).map[key], value, key);
  assert.match(state(fresh).text, /from ana/);
  ben.doc.getMap('m').set('after', 'failover');
  const final = await converged([ben, watcher, fresh]);
  assert.equal(final.map.after, 'failover');
});
