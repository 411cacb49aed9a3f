// tests/e2e/presence_locks.test.mjs — two people in one room, end to end: the demo page
// (web/index.html) in real Chromium, twice (two browser contexts: Ana and Ben), against the
// real tandem-server. Both join one room and see each other as members (a second tab of
// Ana's counts as "2 tabs" of one member); Ana's pointer over the canvas shows up on Ben's
// page where she put it, and follows her; Ana locks node-3 and Ben sees it locked by Ana in
// her colour; Ben's own lock attempt is denied with "Ana is editing node-3"; his takeover
// request reaches Ana, who releases it to him; when Ana closes her page Ben's member list
// drops her at once, and her remaining lock is freed once the server's lock grace has passed.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both). Screenshots of both pages go
// to TANDEM_ARTIFACTS_DIR: presence-locks-ana.png, presence-locks-ben.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startServerAndChromium, openPerson } from './lib/browser.mjs';

const WAIT_MS = 10_000;        // deadline for each page condition (each takes well under 1 s)
const LOCK_GRACE_WAIT_MS = 15_000;  // the server keeps a dropped holder's lock lock_grace (5 s)
const CANVAS = { width: 1000, height: 600 };  // the demo's logical canvas (web/room.js)
const CURSOR_TOLERANCE = 4;    // logical units: pointer pixels are rounded to whole units
const VIEWPORT = { width: 1100, height: 860 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
// A fresh room per run, so nothing from an earlier run on a long-lived server can interfere.
const ROOM = `workflow:e2e-${randomBytes(4).toString('hex')}`;

let server;
let browser;
const people = {};  // name -> {context, page, console: [], user: {id, name, color}}

before(async () => {
  await mkdir(artifactsDir, { recursive: true });
  // One Chromium, one context per person: separate storage, like two people's browsers.
  ({ server, browser } = await startServerAndChromium());
  for (const name of ['Ana', 'Ben']) {
    people[name] = await openPerson(browser, name, VIEWPORT);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  const pages = Object.entries(people)
    .map(([name, p]) => `--- ${name}'s console ---\n${p.console.slice(-40).join('\n')}`).join('\n');
  return `\n${pages}\n--- server ---\n${server.output.slice(-3000)}`;
}

// Waits for fn(arg) to be truthy in the page; on timeout says what was awaited and what the
// page showed.
async function waitInPage(person, what, fn, arg) {
  try {
    await person.page.waitForFunction(fn, arg, { timeout: WAIT_MS });
  } catch (error) {
    const room = await person.page.locator('#room-panel').innerText().catch(() => '?');
    throw new Error(`${person.name}'s page: ${what}: ${error.message}\n--- room panel ---\n${room}${diagnostics()}`);
  }
}

const memberSelector = (userId) => `[data-testid="member"][data-user="${userId}"]`;
const cursorSelector = (userId) => `[data-testid="cursor"][data-user="${userId}"]`;

async function openAndJoin(name) {
  const person = people[name];
  person.name = name;
  await person.page.goto(`${server.httpUrl}/?name=${name}&room=${encodeURIComponent(ROOM)}`);
  await waitInPage(person, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
  assert.equal(await person.page.locator('[data-testid="room-name"]').inputValue(), ROOM, '?room= fills in the room');
  await person.page.locator('[data-testid="join"]').click();
  await waitInPage(person, 'joined', () => document.querySelector('[data-testid="room-state"]')?.dataset.state === 'joined');
  // Who the page is, as the server sees it (the dev token's user).
  person.user = await person.page.evaluate(() => window.tandemClient.state.user);
  assert.equal(person.user.name, name);
  return person;
}

// The canvas point (logical coordinates) under the page's pointer-to-be: page pixels.
async function canvasPointToPage(page, { x, y }) {
  const box = await page.locator('[data-testid="canvas"]').boundingBox();
  return { x: box.x + (x / CANVAS.width) * box.width, y: box.y + (y / CANVAS.height) * box.height };
}

// Waits until `viewer` shows `owner`'s cursor near the logical point, both in its data
// attributes and where it is drawn (the arrow tip, relative to the viewer's own canvas box).
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
  const box = await viewer.page.locator(cursorSelector(owner.user.id)).boundingBox();
  assert.equal(await viewer.page.locator(cursorSelector(owner.user.id)).innerText(), owner.name, 'the cursor is labelled');
  return box;
}

async function moveOverCanvas(person, point) {
  const target = await canvasPointToPage(person.page, point);
  await person.page.mouse.move(target.x, target.y, { steps: 4 });
}

const anaPerson = () => people.Ana;
const benPerson = () => people.Ben;
const badge = (person, resource) => person.page.locator(`[data-testid="lock-badge"][data-resource="${resource}"]`);
const lockButton = (person, resource) => person.page.locator(`[data-testid="lock-button"][data-resource="${resource}"]`);

async function waitForBadge(person, resource, what, text) {
  await waitInPage(person, `${resource} badge "${text}" (${what})`, ({ resource, text }) =>
    document.querySelector(`[data-testid="lock-badge"][data-resource="${resource}"]`)?.textContent === text,
  { resource, text });
}

// The tests below run in order on the same two pages, like one session of two people.

test('Ana and Ben join one room and each page lists the other, in their colour', async () => {
  const ana = await openAndJoin('Ana');
  const ben = await openAndJoin('Ben');
  for (const [viewer, other] of [[ana, ben], [ben, ana]]) {
    await waitInPage(viewer, `${other.name} listed as a member`, (s) => document.querySelector(s), memberSelector(other.user.id));
    const row = viewer.page.locator(memberSelector(other.user.id));
    assert.match(await row.innerText(), new RegExp(other.name));
    assert.equal(await viewer.page.locator('[data-testid="member"]').count(), 2);
    assert.equal(await row.getAttribute('data-tabs'), '1');
    const swatch = await row.locator('.swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(swatch, hexToRgb(other.user.color), `${other.name}'s swatch has their colour`);
  }
});

test('the workflow starts empty; Ana adds the sample workflow and both pages draw it and list its nodes', async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  for (const person of [ana, ben]) {
    await waitInPage(person, 'the empty-workflow offer', () => document.querySelector('#nodes-empty')?.hidden === false);
  }
  await ana.page.locator('[data-testid="seed-workflow"]').click();
  for (const person of [ana, ben]) {
    await waitInPage(person, '4 lock cards and 4 nodes drawn on the canvas', () =>
      document.querySelectorAll('[data-testid="node"]').length === 4 &&
      document.querySelectorAll('[data-testid="graph-node"]').length === 4 &&
      document.querySelectorAll('.graph-edges path').length === 3);
    assert.equal(await person.page.locator('#nodes-empty').isHidden(), true);
    assert.equal(await person.page.locator('[data-testid="graph-node"][data-node="node-3"] strong').innerText(), 'Transform');
  }
  // The nodes lie inside the canvas, left to right.
  const boxes = await ben.page.locator('[data-testid="graph-node"]').evaluateAll((nodes) => {
    const area = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
    return nodes.map((n) => n.getBoundingClientRect()).map((b) => ({
      inside: b.left >= area.left && b.right <= area.right && b.top >= area.top && b.bottom <= area.bottom, left: b.left }));
  });
  assert.ok(boxes.every((b) => b.inside), `every node inside the canvas: ${JSON.stringify(boxes)}`);
  assert.deepEqual(boxes.map((b) => b.left), [...boxes.map((b) => b.left)].sort((a, b) => a - b));
});

test("a second tab of Ana's is one member with \"2 tabs\" on Ben's page, until it closes", async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  const secondTab = { name: 'Ana (second tab)', page: await ana.context.newPage() };
  secondTab.page.on('console', (message) => ana.console.push(`[tab 2 ${message.type()}] ${message.text()}`));
  await secondTab.page.goto(`${server.httpUrl}/?name=Ana&room=${encodeURIComponent(ROOM)}`);
  await waitInPage(secondTab, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
  await secondTab.page.locator('[data-testid="join"]').click();
  await waitInPage(ben, 'Ana with 2 tabs', (s) => document.querySelector(s)?.dataset.tabs === '2', memberSelector(ana.user.id));
  assert.match(await ben.page.locator(memberSelector(ana.user.id)).innerText(), /2 tabs/);
  assert.equal(await ben.page.locator('[data-testid="member"]').count(), 2, 'still two members');
  await secondTab.page.close();
  await waitInPage(ben, 'Ana back to 1 tab', (s) => document.querySelector(s)?.dataset.tabs === '1', memberSelector(ana.user.id));
  assert.doesNotMatch(await ben.page.locator(memberSelector(ana.user.id)).innerText(), /tabs/);
});

test("Ana's pointer shows on Ben's canvas where she points, follows her, and leaves with her", async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  const first = { x: 250, y: 150 };
  const second = { x: 720, y: 430 };
  await moveOverCanvas(ana, first);
  const firstBox = await waitForCursorAt(ben, ana, first);
  await moveOverCanvas(ana, second);
  const secondBox = await waitForCursorAt(ben, ana, second);
  assert.ok(secondBox.x > firstBox.x + 100 && secondBox.y > firstBox.y + 50,
    `the cursor moved right and down on Ben's page (${JSON.stringify(firstBox)} -> ${JSON.stringify(secondBox)})`);
  assert.equal(await ana.page.locator('[data-testid="cursor"]').count(), 0, 'Ana does not see her own cursor');

  // Her pointer leaves the canvas: her cursor is withdrawn from Ben's canvas.
  await ana.page.mouse.move(2, 2);
  await waitInPage(ben, "Ana's cursor hidden once her pointer left the canvas", (s) => !document.querySelector(s),
    cursorSelector(ana.user.id));

  // And the other way round.
  await moveOverCanvas(ben, { x: 480, y: 260 });
  await waitForCursorAt(ana, ben, { x: 480, y: 260 });
});

test('Ana locks node-3: Ben sees it locked by Ana, and his own attempt is denied naming her', async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  await lockButton(ana, 'node-3').click();
  await waitForBadge(ana, 'node-3', 'Ana holds it', 'locked by you');
  assert.equal(await lockButton(ana, 'node-3').innerText(), 'Unlock');
  await waitInPage(ben, 'node-3 locked by Ana', (id) =>
    document.querySelector('[data-testid="lock-badge"][data-resource="node-3"]')?.dataset.holder === id, ana.user.id);
  assert.equal(await badge(ben, 'node-3').innerText(), 'locked by Ana');
  assert.equal(await badge(ben, 'node-3').evaluate((e) => getComputedStyle(e).backgroundColor), hexToRgb(ana.user.color));
  assert.equal(await badge(ben, 'node-2').innerText(), 'free');
  // The node on Ben's canvas wears Ana's name.
  await waitInPage(ben, 'node-3 drawn locked by Ana', () =>
    document.querySelector('[data-testid="graph-node"][data-node="node-3"] .graph-node-holder')?.textContent === 'Ana');
  // Ana's presence says which node she edits; Ben's member list shows it.
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

  // Both pointers on the canvas for the screenshots.
  await moveOverCanvas(ana, { x: 610, y: 330 });
  await moveOverCanvas(ben, { x: 380, y: 200 });
  await waitForCursorAt(ben, ana, { x: 610, y: 330 });
  await waitForCursorAt(ana, ben, { x: 380, y: 200 });
  await ana.page.screenshot({ path: join(artifactsDir, 'presence-locks-ana.png'), fullPage: true, animations: 'disabled' });
  await ben.page.screenshot({ path: join(artifactsDir, 'presence-locks-ben.png'), fullPage: true, animations: 'disabled' });
});

test("Ben's takeover request reaches Ana; once she releases, node-3 is Ben's", async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  await ben.page.locator('[data-testid="takeover"]').click();
  await waitInPage(ana, 'the takeover request', () =>
    document.querySelector('[data-testid="lock-message"]')?.dataset.kind === 'takeover-request');
  assert.match(await ana.page.locator('[data-testid="lock-message"]').innerText(), /Ben wants to edit node-3/);
  await ana.page.locator('[data-testid="release"]').click();
  await waitForBadge(ben, 'node-3', 'taken over', 'locked by you');
  await waitForBadge(ana, 'node-3', 'Ben took it', 'locked by Ben');
  assert.equal(await lockButton(ben, 'node-3').innerText(), 'Unlock');
  assert.match(await ben.page.locator('[data-testid="lock-message"]').innerText(), /You now hold node-3/);
});

test("Ana closes her page: Ben's list drops her at once, her lock only after the grace", async () => {
  const [ana, ben] = [anaPerson(), benPerson()];
  await lockButton(ana, 'node-1').click();
  await waitForBadge(ben, 'node-1', 'Ana holds it', 'locked by Ana');
  await moveOverCanvas(ana, { x: 100, y: 500 });
  await waitForCursorAt(ben, ana, { x: 100, y: 500 });

  await ana.page.close();
  await waitInPage(ben, 'Ana gone from the members', (s) => !document.querySelector(s), memberSelector(ana.user.id));
  assert.equal(await ben.page.locator('[data-testid="member"]').count(), 1);
  assert.equal(await ben.page.locator(cursorSelector(ana.user.id)).count(), 0, "Ana's cursor is gone");
  assert.equal(await badge(ben, 'node-3').innerText(), 'locked by you', "Ben's lock is untouched");
  try {
    await ben.page.waitForFunction(() =>
      document.querySelector('[data-testid="lock-badge"][data-resource="node-1"]')?.textContent === 'free',
    null, { timeout: LOCK_GRACE_WAIT_MS });
  } catch (error) {
    throw new Error(`node-1 never became free on Ben's page after Ana left: ${error.message}${diagnostics()}`);
  }
});

// "#e91e63" -> "rgb(233, 30, 99)", as getComputedStyle reports colours.
function hexToRgb(hex) {
  const full = hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(full.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}
