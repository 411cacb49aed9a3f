// tests/e2e/sse_fallback.test.mjs — the Server-Sent Events fallback (PROTOCOL.md §5.5) end to
// end: the demo page (web/index.html) in real Chromium, twice (Ana and Ben), against the real
// tandem-server behind nginx configured with docs/OPERATIONS.md's block (tests/support/nginx.sh)
// plus its --refuse-upgrades rule: every WebSocket upgrade is answered 403, as by a proxy that
// lets no WebSocket through. The pages connect with tandem.mjs's defaults (WebSocket,
// then SSE):
//  (a) both show "Connected · SSE" and hold no WebSocket (the shared notes, Yjs over the
//      connection, say they need one);
//  (b) both join one workflow room and list each other; Ana adds the sample workflow and locks
//      node-3, Ben sees it locked by Ana and his own attempt is denied;
//  (c) chat goes both ways; Ana adds a node and renames it inline, Ben sees both;
//  (d) the server stops (its streams end with close 1012); Ana sends a chat message while it is
//      down; it starts again on the same port and store; both pages are back over SSE and the
//      message is there exactly once: once on each page, once in the server's history.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both) and Debian's nginx. Screenshots
// go to TANDEM_ARTIFACTS_DIR: sse-fallback-{ana,ben}.png.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startServerAndChromium, openPerson, pageDiagnostics, serverHistory, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 30_000;  // deadline for each page condition (a reconnect through two refusals is ~1-3 s)
const VIEWPORT = { width: 1200, height: 1000 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const nginxScript = join(repoRoot, 'tests', 'support', 'nginx.sh');
// Fresh rooms per run, so nothing from an earlier run can interfere.
const suffix = randomBytes(4).toString('hex');
const CHAT = `chat:sse-${suffix}`;
const WORKFLOW = `workflow:sse-${suffix}`;

let server;
let browser;
let nginxDir;
let proxyUrl;  // nginx: http://127.0.0.1:PORT
const people = {};  // name -> {name, context, page, console: [], user}

function run(command, args) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

// What nginx answers a WebSocket upgrade of /ws: its HTTP status (101 when it went through).
function upgradeStatus() {
  return new Promise((resolve, reject) => {
    const probe = request(`${proxyUrl}/ws`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
      timeout: 2_000,
    });
    probe.on('upgrade', (response, socket) => { socket.destroy(); resolve(response.statusCode); });
    probe.on('response', (response) => { response.resume(); resolve(response.statusCode); });
    probe.on('timeout', () => probe.destroy(new Error('timeout')));
    probe.on('error', reject);
    probe.end();
  });
}

// nginx as docs/OPERATIONS.md configures it, answering every WebSocket upgrade 403.
async function startRefusingProxy() {
  nginxDir = await mkdtemp(join(tmpdir(), 'tandem-e2e-sse-nginx-'));
  proxyUrl = await run('bash', [nginxScript, 'start', '--refuse-upgrades', nginxDir, String(server.port)]);
}

before(async () => {
  await mkdir(artifactsDir, { recursive: true });
  ({ server, browser } = await startServerAndChromium());
  await startRefusingProxy();
  for (const name of ['Ana', 'Ben']) people[name] = await openPerson(browser, name, VIEWPORT);
});

