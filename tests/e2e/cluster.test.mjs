// tests/e2e/cluster.test.mjs — two people on two instances of one cluster, end to end: the demo
// page (web/index.html) in real Chromium, twice (two browser contexts: Ana and Ben), opened
// through nginx in front of two tandem-server instances (e2e-a and e2e-b) that share rooms
// through Redis and one PostgreSQL (docs/SCALING.md; lib/cluster.mjs starts all of it).
//
// Ana and Ben end up on different instances (told by their connection ids, c<n>-<instance>),
// so one of them is a remote member of every room they share. Then, as presence_locks and
// chat_execution check on one instance: each page lists the other as a member and Ana's pointer
// shows on Ben's canvas; Ana adds the sample workflow and both draw it; Ana locks node-3, Ben
// sees it locked by Ana and his own attempt is denied naming her; his takeover request reaches
// her and she releases it to him (and his unlock frees it on both); Ben renames a node inline
// (Ana sees his lock, then the new label) and Ana adds one (Ben sees it); chat from each shows
// on the other, and the page on the instance not owning the chat room, reloaded (and kept on
// the other instance), shows the history; execution updates POSTed to /api/v1/publish through
// nginx (round robin: they reach both instances) move the progress bar on both pages. Finally
// both pages are still on the connection they were placed on: the server closed neither (a
// 1012 would mean a room moved between instances, which nothing here should cause).
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both), and Debian's postgresql, redis
// and nginx. Screenshots (cluster-ana.png, cluster-ben.png) and both instances' whole output
// (cluster-e2e-a.log, cluster-e2e-b.log) go to TANDEM_ARTIFACTS_DIR.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromiumArgs, chromiumPath, openPerson } from './lib/browser.mjs';
import { startCluster } from './lib/cluster.mjs';
import { requireWebRoot } from './lib/www.mjs';

