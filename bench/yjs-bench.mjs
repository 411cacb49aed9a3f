// bench/yjs-bench.mjs — Yjs documents on tandem-server with the real npm clients (issue 17):
// how fast one writer's small updates are stored and reach two readers (a y-websocket and a
// Hocuspocus provider), how long the stored log is afterwards, and how long a late joiner
// takes to sync — from a log the server compacted as it went (ydoc_compact_after 500) and
// from one it did not (a threshold past the run: only join-time answers compact).
//
// Usage: TANDEM_SERVER_BIN=build/native/server/tandem-server node bench/yjs-bench.mjs [UPDATES]
// (default 20000). Prints one line per case and the figures as JSON (docs/PERFORMANCE.md).
import { performance } from 'node:perf_hooks';

import { hocuspocusClient, isSynced, startYjsServer, state, waitFor, yWebsocketClient } from '../tests/yjs/lib.mjs';

const UPDATES = Number(process.argv[2] ?? 20_000);
const ADMIN = 'yjs-bench-admin-token-0123';
const JOINS = 5;

async function logOf(server, doc) {
  const answer = await fetch(`${server.httpUrl}/api/v1/ydocs?prefix=${doc}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return (await answer.json()).ydocs.find((d) => d.doc === doc);
}

async function lateJoinMs(server, doc) {
  const started = performance.now();
  const late = yWebsocketClient(server, doc);
  await waitFor('the late joiner to sync', () => isSynced(late), { deadlineMs: 120_000 });
  const ms = performance.now() - started;
  late.destroy();
  return ms;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function run(name, compactAfter) {
  const server = await startYjsServer(['--rate-per-sec', '1000000', '--rate-burst', '1000000', '--admin-token', ADMIN,
                                       '--ydoc-compact-after', String(compactAfter), '--max-frame-bytes', '16777216',
                                       '--hard-frame-bytes', '16777216']);
  const doc = 'bench';
  const writer = yWebsocketClient(server, doc);
  const readers = [yWebsocketClient(server, doc), hocuspocusClient(server, doc)];
  await waitFor('every client to sync', () => [writer, ...readers].every(isSynced));
  const text = writer.doc.getText('t');
  const started = performance.now();
  for (let i = 0; i < UPDATES; ++i) {
    text.insert(text.length, String(i % 10));
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor('the readers to have every update',
                () => readers.every((r) => r.doc.getText('t').length === UPDATES), { deadlineMs: 300_000 });
  const relayMs = performance.now() - started;
  const log = await logOf(server, doc);
  // The first late joiner reads the log as it is; its answer compacts it (when it is long).
  const firstJoinMs = await lateJoinMs(server, doc);
  await waitFor('the first joiner\'s answer to be stored', async () => (await logOf(server, doc)).updates <= 2);
  const joins = [];
  for (let i = 0; i < JOINS; ++i) joins.push(await lateJoinMs(server, doc));
  const result = {
    case: name, updates: UPDATES, relay_ms: Math.round(relayMs), updates_per_s: Math.round(UPDATES / (relayMs / 1000)),
    log_entries: log.updates, log_bytes: log.bytes, first_join_ms: +firstJoinMs.toFixed(1),
    join_after_compaction_ms: +median(joins).toFixed(1), text_bytes: state(readers[0]).text.length,
  };
  console.log(`${name}: ${UPDATES} updates stored and relayed to 2 readers in ${result.relay_ms} ms ` +
              `(${result.updates_per_s}/s); log ${result.log_entries} entries, ${result.log_bytes} bytes; ` +
              `late join ${result.first_join_ms} ms, then ${result.join_after_compaction_ms} ms (median of ${JOINS})`);
  for (const client of [writer, ...readers]) client.destroy();
  await server.stop();
  return result;
}

const results = [await run('compacting (ydoc_compact_after 500)', 500), await run('join-time compaction only', 1_000_000)];
console.log(JSON.stringify(results, null, 2));
