// tests/e2e/chat_execution.test.mjs — chat that survives a server restart, and executions
// published over HTTP, end to end: the demo page (web/index.html) in real Chromium, twice
// (Ana and Ben), against the real tandem-server with its SQLite store.
//
//  (a) Ana and Ben share a chat room. Ana sends a message; the server is stopped; while it is
//      down Ana types and sends another, which her page shows as pending; the server starts
//      again on the same port and store → the message is delivered exactly once: once on
//      Ben's page, once on Ana's, once in the history the server sends a fresh subscriber.
//  (b) Ana reloads her page → the chat history is shown.
//  (c) Both join a workflow room; Ana adds a node with the list editor and renames it inline
//      (Ben sees both); an execution_update POSTed to /api/v1/publish with the API key moves
//      the progress bar (30% → 80%) and a published node_update recolours the node.
//  (d) Ben watches an agent room in the agent panel; a producer (Ana's page, through its
//      tandem.mjs client) streams thinking and a node; Ben's Pause / Resume / Cancel reach it.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both). Screenshots go to
// TANDEM_ARTIFACTS_DIR: chat-execution-{ana,ben}.png (desktop), chat-execution-ana-narrow.png,
// chat-execution-pending.png, chat-execution-agent.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startServerAndChromium, openPerson, pageDiagnostics, serverHistory, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 15_000;  // deadline for each page condition (a reconnect after a restart is ~1-2 s)
const VIEWPORT = { width: 1200, height: 1000 };
const NARROW = { width: 390, height: 844 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const PUBLISH_KEY = randomBytes(24).toString('hex');
// Fresh rooms per run, so nothing from an earlier run can interfere.
const suffix = randomBytes(4).toString('hex');
const CHAT = `chat:e2e-${suffix}`;
const WORKFLOW = `workflow:e2e-${suffix}`;
const AGENT = `agent:e2e-${suffix}`;

let server;
let browser;
const people = {};  // name -> {name, context, page, console: []}

before(async () => {
  await mkdir(artifactsDir, { recursive: true });
  ({ server, browser } = await startServerAndChromium({ extraArgs: ['--publish-api-key', PUBLISH_KEY] }));
  for (const name of ['Ana', 'Ben']) {
    people[name] = await openPerson(browser, name, VIEWPORT);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

const pageUrl = (name) =>
  `${server.httpUrl}/?name=${encodeURIComponent(name)}&room=${encodeURIComponent(WORKFLOW)}&chat=${encodeURIComponent(CHAT)}`;

async function openPage(person) {
  await person.page.goto(pageUrl(person.name));
  await waitInPage(person, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
  await waitInPage(person, `in ${CHAT}`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
}

// The texts of the chat messages the page shows, with their state (sent / pending / failed).
function chatLines(person) {
  return person.page.$$eval('[data-testid="chat-message"]', (items) =>
    items.map((item) => ({ text: item.querySelector('[data-testid="chat-text"]').textContent, state: item.dataset.state })));
}

function countText(lines, text, state = 'sent') {
  return lines.filter((line) => line.text === text && line.state === state).length;
}

const publish = (body) => server.publish(PUBLISH_KEY, body);

async function sendChat(person, text) {
  await person.page.locator('[data-testid="chat-input"]').fill(text);
  await person.page.locator('[data-testid="chat-send"]').click();
}

const FIRST = 'Morning! Deploying in five minutes';
const OFFLINE = 'Typed while the server was down 🚀';

test('a chat message sent while the server is down is delivered exactly once after it is back', async () => {
  const { Ana: ana, Ben: ben } = people;
  await openPage(ana);
  await openPage(ben);

  // Typing shows on Ben's page, and ends when Ana sends.
  await ana.page.locator('[data-testid="chat-input"]').pressSequentially('Morn');
  await waitInPage(ben, '"Ana is typing…"', () =>
    document.querySelector('[data-testid="chat-typing"]')?.textContent === 'Ana is typing…');
  await sendChat(ana, FIRST);
  await waitInPage(ben, 'the first message', (text) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="sent"]')].some((m) => m.textContent.includes(text)), FIRST);
  await waitInPage(ben, 'typing cleared', () => document.querySelector('[data-testid="chat-typing"]')?.textContent === '');

  // SIGTERM: the server closes every client with 1012 and exits; both pages reconnect.
  const stopped = server.stop();
  await waitInPage(ana, 'reconnecting', () => document.querySelector('#state')?.dataset.state !== 'open');
  assert.deepEqual(await stopped, { code: 0, signal: null });

  await sendChat(ana, OFFLINE);
  await waitInPage(ana, 'the offline message shown as pending', (text) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="pending"]')].some((m) => m.textContent.includes(text)), OFFLINE);
  assert.match(await ana.page.locator('[data-testid="chat-message"][data-state="pending"] [data-testid="chat-pending"]').textContent(), /sending/);
  await ana.page.screenshot({ path: join(artifactsDir, 'chat-execution-pending.png'), animations: 'disabled' });

  await server.start();  // same port, same store, same secret
  await waitInPage(ana, 'connected again', () => document.querySelector('#state')?.dataset.state === 'open');
  // Delivered and acknowledged: shown as sent, nothing pending any more.
  await waitInPage(ana, 'the offline message delivered', (text) => {
    const items = [...document.querySelectorAll('[data-testid="chat-message"]')];
    return items.some((m) => m.dataset.state === 'sent' && m.textContent.includes(text)) &&
      !items.some((m) => m.dataset.state !== 'sent');
  }, OFFLINE);
  await waitInPage(ben, 'the offline message', (text) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="sent"]')].some((m) => m.textContent.includes(text)), OFFLINE);

  // Exactly once everywhere: the server's history is the record.
  const history = await serverHistory(people.Ben, server, CHAT);
  assert.deepEqual(history.map((m) => m.text), [FIRST, OFFLINE], 'the server stored each message once, in order');
  assert.deepEqual(history.map((m) => m.name), ['Ana', 'Ana']);
  assert.ok(history[1].seq > history[0].seq);
  for (const person of [ana, ben]) {
    const lines = await chatLines(person);
    assert.equal(countText(lines, FIRST), 1, `${person.name} shows the first message once: ${JSON.stringify(lines)}`);
    assert.equal(countText(lines, OFFLINE), 1, `${person.name} shows the offline message once: ${JSON.stringify(lines)}`);
    assert.equal(lines.length, 2, `${person.name} shows nothing else: ${JSON.stringify(lines)}`);
  }
  // Ben's copy carries Ana's name and colour.
  const anaColor = await ana.page.locator('#user-swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
  const benView = ben.page.locator('[data-testid="chat-message"]', { hasText: OFFLINE });
  assert.equal(await benView.locator('.chat-name').textContent(), 'Ana');
  assert.equal(await benView.locator('.chat-name').evaluate((e) => getComputedStyle(e).backgroundColor), anaColor);
});

test('a reload shows the chat history', async () => {
  const { Ana: ana } = people;
  await ana.page.reload();
  await waitInPage(ana, `in ${CHAT} again`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
  await waitInPage(ana, 'the history', () => document.querySelectorAll('[data-testid="chat-message"]').length === 2);
  const lines = await chatLines(ana);
  assert.deepEqual(lines, [{ text: FIRST, state: 'sent' }, { text: OFFLINE, state: 'sent' }]);
});

test('an execution published over HTTP moves the progress bar and recolours a node', async () => {
  const { Ana: ana, Ben: ben } = people;
  for (const person of [ana, ben]) {
    await person.page.locator('[data-testid="join"]').click();
    await waitInPage(person, `in ${WORKFLOW}`, () => document.querySelector('[data-testid="workflow-panel"]')?.dataset.state === 'joined');
  }

  // Ana adds a node with the list editor; both see it.
  await ana.page.locator('[data-testid="node-new-label"]').fill('Fetch orders');
  await ana.page.locator('[data-testid="node-add"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the new node', () =>
      document.querySelector('[data-testid="doc-node-label"]')?.value === 'Fetch orders');
  }
  const nodeId = await ana.page.locator('[data-testid="doc-node"]').getAttribute('data-node');

  // Ana renames it inline (the edit takes the node's lock while she types; Ben sees the badge).
  const label = ana.page.locator('[data-testid="doc-node-label"]');
  await label.click();
  await waitInPage(ben, 'the node locked by Ana', () =>
    document.querySelector('[data-testid="doc-lock-badge"]')?.dataset.holderName === 'Ana');
  await label.fill('Fetch paid orders');
  await label.press('Enter');
  await waitInPage(ben, 'the new label', () =>
    document.querySelector('[data-testid="doc-node-label"]')?.value === 'Fetch paid orders');
  await waitInPage(ben, 'the lock released', () =>
    document.querySelector('[data-testid="doc-lock-badge"]')?.textContent === 'free');

  const progressOf = (person) => person.page.locator('[data-testid="execution-progress"][data-execution="run-1"]');
  const barWidth = (person) => progressOf(person).evaluate((bar) =>
    bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width);

  await publish({ type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: 'running', node: nodeId, progress: 0.3, message: 'fetching page 1' });
  for (const person of [ana, ben]) {
    await waitInPage(person, 'progress 30%', () =>
      document.querySelector('[data-testid="execution-progress"][data-execution="run-1"]')?.getAttribute('aria-valuenow') === '30');
  }
  assert.equal(await ana.page.locator('[data-testid="execution"][data-execution="run-1"]').getAttribute('data-status'), 'running');
  // The bar's width follows (it glides: wait for it to settle).
  await waitInPage(ana, 'the bar at 30%', () => {
    const bar = document.querySelector('[data-testid="execution-progress"][data-execution="run-1"]');
    return Math.abs(bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width - 0.3) < 0.02;
  });
  const before = await barWidth(ana);

  await publish({ type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: 'running', node: nodeId, progress: 0.8 });
  await waitInPage(ana, 'progress 80%', () =>
    document.querySelector('[data-testid="execution-progress"][data-execution="run-1"]')?.getAttribute('aria-valuenow') === '80');
  await waitInPage(ana, 'the bar at 80%', () => {
    const bar = document.querySelector('[data-testid="execution-progress"][data-execution="run-1"]');
    return Math.abs(bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width - 0.8) < 0.02;
  });
  assert.ok(await barWidth(ana) > before + 0.4, 'the bar grew');

  // A published node_update recolours the node on both pages.
  const row = (person) => person.page.locator(`[data-testid="doc-node"][data-node="${nodeId}"]`);
  const idleColor = await row(ana).locator('.status-dot').evaluate((e) => getComputedStyle(e).backgroundColor);
  await publish({ type: 'node_update', room: WORKFLOW, node: nodeId, status: 'succeeded' });
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the node succeeded', (id) =>
      document.querySelector(`[data-testid="doc-node"][data-node="${id}"]`)?.dataset.status === 'succeeded', nodeId);
  }
  const expected = await ana.page.evaluate(() => {
    const probe = document.createElement('span');
    probe.style.color = getComputedStyle(document.documentElement).getPropertyValue('--st-succeeded').trim();
    document.body.append(probe);
    const color = getComputedStyle(probe).color;
    probe.remove();
    return color;
  });
  await waitInPage(ana, 'the dot in the succeeded colour', ({ id, color }) =>
    getComputedStyle(document.querySelector(`[data-testid="doc-node"][data-node="${id}"] .status-dot`)).backgroundColor === color,
  { id: nodeId, color: expected });
  assert.notEqual(expected, idleColor);
  assert.equal(await row(ben).locator('[data-testid="doc-node-status"]').textContent(), 'succeeded');

  await publish({ type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: 'succeeded', progress: 1, message: 'done' });
  await waitInPage(ben, 'the execution succeeded', () =>
    document.querySelector('[data-testid="execution"][data-execution="run-1"]')?.dataset.status === 'succeeded');

  await ana.page.screenshot({ path: join(artifactsDir, 'chat-execution-ana.png'), fullPage: true, animations: 'disabled' });
  await ben.page.screenshot({ path: join(artifactsDir, 'chat-execution-ben.png'), fullPage: true, animations: 'disabled' });
  await ana.page.setViewportSize(NARROW);
  // Nothing sticks out sideways at phone width.
  const overflow = await ana.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at ${NARROW.width} px`);
  await ana.page.screenshot({ path: join(artifactsDir, 'chat-execution-ana-narrow.png'), fullPage: true, animations: 'disabled' });
});

test('the agent panel shows a stream and sends pause, resume and cancel to its producer', async () => {
  const { Ana: ana, Ben: ben } = people;
  await ana.page.setViewportSize(VIEWPORT);
  await ben.page.locator('[data-testid="agent-room"]').fill(AGENT);
  await ben.page.locator('[data-testid="agent-join"]').click();
  await waitInPage(ben, `in ${AGENT}`, () => document.querySelector('[data-testid="agent-state"]')?.dataset.state === 'joined');

  // The producer: a room joined through the page's client (window.tandemClient), recording
  // the controls it receives.
  await ana.page.evaluate(async (room) => {
    const agent = await window.tandemClient.join(room);
    window.agentControls = [];
    agent.on('streamControl', (control) => window.agentControls.push(control));
    agent.stream.send('thinking', { text: 'A trigger, then an HTTP request' });
    agent.stream.send('node_created', { node: { id: 'n1', type: 'trigger', label: 'Start' } });
  }, AGENT);
  await waitInPage(ben, 'two stream events', () => document.querySelectorAll('[data-testid="agent-event"]').length === 2);
  assert.deepEqual(await ben.page.$$eval('[data-testid="agent-event"]', (items) => items.map((i) => i.dataset.event)),
    ['thinking', 'node_created']);
  assert.match(await ben.page.locator('[data-testid="agent-events"]').innerText(), /A trigger, then an HTTP request[\s\S]*Start \(trigger\)/);

  for (const action of ['pause', 'resume', 'cancel']) {
    await ben.page.locator(`[data-testid="agent-${action}"]`).click();
    await waitInPage(ana, `${action} received by the producer`, (action) =>
      window.agentControls.some((c) => c.action === action), action);
  }
  assert.deepEqual(await ana.page.evaluate(() => window.agentControls.map((c) => c.action)), ['pause', 'resume', 'cancel']);
  await waitInPage(ben, 'cancelled', () => document.querySelector('[data-testid="agent-status"]')?.dataset.state === 'cancelled');
  await ben.page.screenshot({ path: join(artifactsDir, 'chat-execution-agent.png'), animations: 'disabled' });
});
