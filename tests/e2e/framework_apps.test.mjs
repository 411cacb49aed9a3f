// tests/e2e/framework_apps.test.mjs — the React and the Vue example apps (examples/react-app on
// tandem-client/react, examples/vue-app on tandem-client/vue), each built once with Vite (both
// builds at once, into one temporary web root: react/ and vue/), served by the real
// tandem-server and opened in Chromium by two people, Ana and Ben, per app. Through the hooks /
// composables only, each page must show: the other one online (each with exactly one
// connection: React StrictMode's double mount must not connect or join twice — the React app is
// built in development mode for that, where StrictMode double-mounts), the other's cursor over
// the board; a node Ana adds; Ana's lock on it as held by Ana on Ben's page, Ben's acquire
// denied and his rename refused (`locked`), Ana's rename under her fencing token, the lock
// free again after her unlock; chat both ways, with Ana's typing indicator on Ben's page. The
// Vue app also disconnects and reconnects Ben (useTandem's disconnect / connect): Ana sees him
// leave and come back, his room joined again.
//
// Needs TANDEM_SERVER_BIN (ctest sets it), the wasm build (build/tandem-pkg, with the React and
// Vue modules) and npm ci (vite, react, vue, @vitejs/plugin-vue; node_modules/tandem-client ->
// build/tandem-pkg). Screenshots in TANDEM_ARTIFACTS_DIR: framework-{react,vue}-{ana,ben}.png.
// Prints each build's time and each app's time from the first navigation to the last check.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { chromiumArgs, chromiumPath, openPerson, pageDiagnostics, waitInPage } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

const WAIT_MS = 20_000;          // deadline for each page condition (each takes well under 1 s idle)
const BUILD_TIMEOUT_MS = 150_000;
const VIEWPORT = { width: 1100, height: 760 };
const root = resolve(import.meta.dirname, '../..');
const viteBin = join(root, 'node_modules/vite/bin/vite.js');
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const APPS = {
  // Development React: StrictMode double-mounts (what `npm run dev` does), the case to prove.
  react: { dir: 'examples/react-app', env: { NODE_ENV: 'development' } },
  vue: { dir: 'examples/vue-app', env: {} },
};

let outDir;
let server;
let browser;
const people = {};  // `${app} ${name}` -> {name, context, page, console}