after(async () => {
  await browser?.close();
  if (nginxDir) await run('bash', [nginxScript, 'stop', nginxDir]).catch(() => {});
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

const memberSelector = (userId) => `[data-testid="member"][data-user="${userId}"]`;
const lockButton = (person, resource) => person.page.locator(`[data-testid="lock-button"][data-resource="${resource}"]`);
const badge = (person, resource) => person.page.locator(`[data-testid="lock-badge"][data-resource="${resource}"]`);

async function waitConnectedOverSse(person) {
  await waitInPage(person, 'connected over SSE', () => {
    const state = document.querySelector('#state');
    return state?.dataset.state === 'open' && state.dataset.transport === 'sse';
  });
}

// The texts of the chat messages the page shows, with their state (sent / pending / failed).
function chatLines(person) {
  return person.page.$$eval('[data-testid="chat-message"]', (items) =>
    items.map((item) => ({ text: item.querySelector('[data-testid="chat-text"]').textContent, state: item.dataset.state })));
}

const countSent = (lines, text) => lines.filter((line) => line.text === text && line.state === 'sent').length;

async function sendChat(person, text) {
  await person.page.locator('[data-testid="chat-input"]').fill(text);
  await person.page.locator('[data-testid="chat-send"]').click();
}

async function waitForChat(person, text) {
  await waitInPage(person, `the chat message "${text}"`, (wanted) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="sent"]')].some((m) => m.textContent.includes(wanted)), text);
}

// The tests below run in order on the same two pages, like one session of two people.

test('behind a proxy that refuses WebSocket upgrades the demo connects over SSE', async () => {
  assert.equal(await upgradeStatus(), 403, 'the proxy refuses upgrades');
  for (const person of Object.values(people)) {
    await person.page.goto(`${proxyUrl}/?name=${person.name}&room=${encodeURIComponent(WORKFLOW)}&chat=${encodeURIComponent(CHAT)}`);
    await waitConnectedOverSse(person);
    assert.equal(await person.page.locator('#state').textContent(), 'Connected · SSE');
    const seen = await person.page.evaluate(() => ({
      transport: window.tandemClient.transport, socket: window.tandemClient.socket ?? null, user: window.tandemClient.state.user,
    }));
    assert.deepEqual({ transport: seen.transport, socket: seen.socket }, { transport: 'sse', socket: null });
    person.user = seen.user;
    assert.equal(person.user.name, person.name);
    // The shared notes (Yjs over the Tandem connection) say they need a WebSocket.
    await waitInPage(person, 'the notes panel saying it needs a WebSocket', () =>
      document.querySelector('#notes-panel')?.dataset.state === 'no-websocket');
  }
});

test('over SSE both see each other in the room, and a lock taken by one', async () => {
  const { Ana: ana, Ben: ben } = people;
  for (const person of [ana, ben]) await person.page.locator('[data-testid="join"]').click();
  for (const [viewer, other] of [[ana, ben], [ben, ana]]) {
    await waitInPage(viewer, `${other.name} listed as a member`, (s) => document.querySelector(s), memberSelector(other.user.id));
    assert.equal(await viewer.page.locator('[data-testid="member"]').count(), 2);
  }

  await ana.page.locator('[data-testid="seed-workflow"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the sample workflow', () => document.querySelectorAll('[data-testid="node"]').length === 4);
  }
  await lockButton(ana, 'node-3').click();
  await waitInPage(ana, 'node-3 locked by Ana', () =>
    document.querySelector('[data-testid="lock-badge"][data-resource="node-3"]')?.textContent === 'locked by you');
  await waitInPage(ben, 'node-3 locked by Ana', (id) =>
    document.querySelector('[data-testid="lock-badge"][data-resource="node-3"]')?.dataset.holder === id, ana.user.id);
  assert.equal(await badge(ben, 'node-3').innerText(), 'locked by Ana');
  await lockButton(ben, 'node-3').click();
  await waitInPage(ben, 'the denial', () => {
    const box = document.querySelector('[data-testid="lock-message"]');
    return box && !box.hidden && box.dataset.kind === 'denied';
  });
  assert.match(await ben.page.locator('[data-testid="lock-message"]').innerText(), /Ana is editing node-3/);
  await lockButton(ana, 'node-3').click();  // released again for the edits below
  await waitInPage(ben, 'node-3 free again', () =>
    document.querySelector('[data-testid="lock-badge"][data-resource="node-3"]')?.textContent === 'free');
});

test('over SSE chat goes both ways and workflow edits reach the other page', async () => {
  const { Ana: ana, Ben: ben } = people;
  for (const person of [ana, ben]) {
    await waitInPage(person, `in ${CHAT}`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
  }
  await sendChat(ana, 'Hello from Ana over SSE');
  await waitForChat(ben, 'Hello from Ana over SSE');
  await sendChat(ben, 'Hi Ana, Ben here');
  await waitForChat(ana, 'Hi Ana, Ben here');

  await ana.page.locator('[data-testid="node-new-label"]').fill('Fetch orders');
  await ana.page.locator('[data-testid="node-add"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the new node', () =>
      [...document.querySelectorAll('[data-testid="doc-node-label"]')].some((input) => input.value === 'Fetch orders'));
  }
  const nodeId = await ana.page.$$eval('[data-testid="doc-node-label"]',
    (inputs) => inputs.find((input) => input.value === 'Fetch orders').dataset.node);
  const input = ana.page.locator(`[data-testid="doc-node-label"][data-node="${nodeId}"]`);
  await input.click();
  await input.fill('Fetch paid orders');
  await input.press('Enter');
  await waitInPage(ben, 'the renamed node', (id) =>
    document.querySelector(`[data-testid="doc-node-label"][data-node="${id}"]`)?.value === 'Fetch paid orders', nodeId);
  for (const person of [ana, ben]) {
    await person.page.screenshot({ path: join(artifactsDir, `sse-fallback-${person.name.toLowerCase()}.png`), fullPage: true, animations: 'disabled' });
  }
});

test('chat sent over SSE while the server is down arrives exactly once after it is back', async () => {
  const { Ana: ana, Ben: ben } = people;
  const OFFLINE = 'Sent while the server was down (SSE) 🚀';
  const AFTER = 'And one more after it';

  const stopped = server.stop();  // SIGTERM: the streams end with close 1012
  for (const person of [ana, ben]) {
    await waitInPage(person, 'no longer connected', () => document.querySelector('#state')?.dataset.state !== 'open');
  }
  assert.deepEqual(await stopped, { code: 0, signal: null });
  await sendChat(ana, OFFLINE);
  await waitInPage(ana, 'the offline message shown as pending', (text) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="pending"]')].some((m) => m.textContent.includes(text)), OFFLINE);

  await server.start();  // same port, same store, same secret; nginx still refuses upgrades
  for (const person of [ana, ben]) await waitConnectedOverSse(person);
  await waitForChat(ben, OFFLINE);
  await waitInPage(ana, 'the offline message acknowledged', (text) => {
    const items = [...document.querySelectorAll('[data-testid="chat-message"]')];
    return items.some((m) => m.dataset.state === 'sent' && m.textContent.includes(text)) && !items.some((m) => m.dataset.state !== 'sent');
  }, OFFLINE);
  // A later message arrives after any late duplicate would have: then count.
  await sendChat(ana, AFTER);
  for (const person of [ana, ben]) await waitForChat(person, AFTER);
  for (const person of [ana, ben]) {
    const lines = await chatLines(person);
    assert.equal(countSent(lines, OFFLINE), 1, `${person.name} shows the offline message once: ${JSON.stringify(lines)}`);
  }
  const history = (await serverHistory(people.Ben, server, CHAT)).map((m) => m.text);
  assert.equal(history.filter((text) => text === OFFLINE).length, 1, `stored once: ${JSON.stringify(history)}`);
  assert.deepEqual(history.slice(-2), [OFFLINE, AFTER]);
});