// Deadline for each page condition. Each takes well under a second (a cross-instance hop is a
// Redis publish), but a page load compiles the wasm, slow on a loaded 2-core machine.
const WAIT_MS = 30_000;
const LOAD_MS = 60_000;        // page.goto / reload
const MAX_PLACEMENT_RELOADS = 6;
const CANVAS = { width: 1000, height: 600 };  // the demo's logical canvas (web/room.js)
const CURSOR_TOLERANCE = 4;    // logical units: pointer pixels are rounded to whole units
const VIEWPORT = { width: 1200, height: 1000 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const PUBLISH_KEY = randomBytes(24).toString('hex');
const suffix = randomBytes(4).toString('hex');
const WORKFLOW = `workflow:e2e-${suffix}`;
const CHAT = `chat:e2e-${suffix}`;

let cluster;
let browser;
const people = {};  // name -> {name, context, page, console: [], user, connectionId, instance}

before(async () => {
  const webRoot = requireWebRoot();
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  await mkdir(artifactsDir, { recursive: true });
  cluster = await startCluster({ binary, webRoot, extraArgs: ['--publish-api-key', PUBLISH_KEY, '--log-level', 'debug'] });
  const { chromium } = await import('playwright-core');
  // One Chromium, one context per person: separate storage, like two people's browsers.
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  for (const name of ['Ana', 'Ben']) {
    people[name] = await openPerson(browser, name, VIEWPORT);
  }
});

after(async () => {
  await browser?.close();
  if (cluster) {
    cluster.writeLogs(artifactsDir, 'cluster-');
    await cluster.stop();
  }
});

function diagnostics() {
  const pages = Object.values(people).map((p) =>
    `--- ${p.name} (${p.connectionId ?? 'no connection yet'}) console ---\n${p.console.slice(-40).join('\n')}`).join('\n');
  return `\n${pages}\n${cluster?.logs() ?? ''}`;
}

// Waits for fn(arg) to be truthy in the person's page; on timeout says what was awaited and
// what the page showed (its connection state and the newest lines of its log).
async function waitInPage(person, what, fn, arg) {
  try {
    await person.page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const shown = await person.page.evaluate(() => {
      const text = (selector) => document.querySelector(selector)?.innerText ?? '?';
      const log = [...document.querySelectorAll('#log li')].slice(0, 20).map((li) => li.innerText).join('\n');
      return `state: ${text('#state')} (${text('#connection-id')})\nroom panel:\n${text('#room-panel')}\n` +
        `workflow panel:\n${text('#workflow-panel')}\nchat:\n${text('#chat-panel')}\nlog (newest first):\n${log}`;
    }).catch(() => '?');
    throw new Error(`${person.name}'s page: ${what}: ${error.message}\n--- page ---\n${shown}${diagnostics()}`);
  }
}

const pageUrl = (name) => `${cluster.url}/?${new URLSearchParams({ name, room: WORKFLOW, join: '1', chat: CHAT })}`;

// After a load or reload: connected (through nginx), in the workflow room and the chat; notes
// the connection id the page shows and the instance it names.
async function waitJoined(person) {
  await waitInPage(person, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
  await waitInPage(person, `in ${WORKFLOW}`, () => document.querySelector('[data-testid="room-state"]')?.dataset.state === 'joined');
  await waitInPage(person, `in ${CHAT}`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
  person.user = await person.page.evaluate(() => window.tandemClient.state.user);
  assert.equal(person.user.name, person.name);
  person.connectionId = await person.page.locator('#connection-id').innerText();
  assert.equal(person.connectionId, await person.page.evaluate(() => window.tandemClient.state.connectionId));
  person.instance = cluster.instanceOf(person.connectionId);
  assert.ok(person.instance, `${person.name}'s connection id ${person.connectionId} names one of the instances`);
}

async function openPage(person) {
  await person.page.goto(pageUrl(person.name), { timeout: LOAD_MS });
  await waitJoined(person);
}

// Reloads `mover` until it is on another instance than `stayer`; returns the reloads it took.
//
// Why this is legitimate: nginx balances requests, not users — round robin, no stickiness, as
// docs/OPERATIONS.md configures it — so which instance a page's WebSocket lands on depends only
// on how many requests nginx forwarded before it (the page's own files, its dev token, anyone
// else's requests). Either instance is a correct place for either user; this test is about the
// case where the two are on different ones, so it steers into that case the way a user's reload
// would, and asserts the placement from the connection ids instead of assuming it. A page load
// makes a fixed number of requests, so with two instances an even count would put every
// reload back where it was: one request of the test's own through nginx first (GET /healthz)
// moves the round robin on by one.
async function placeApart(mover, stayer) {
  for (let reloads = 0; ; ++reloads) {
    if (mover.instance !== stayer.instance) return reloads;
    if (reloads === MAX_PLACEMENT_RELOADS) {
      assert.fail(`${mover.name} stayed on ${mover.instance} with ${stayer.name} after ${reloads} reloads${diagnostics()}`);
    }
    const nudge = await fetch(`${cluster.url}/healthz`);
    assert.equal(nudge.status, 200);
    await nudge.body?.cancel();
    await mover.page.reload({ timeout: LOAD_MS });
    await waitJoined(mover);
  }
}

const memberSelector = (userId) => `[data-testid="member"][data-user="${userId}"]`;
const cursorSelector = (userId) => `[data-testid="cursor"][data-user="${userId}"]`;
const badge = (person, resource) => person.page.locator(`[data-testid="lock-badge"][data-resource="${resource}"]`);
const lockButton = (person, resource) => person.page.locator(`[data-testid="lock-button"][data-resource="${resource}"]`);

async function waitForBadge(person, resource, what, text) {
  await waitInPage(person, `${resource} badge "${text}" (${what})`, ({ resource, text }) =>
    document.querySelector(`[data-testid="lock-badge"][data-resource="${resource}"]`)?.textContent === text,
  { resource, text });
}

// The canvas point (logical coordinates) in page pixels, from the canvas box as laid out now.
async function canvasPointToPage(page, { x, y }) {
  const box = await page.locator('[data-testid="canvas"]').boundingBox();
  return { x: box.x + (x / CANVAS.width) * box.width, y: box.y + (y / CANVAS.height) * box.height };
}

async function moveOverCanvas(person, point) {
  const target = await canvasPointToPage(person.page, point);
  await person.page.mouse.move(target.x, target.y, { steps: 4 });
}

// Waits until `viewer` shows `owner`'s cursor near the logical point, in its data attributes
// and where it is drawn (the arrow tip, relative to the viewer's own canvas box).
async function waitForCursorAt(viewer, owner, point) {
  await waitInPage(viewer, `${owner.name}'s cursor near (${point.x}, ${point.y})`, ({ selector, point, canvas, tolerance }) => {
    const cursor = document.querySelector(selector);
    if (!cursor) return false;
    const area = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
    const tip = cursor.getBoundingClientRect();
    const drawn = {
      x: ((tip.left - area.left) / area.width) * canvas.width,
      y: ((tip.top - area.top) / area.height) * canvas.height,
    };
    const near = (p) => Math.abs(p.x - point.x) <= tolerance && Math.abs(p.y - point.y) <= tolerance;
    return near({ x: Number(cursor.dataset.x), y: Number(cursor.dataset.y) }) && near(drawn);
  }, { selector: cursorSelector(owner.user.id), point, canvas: CANVAS, tolerance: CURSOR_TOLERANCE });
  assert.equal(await viewer.page.locator(cursorSelector(owner.user.id)).innerText(), owner.name, 'the cursor is labelled');
}

// The texts of the sent chat messages a page shows, in order.
function chatTexts(person) {
  return person.page.$$eval('[data-testid="chat-message"][data-state="sent"] [data-testid="chat-text"]',
    (items) => items.map((item) => item.textContent));
}

async function sendChat(person, text) {
  await person.page.locator('[data-testid="chat-input"]').fill(text);
  await person.page.locator('[data-testid="chat-send"]').click();
}

async function waitForChat(person, text) {
  await waitInPage(person, `the chat message "${text}"`, (text) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-state="sent"] [data-testid="chat-text"]')]
      .some((m) => m.textContent === text), text);
}

const docLabel = (person, nodeId) => person.page.locator(`[data-testid="doc-node-label"][data-node="${nodeId}"]`);

// The tests below run in order on the same two pages, like one session of two people.

test('through nginx, Ana and Ben land on different instances and each page lists the other', async () => {
  const { Ana: ana, Ben: ben } = people;
  await openPage(ana);
  await openPage(ben);
  const reloads = await placeApart(ben, ana);
  console.log(`# Ana on ${ana.instance} (${ana.connectionId}), Ben on ${ben.instance} (${ben.connectionId}) after ${reloads} reload(s)`);
  assert.notEqual(ana.instance, ben.instance);

  for (const [viewer, other] of [[ana, ben], [ben, ana]]) {
    // Once, with one tab: the connections of Ben's pages before his reloads have left.
    await waitInPage(viewer, `${other.name} listed as a member, with one tab`, (s) =>
      document.querySelector(s)?.dataset.tabs === '1' && document.querySelectorAll('[data-testid="member"]').length === 2,
    memberSelector(other.user.id));
    assert.match(await viewer.page.locator(memberSelector(other.user.id)).innerText(), new RegExp(other.name));
  }
});

test("Ana's pointer shows on Ben's canvas where she points, and Ben's on hers", async () => {
  const { Ana: ana, Ben: ben } = people;
  await moveOverCanvas(ana, { x: 250, y: 150 });
  await waitForCursorAt(ben, ana, { x: 250, y: 150 });
  await moveOverCanvas(ana, { x: 720, y: 430 });
  await waitForCursorAt(ben, ana, { x: 720, y: 430 });
  await moveOverCanvas(ben, { x: 480, y: 260 });
  await waitForCursorAt(ana, ben, { x: 480, y: 260 });
  assert.equal(await ana.page.locator(cursorSelector(ana.user.id)).count(), 0, 'Ana does not see her own cursor');
});

test('Ana adds the sample workflow; both pages draw it and list its nodes', async () => {
  const { Ana: ana, Ben: ben } = people;
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the empty-workflow offer', () => document.querySelector('#nodes-empty')?.hidden === false);
  }
  await ana.page.locator('[data-testid="seed-workflow"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, '4 lock cards, 4 nodes drawn on the canvas and 4 in the list editor', () =>
      document.querySelectorAll('[data-testid="node"]').length === 4 &&
      document.querySelectorAll('[data-testid="graph-node"]').length === 4 &&
      document.querySelectorAll('.graph-edges path').length === 3 &&
      document.querySelectorAll('[data-testid="doc-node"]').length === 4);
    assert.equal(await person.page.locator('[data-testid="graph-node"][data-node="node-3"] strong').innerText(), 'Transform');
  }
});