async function build(app) {
  const { dir, env } = APPS[app];
  const started = performance.now();
  await promisify(execFile)(process.execPath,
    [viteBin, 'build', '--outDir', join(outDir, app), '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: join(root, dir), timeout: BUILD_TIMEOUT_MS, env: { ...process.env, ...env } });
  const assets = await readdir(join(outDir, app, 'assets'));
  console.log(`vite build ${app}: ${Math.round(performance.now() - started)} ms, assets ${assets.join(', ')}`);
  assert.ok(assets.some((name) => name.endsWith('.wasm')), `the ${app} build emits the wasm as an asset`);
}

before(async () => {
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  if (!existsSync(viteBin)) throw new Error(`vite is not installed (${viteBin}): run npm ci at the repo root`);
  for (const module of ['tandem-react.mjs', 'tandem-vue.mjs', 'tandem_core.wasm']) {
    const file = join(root, 'node_modules/tandem-client', module);
    if (!existsSync(file)) throw new Error(`${file} is missing: build the wasm preset, which assembles build/tandem-pkg`);
  }
  await mkdir(artifactsDir, { recursive: true });
  outDir = await mkdtemp(join(tmpdir(), 'tandem-framework-apps-'));
  const { chromium } = await import('playwright-core');
  // The builds (one per app, both at once) while the server and Chromium start; each started
  // one is kept for after() even when another fails.
  const results = await Promise.allSettled([
    startServer({ binary, webRoot: outDir }).then((started) => { server = started; }),
    chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs })
      .then((launched) => { browser = launched; }),
    build('react'),
    build('vue'),
  ]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const diagnostics = () => pageDiagnostics(people, server);

// Waits for fn(arg) in the person's page (a condition with a deadline, never a delay).
const waitUntil = (person, what, fn, arg) => waitInPage(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics });

async function open(app, name, room) {
  const person = await openPerson(browser, name, VIEWPORT);
  person.context.setDefaultTimeout(WAIT_MS);  // clicks and fills wait for their element at most this
  // Counts the page's WebSockets and the subscribe requests sent on them: one each, or the
  // bindings connected or joined twice (what StrictMode's double mount would cause).
  await person.context.addInitScript(() => {
    const counts = (window.tandemSocketCounts = { sockets: 0, subscribes: 0 });
    window.WebSocket = class extends window.WebSocket {
      constructor(...args) {
        super(...args);
        counts.sockets += 1;
      }
      send(data) {
        if (typeof data === 'string') counts.subscribes += data.split('"type":"subscribe"').length - 1;
        return super.send(data);
      }
    };
  });
  people[`${app} ${name}`] = person;
  await person.page.goto(`${server.httpUrl}/${app}/index.html?name=${name}&room=${encodeURIComponent(room)}`);
  return person;
}

const nodeRow = (id) => `#nodes li[data-node="${id}"]`;

async function exercise(app) {
  const room = `workflow:${app}-e2e-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  const ana = await open(app, 'Ana', room);
  const ben = await open(app, 'Ben', room);

  // Connected and joined; each sees both, each user with one connection (no double connect).
  for (const person of [ana, ben]) {
    await waitUntil(person, 'connected and joined', () =>
      document.querySelector('#connection')?.dataset.status === 'open' &&
      document.querySelector('#room-status')?.dataset.status === 'joined');
    await waitUntil(person, 'both online, one connection each', (names) => {
      const items = [...document.querySelectorAll('#members li')];
      return items.map((li) => li.dataset.user).sort().join() === names &&
        items.every((li) => li.dataset.connections === '1');
    }, 'Ana,Ben');
  }
  assert.match(await ana.page.textContent('#connection'), /open · websocket/);
  for (const person of [ana, ben]) {
    assert.deepEqual(await person.page.evaluate(() => window.tandemSocketCounts), { sockets: 1, subscribes: 1 },
      `${person.name}'s page: one WebSocket, one subscribe`);
  }
  assert.equal(await ana.page.getAttribute('#members li[data-self]', 'data-user'), 'Ana');

  // Ana's pointer over the board: Ben sees her cursor there (useOthers).
  await ana.page.locator('#board').hover();
  await waitUntil(ben, "Ana's cursor on the board", () => document.querySelector('#board .cursor[data-user="Ana"]') !== null);

  // Chat: Ana types (Ben sees the indicator), sends; Ben answers.
  await ana.page.fill('#chat-input', 'hello from Ana');
  await waitUntil(ben, 'Ana typing', () => document.querySelector('#typing')?.textContent === 'Ana is typing…');
  await ana.page.click('#chat-send');
  await waitUntil(ben, "Ana's message", () =>
    [...document.querySelectorAll('#chat li')].some((li) => li.textContent.trim() === 'Ana: hello from Ana'));
  await ben.page.fill('#chat-input', 'hi Ana, Ben here');
  await ben.page.click('#chat-send');
  const chatLines = () => [...document.querySelectorAll('#chat li:not([data-pending])')].map((li) => li.textContent.trim());
  for (const person of [ana, ben]) {
    await waitUntil(person, 'both chat messages, in order', (want) => {
      const lines = [...document.querySelectorAll('#chat li:not([data-pending])')].map((li) => li.textContent.trim());
      return JSON.stringify(lines) === JSON.stringify(want);
    }, ['Ana: hello from Ana', 'Ben: hi Ana, Ben here']);
  }
  await waitUntil(ben, 'no typing indicator after the send', () => document.querySelector('#typing')?.textContent === '');
  assert.deepEqual(await ana.page.evaluate(chatLines), ['Ana: hello from Ana', 'Ben: hi Ana, Ben here']);

  // Ana adds a node: both list it.
  await ana.page.fill('#node-label', 'Fetch orders');
  await ana.page.click('#add-node');
  for (const person of [ana, ben]) {
    await waitUntil(person, 'the new node listed', () =>
      [...document.querySelectorAll('#nodes .label')].some((el) => el.textContent === 'Fetch orders'));
  }
  const nodeId = await ana.page.getAttribute('#nodes li[data-node]', 'data-node');
  const anaRow = ana.page.locator(nodeRow(nodeId));
  const benRow = ben.page.locator(nodeRow(nodeId));

  // Ana locks it: hers on her page (with a fence), held by Ana on Ben's.
  await anaRow.locator('.lock').click();
  await waitUntil(ana, 'the lock is Ana\'s', (row) =>
    document.querySelector(`${row} .holder`)?.dataset.status === 'mine', nodeRow(nodeId));
  assert.match(await anaRow.locator('.holder').textContent(), /^locked by you \(fence \d+\)$/);
  await waitUntil(ben, 'the lock held by Ana', (row) => {
    const holder = document.querySelector(`${row} .holder`);
    return holder?.dataset.status === 'held' && holder.textContent === 'locked by Ana';
  }, nodeRow(nodeId));

  // Ben's acquire is denied, his rename refused while Ana holds the node.
  await benRow.locator('.lock').click();
  await waitUntil(ben, 'the acquire denied', (row) =>
    document.querySelector(`${row} .denied`)?.textContent.includes('denied: Ana holds it'), nodeRow(nodeId));
  assert.equal(await benRow.locator('.lock').textContent(), 'Lock');
  await benRow.locator('.rename').fill('Ben was here');
  await benRow.locator('.rename-button').click();
  await waitUntil(ben, 'the rename refused (locked)', (row) =>
    document.querySelector(`${row} .error`)?.textContent.startsWith('locked:'), nodeRow(nodeId));

  // Both pages while Ana holds the node (Ben denied, his rename refused).
  for (const person of [ana, ben]) {
    await person.page.screenshot({ path: join(artifactsDir, `framework-${app}-${person.name.toLowerCase()}.png`),
      fullPage: true, animations: 'disabled' });
    assert.equal(await person.page.textContent('#error'), '');
  }

  // Ana renames under her lock's fence: Ben sees the new label; she unlocks: free on Ben's page.
  await anaRow.locator('.rename').fill('Fetch paid orders');
  await anaRow.locator('.rename-button').click();
  await waitUntil(ben, 'Ana\'s rename', (row) =>
    document.querySelector(`${row} .label`)?.textContent === 'Fetch paid orders', nodeRow(nodeId));
  assert.equal(await anaRow.locator('.error').textContent(), '');
  await anaRow.locator('.lock').click();
  await waitUntil(ben, 'the lock free again', (row) =>
    document.querySelector(`${row} .holder`)?.dataset.status === 'free' && !document.querySelector(`${row} .denied`),
  nodeRow(nodeId));

  if (app === 'vue') {
    // useTandem's disconnect / connect: Ben goes (Ana's list drops him) and comes back, joined again.
    await ben.page.click('#reconnect');
    await waitUntil(ben, 'disconnected', () => document.querySelector('#connection')?.dataset.status === 'idle');
    await waitUntil(ana, 'Ben gone', () =>
      [...document.querySelectorAll('#members li')].map((li) => li.dataset.user).join() === 'Ana');
    await ben.page.click('#reconnect');
    await waitUntil(ben, 'connected and joined again', () =>
      document.querySelector('#connection')?.dataset.status === 'open' &&
      document.querySelector('#room-status')?.dataset.status === 'joined');
    await waitUntil(ana, 'Ben back', () =>
      [...document.querySelectorAll('#members li')].map((li) => li.dataset.user).sort().join() === 'Ana,Ben');
    await waitUntil(ben, 'the chat history after the rejoin', () => document.querySelectorAll('#chat li').length === 2);
  }
  // No errors in either page (React's development build reports misuse there).
  for (const person of [ana, ben]) {
    const errors = person.console.filter((line) => /^\[(error|pageerror)\]/.test(line));
    assert.deepEqual(errors, [], `${person.name}'s console`);
  }
  console.log(`${app}: two pages, presence, cursor, chat, node, lock: ${Math.round(performance.now() - started)} ms`);
  for (const person of [ana, ben]) await person.context.close();
}

test('the React app (tandem-client/react): presence, cursors, a node, its lock, chat between two pages', () =>
  exercise('react'));

test('the Vue app (tandem-client/vue): presence, cursors, a node, its lock, chat between two pages', () =>
  exercise('vue'));
