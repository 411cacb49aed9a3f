// tests/yjs/lib.mjs — real Yjs clients (y-websocket 3, @hocuspocus/provider 4, from the repo's
// node_modules) against a real tandem-server, for the tests in this folder.
//
// Every client edits the same two shared types, y.getText('t') and y.getMap('m'); state(client)
// reads both, so tests compare clients (and late joiners) with one deepEqual. Waits are on
// conditions with generous deadlines (the machine may be busy), never on sleeps.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { HocuspocusProvider } from '@hocuspocus/provider';
import { after, before } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { startServer } from '../e2e/lib/server.mjs';
import { mintToken } from '../e2e/lib/jwt.mjs';

export const kDeadlineMs = 30_000;

// A server with its own store and secret (extraArgs: more flags): SQLite, or — when ctest runs
// a test again on the PostgreSQL fixture (TANDEM_TEST_PG_URL_FILE names the file with its URL) —
// a fresh database on that server (the fixture's server goes at the end of the run, with it).
export function startYjsServer(extraArgs = []) {
  let storeArgs;
  if (process.env.TANDEM_TEST_PG_URL_FILE) {
    const serverUrl = readFileSync(process.env.TANDEM_TEST_PG_URL_FILE, 'utf8').trim();
    const name = `tandem_yjs_${randomBytes(6).toString('hex')}`;
    execFileSync('psql', [serverUrl, '-q', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
    storeArgs = ['--store', 'postgres', '--store-url', serverUrl.replace(/\/postgres(\?|$)/, `/${name}$1`)];
  }
  return startServer({ binary: process.env.TANDEM_SERVER_BIN, webRoot: process.env.TANDEM_WWW_DIR ?? '.', extraArgs,
                       storeArgs });
}

// One server for a test file (node:test hooks): started before its tests; every client given
// to track() is destroyed, and the server stopped, after them. Tests read fixture.server.
export function serverPerFile(extraArgs = []) {
  const fixture = {
    server: null,
    clients: [],
    track(client) { fixture.clients.push(client); return client; },
  };
  before(async () => { fixture.server = await startYjsServer(extraArgs); });
  after(async () => {
    for (const client of fixture.clients) client.destroy();
    await fixture.server?.stop();
  });
  return fixture;
}

// A token for `server` (claims over the defaults: every room).
export function tokenFor(server, claims = {}) {
  return mintToken(server.jwtSecret, { sub: 'yjs-test', name: 'Yjs test', rooms: ['*'], ...claims });
}

export const yjsUrl = (server) => `ws://127.0.0.1:${server.port}/yjs`;

// A y-websocket client of document `name` (its doc, provider and the close events it saw).
export function yWebsocketClient(server, name, { token = tokenFor(server), connect = true } = {}) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(yjsUrl(server), name, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token },
    disableBc: true,  // clients in one process must talk through the server only
    connect,
  });
  const closes = [];
  provider.on('connection-close', (event) => { if (event) closes.push({ code: event.code, reason: String(event.reason) }); });
  return { kind: 'y-websocket', doc, provider, awareness: provider.awareness, closes,
           destroy() { provider.destroy(); doc.destroy(); } };
}

// A Hocuspocus client of document `name` (its own socket).
export function hocuspocusClient(server, name, { token = tokenFor(server) } = {}) {
  const doc = new Y.Doc();
  const events = { authenticated: [], denied: [], stateless: [] };
  const provider = new HocuspocusProvider({
    url: yjsUrl(server), name, document: doc, token, WebSocketPolyfill: WebSocket,
    onAuthenticated: ({ scope }) => events.authenticated.push(scope),
    onAuthenticationFailed: ({ reason }) => events.denied.push(reason),
    onStateless: ({ payload }) => events.stateless.push(payload),
  });
  return { kind: 'hocuspocus', doc, provider, awareness: provider.awareness, events,
           destroy() { provider.destroy(); doc.destroy(); } };
}

// `value` with every object's keys sorted (Y.Map keys come in each client's own order).
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted(value[key])]));
  return value;
}

// What a client's document holds (map keys sorted, so states compare as JSON text).
export function state(client) {
  return { text: client.doc.getText('t').toString(), map: sorted(client.doc.getMap('m').toJSON()) };
}

// Resolves once `condition()` is truthy; rejects naming `what` (and `detail()`) at the deadline.
export async function waitFor(what, condition, { deadlineMs = kDeadlineMs, detail = () => '' } = {}) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await delay(20);
  }
}

export const isSynced = (client) => client.provider.synced === true;

// Waits until every client holds the same state as the first; returns it.
export async function converged(clients, what = 'the clients to converge') {
  await waitFor(what, () => clients.every((c) => JSON.stringify(state(c)) === JSON.stringify(state(clients[0]))),
                { detail: () => JSON.stringify(clients.map(state)).slice(0, 2000) });
  return state(clients[0]);
}

// The value of the Prometheus counter `name` on /metrics (0 when absent).
export async function metric(server, name) {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
