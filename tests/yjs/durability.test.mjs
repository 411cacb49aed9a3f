// tests/yjs/durability.test.mjs — what a Yjs client saw acknowledged survives a crash, and a
// long log is compacted (issue 17).
//
// kill -9 mid-editing: an update reaches other clients only once it is stored, and a Hocuspocus
// client's unsyncedChanges reach 0 only once its updates are stored; after a restart a fresh
// client gets all of that from the store alone, and the old clients reconnect and converge.
// Compaction: 10,000 small updates leave a short log (GET /api/v1/ydocs), the same state before
// and after a restart, and a quick late join.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

import { converged, hocuspocusClient, isSynced, startYjsServer, state, waitFor, yWebsocketClient } from './lib.mjs';

const servers = [];
const clients = [];
const track = (client) => { clients.push(client); return client; };
after(async () => {
  for (const client of clients) client.destroy();
  for (const server of servers) await server.stop().catch(() => {});
});

const kAdminToken = 'yjs-durability-admin-token';
async function ydoc(server, name) {
  const answer = await fetch(`${server.httpUrl}/api/v1/ydocs?prefix=${encodeURIComponent(name)}`,
                             { headers: { authorization: `Bearer ${kAdminToken}` } });
  assert.equal(answer.status, 200);
  return (await answer.json()).ydocs.find((d) => d.doc === name);
}

test('kill -9 mid-editing loses nothing any client saw acknowledged; the clients reconnect and converge', async () => {
  const server = await startYjsServer(['--rate-per-sec', '100000', '--rate-burst', '100000']);
  servers.push(server);
  const ana = track(yWebsocketClient(server, 'crash'));
  const ben = track(hocuspocusClient(server, 'crash'));
  const watcher = track(yWebsocketClient(server, 'crash'));
  await waitFor('every client to sync', () => [ana, ben, watcher].every(isSynced));

  // Ana types; Ben writes too and waits for each of his updates to be acknowledged.
  let typing = true;
  const typed = (async () => {
    for (let i = 0; typing; ++i) {
      ana.doc.getText('t').insert(ana.doc.getText('t').length, `a${i} `);
      await delay(1);
    }
  })();
  for (let i = 0; i < 20; ++i) {
    ben.doc.getMap('m').set(`ben${i}`, i);
    await waitFor(`ben's update ${i} to be acknowledged`, () => !ben.provider.hasUnsyncedChanges);
  }
  const benAcknowledged = state(ben).map;
  await waitFor('the watcher to see 100 of ana\'s words', () => state(watcher).text.split(' ').length > 100);

  // The crash, in the middle of Ana's typing.
  await server.kill();
  typing = false;
  await typed;
  const seen = state(watcher).text;  // every word the watcher saw was stored first
  ana.provider.disconnect();
  ben.provider.configuration.websocketProvider.disconnect();
  watcher.provider.disconnect();

  await server.start();
  const fresh = track(yWebsocketClient(server, 'crash'));
  await waitFor('a fresh client to sync from the store alone', () => isSynced(fresh));
  const stored = state(fresh);
  assert.ok(stored.text.startsWith(seen), `stored ${stored.text.length} chars, the watcher saw ${seen.length}`);
  for (const [key, value] of Object.entries(benAcknowledged)) assert.equal(stored.map[key], value, key);

  // The old clients come back: their offline state (Ana's words typed as it crashed) merges.
  ana.provider.connect();
  ben.provider.configuration.websocketProvider.connect();
  watcher.provider.connect();
  const together = await converged([ana, ben, watcher, fresh], 'every client to converge after the restart');
  assert.equal(together.text, state(ana).text);
});

test('10,000 small updates leave a compacted log with the same state, and a late join is quick', async () => {
  const server = await startYjsServer(['--rate-per-sec', '100000', '--rate-burst', '100000',
                                       '--admin-token', kAdminToken, '--ydoc-compact-after', '500']);
  servers.push(server);
  const writer = track(yWebsocketClient(server, 'long'));
  const reader = track(hocuspocusClient(server, 'long'));
  await waitFor('both clients to sync', () => isSynced(writer) && isSynced(reader));
  const text = writer.doc.getText('t');
  for (let i = 0; i < 10_000; ++i) {
    text.insert(text.length, String(i % 10));  // one update each
    if (i % 500 === 499) await delay(1);  // let the socket drain now and then
  }
  writer.doc.getMap('m').set('done', true);
  const final = await converged([writer, reader], 'the reader to receive all 10,000 updates');
  assert.equal(final.text.length, 10_000);
  await waitFor('the log to be compacted', async () => (await ydoc(server, 'long')).updates <= 501,
                { detail: () => 'at /api/v1/ydocs' });
  const compacted = await ydoc(server, 'long');
  assert.ok(compacted.last_seq >= 10_000, JSON.stringify(compacted));

  // After a restart the compacted log is all there is: a late joiner reads it.
  writer.provider.disconnect();
  reader.provider.configuration.websocketProvider.disconnect();
  await server.restart();
  const started = performance.now();
  const late = track(yWebsocketClient(server, 'long'));
  await waitFor('the late joiner to sync', () => isSynced(late));
  const joinMs = performance.now() - started;
  assert.deepEqual(state(late), final);
  const reloaded = await ydoc(server, 'long');
  assert.ok(reloaded.updates <= 501, JSON.stringify(reloaded));
  console.log(`compacted log: ${reloaded.updates} update(s), ${reloaded.bytes} bytes for 10,001 updates; ` +
              `late join to synced: ${joinMs.toFixed(1)} ms`);
  // The bound that matters is the log's length above; this one only catches a join that reads
  // the whole history again (seconds), with room for a busy machine.
  assert.ok(joinMs < 5_000, `late join took ${joinMs} ms`);
});