test('Ana locks node-3: Ben sees it locked by Ana, and his own attempt is denied naming her', async () => {
  const { Ana: ana, Ben: ben } = people;
  await lockButton(ana, 'node-3').click();
  await waitForBadge(ana, 'node-3', 'Ana holds it', 'locked by you');
  await waitInPage(ben, 'node-3 locked by Ana', (id) =>
    document.querySelector('[data-testid="lock-badge"][data-resource="node-3"]')?.dataset.holder === id, ana.user.id);
  assert.equal(await badge(ben, 'node-3').innerText(), 'locked by Ana');
  assert.equal(await badge(ben, 'node-2').innerText(), 'free');
  await waitInPage(ben, 'node-3 drawn locked by Ana', () =>
    document.querySelector('[data-testid="graph-node"][data-node="node-3"] .graph-node-holder')?.textContent === 'Ana');
  await waitInPage(ben, 'Ana shown editing node-3', (s) =>
    /editing node-3/.test(document.querySelector(s)?.textContent ?? ''), memberSelector(ana.user.id));

  await lockButton(ben, 'node-3').click();
  await waitInPage(ben, 'the denial message', () => {
    const box = document.querySelector('[data-testid="lock-message"]');
    return box && !box.hidden && box.dataset.kind === 'denied';
  });
  const message = ben.page.locator('[data-testid="lock-message"]');
  assert.match(await message.innerText(), /Ana is editing node-3/);
  assert.equal(await message.getAttribute('data-resource'), 'node-3');
  assert.ok(await message.locator('[data-testid="takeover"]').isVisible(), 'Request takeover is offered');
  assert.equal(await badge(ben, 'node-3').innerText(), 'locked by Ana', 'the denial changed nothing');
  assert.equal(await badge(ana, 'node-3').innerText(), 'locked by you');
});

test("Ben's takeover request reaches Ana; once she releases, node-3 is Ben's", async () => {
  const { Ana: ana, Ben: ben } = people;
  await ben.page.locator('[data-testid="takeover"]').click();
  await waitInPage(ana, 'the takeover request', () =>
    document.querySelector('[data-testid="lock-message"]')?.dataset.kind === 'takeover-request');
  assert.match(await ana.page.locator('[data-testid="lock-message"]').innerText(), /Ben wants to edit node-3/);
  await ana.page.locator('[data-testid="release"]').click();
  await waitForBadge(ben, 'node-3', 'taken over', 'locked by you');
  await waitForBadge(ana, 'node-3', 'Ben took it', 'locked by Ben');
  assert.equal(await lockButton(ben, 'node-3').innerText(), 'Unlock');
  assert.match(await ben.page.locator('[data-testid="lock-message"]').innerText(), /You now hold node-3/);

  // Ben is done with it: free again on both pages.
  await lockButton(ben, 'node-3').click();
  await waitForBadge(ana, 'node-3', 'Ben unlocked it', 'free');
  await waitForBadge(ben, 'node-3', 'Ben unlocked it', 'free');
});

test("Ben renames a node inline and Ana adds one: each edit shows on the other's page", async () => {
  const { Ana: ana, Ben: ben } = people;
  // The inline edit takes node-2's lock while Ben types: Ana sees it, and her label is read-only.
  await docLabel(ben, 'node-2').click();
  await waitInPage(ana, 'node-2 locked by Ben in the list editor', () =>
    document.querySelector('[data-testid="doc-node"][data-node="node-2"] [data-testid="doc-lock-badge"]')?.dataset.holderName === 'Ben');
  assert.equal(await docLabel(ana, 'node-2').evaluate((input) => input.readOnly), true);
  await docLabel(ben, 'node-2').fill('Fetch paid orders');
  await docLabel(ben, 'node-2').press('Enter');
  await waitInPage(ana, 'the new label in the list editor', () =>
    document.querySelector('[data-testid="doc-node-label"][data-node="node-2"]')?.value === 'Fetch paid orders');
  await waitInPage(ana, 'the new label on the canvas', () =>
    document.querySelector('[data-testid="graph-node"][data-node="node-2"] strong')?.textContent === 'Fetch paid orders');
  await waitInPage(ana, 'node-2 free again', () =>
    document.querySelector('[data-testid="doc-node"][data-node="node-2"] [data-testid="doc-lock-badge"]')?.textContent === 'free');

  await ana.page.locator('[data-testid="node-new-label"]').fill('Post to Slack');
  await ana.page.locator('[data-testid="node-add"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the added node', () =>
      document.querySelectorAll('[data-testid="doc-node"]').length === 5 &&
      [...document.querySelectorAll('[data-testid="doc-node-label"]')].some((input) => input.value === 'Post to Slack') &&
      document.querySelectorAll('[data-testid="graph-node"]').length === 5);
  }
});

const FROM_ANA = 'Hi Ben, I am on the other instance 👋';
const FROM_BEN = 'Hi Ana, I see you fine from here';

test('chat from each shows on the other; the page on the instance not owning the chat, reloaded, shows the history', async () => {
  const { Ana: ana, Ben: ben } = people;
  await sendChat(ana, FROM_ANA);
  await waitForChat(ben, FROM_ANA);
  await sendChat(ben, FROM_BEN);
  await waitForChat(ana, FROM_BEN);
  for (const person of [ana, ben]) {
    await waitForChat(person, FROM_BEN);
    assert.deepEqual(await chatTexts(person), [FROM_ANA, FROM_BEN], `${person.name}'s chat, once each, in order`);
  }

  // Reload the one whose instance does not own the chat room, and keep them apart: the history
  // comes to the reloaded page from the other instance.
  const owner = await cluster.ownerOf(CHAT);
  assert.ok(owner === ana.instance || owner === ben.instance, `the chat room has an owner (${owner})`);
  const [reader, writer] = owner === ana.instance ? [ben, ana] : [ana, ben];
  await reader.page.reload({ timeout: LOAD_MS });
  await waitJoined(reader);
  const reloads = await placeApart(reader, writer);
  console.log(`# ${CHAT} runs on ${owner}; ${reader.name} reloaded onto ${reader.instance} (${reader.connectionId}), ${reloads} more reload(s)`);
  await waitInPage(reader, 'the chat history', () =>
    document.querySelectorAll('[data-testid="chat-message"][data-state="sent"]').length === 2);
  assert.deepEqual(await chatTexts(reader), [FROM_ANA, FROM_BEN]);
  // The reloaded page is a member again (its earlier tab gone), and has the workflow as edited.
  await waitInPage(writer, `${reader.name} listed again, once`, (s) =>
    document.querySelector(s)?.dataset.tabs === '1' && document.querySelectorAll('[data-testid="member"]').length === 2,
  memberSelector(reader.user.id));
  await waitInPage(reader, 'the workflow after the reload', () =>
    document.querySelectorAll('[data-testid="doc-node"]').length === 5 &&
    document.querySelector('[data-testid="doc-node-label"][data-node="node-2"]')?.value === 'Fetch paid orders');
});

test('execution updates published through nginx show on both pages', async () => {
  const { Ana: ana, Ben: ben } = people;
  // Consecutive requests through nginx go to one instance and then the other (round robin, and
  // the pages send none meanwhile), so one of these is forwarded to the room's owner.
  const steps = [
    { status: 'running', progress: 0.3, percent: 30, message: 'fetching page 1' },
    { status: 'running', progress: 0.8, percent: 80, message: 'fetching page 2' },
    { status: 'succeeded', progress: 1, percent: 100, message: 'done' },
  ];
  for (const step of steps) {
    const answer = await cluster.publish(PUBLISH_KEY, {
      type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: step.status, node: 'node-2',
      progress: step.progress, message: step.message,
    });
    assert.ok(answer, 'publish answered');
    for (const person of [ana, ben]) {
      await waitInPage(person, `run-1 at ${step.percent}%`, (percent) =>
        document.querySelector('[data-testid="execution-progress"][data-execution="run-1"]')?.getAttribute('aria-valuenow') === String(percent),
      step.percent);
      await waitInPage(person, `run-1 ${step.status}`, (status) =>
        document.querySelector('[data-testid="execution"][data-execution="run-1"]')?.dataset.status === status, step.status);
    }
  }
  await ana.page.screenshot({ path: join(artifactsDir, 'cluster-ana.png'), fullPage: true, animations: 'disabled' });
  await ben.page.screenshot({ path: join(artifactsDir, 'cluster-ben.png'), fullPage: true, animations: 'disabled' });
});

test('both pages are still on the connections they were placed on, on different instances', async () => {
  for (const person of Object.values(people)) {
    const now = await person.page.evaluate(() => ({
      state: window.tandemClient.state.state, connectionId: window.tandemClient.state.connectionId,
    }));
    // A new connection id means the server closed the page's connection (1012: a room moved).
    if (now.state !== 'open' || now.connectionId !== person.connectionId) {
      assert.fail(`${person.name} was placed on ${person.connectionId}, and is now ${now.state} on ${now.connectionId}${diagnostics()}`);
    }
  }
  assert.notEqual(people.Ana.instance, people.Ben.instance);
});
