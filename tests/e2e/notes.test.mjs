// tests/e2e/notes.test.mjs — the demo page's shared notes (web/notes.js) in real Chromium: two
// people (Ana and Ben, two browser contexts) on the same workflow room edit the Yjs document
// notes/{id} through the real tandem-server, over each page's Tandem connection (issue 17).
//
//  (a) Both panels sync; what Ana types shows on Ben's page; Ben types at the start while Ana's
//      caret stays after her text; then both type at once in different places and the two
//      textareas converge to the same text, each caret where its owner left it.
//  (b) Ana's caret shows on Ben's page with her name, at the end of the text, and she is listed
//      in the notes; a reload of Ben's page brings the text and Ana's caret back.
//  (c) Ana's page closes: her caret and name leave Ben's page; a reload of Ben's page, with no
//      one else holding the document, shows the text the server stored.
//  (d) The server restarts: Ben's notes go offline and stay editable; what he types meanwhile
//      reaches the document once his page's connection is back (a new page, Cleo, reads it).
//
// The notes ride on each page's Tandem connection (tandem-yjs.mjs, @hocuspocus/provider).
//
// Keys are typed (page.keyboard), so the textarea gets real input events. Needs
// TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both). Screenshots go to
// TANDEM_ARTIFACTS_DIR: notes-ana.png, notes-ben.png (both pages while both type),
// notes-ben-alone.png (after Ana left and Ben reloaded).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startServerAndChromium, openPerson, pageDiagnostics, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 20_000;  // deadline for each page condition (each takes well under 1 s unloaded)
const VIEWPORT = { width: 1200, height: 1000 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
// A fresh room (and so a fresh document) per run.
const ID = `e2e-notes-${randomBytes(4).toString('hex')}`;
const ROOM = `workflow:${ID}`;
const DOC = `notes/${ID}`;

let server;
let browser;
const people = {};  // name -> {name, context, page, console: []}

before(async () => {
  await mkdir(artifactsDir, { recursive: true });
  ({ server, browser } = await startServerAndChromium());
  for (const name of ['Ana', 'Ben']) people[name] = await openPerson(browser, name, VIEWPORT);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

const notesText = (person) => person.page.locator('[data-testid="notes-text"]');

async function waitSynced(person) {
  await waitInPage(person, `the notes of ${DOC} synced`, (doc) =>
    document.querySelector('[data-testid="notes-panel"]')?.dataset.state === 'synced' &&
    document.querySelector('[data-testid="notes-doc"]')?.textContent === doc &&
    !document.querySelector('[data-testid="notes-text"]').disabled, DOC);
}

async function openNotes(person) {
  await person.page.goto(`${server.httpUrl}/?name=${person.name}&room=${encodeURIComponent(ROOM)}`);
  await waitSynced(person);
}

// Waits until the person's textarea holds `text` with the caret (an empty selection) at `caret`.
async function waitForText(person, text, caret) {
  await waitInPage(person, `the notes to read ${JSON.stringify(text)}${caret === undefined ? '' : ` with the caret at ${caret}`}`,
    ({ text, caret }) => {
      const area = document.querySelector('[data-testid="notes-text"]');
      return area.value === text && (caret === null || (area.selectionStart === caret && area.selectionEnd === caret));
    }, { text, caret: caret ?? null });
}

const FIRST = 'Hello from Ana';
const BEN_START = 'Ben: ';
const ANA_MORE = ' — and more 🚀';
const BEN_MORE = 'hi ';
const FINAL = `${BEN_START}${BEN_MORE}${FIRST}${ANA_MORE}`;
const OFFLINE = ' (typed offline)';

test('what one types shows on the other page, and typing at once converges', async () => {
  const { Ana: ana, Ben: ben } = people;
  await openNotes(ana);
  await openNotes(ben);

  await notesText(ana).click();
  await ana.page.keyboard.press('Control+End');
  await ana.page.keyboard.type(FIRST);
  await waitForText(ben, FIRST);

  // Ben types at the start; Ana's caret stays after her text.
  await notesText(ben).click();
  await ben.page.keyboard.press('Control+Home');
  await ben.page.keyboard.type(BEN_START);
  await waitForText(ana, `${BEN_START}${FIRST}`, BEN_START.length + FIRST.length);
  await waitForText(ben, `${BEN_START}${FIRST}`, BEN_START.length);

  // Both at once, in two places.
  await Promise.all([ana.page.keyboard.type(ANA_MORE), ben.page.keyboard.type(BEN_MORE)]);
  await waitForText(ana, FINAL, FINAL.length);
  await waitForText(ben, FINAL, BEN_START.length + BEN_MORE.length);
});

test("Ana's caret shows on Ben's page with her name, also after Ben reloads", async () => {
  const { Ana: ana, Ben: ben } = people;
  const caretAt = (person, name, index) => waitInPage(person, `${name}'s caret at ${index}`, ({ name, index }) => {
    const marker = document.querySelector(`[data-testid="notes-caret"][data-user="${name}"]`);
    if (!marker) return false;
    let before = 0;
    for (const node of marker.parentNode.childNodes) {
      if (node === marker) break;
      if (node.nodeType === Node.TEXT_NODE) before += node.textContent.length;
    }
    return before === index;
  }, { name, index });
  await caretAt(ben, 'Ana', FINAL.length);
  await caretAt(ana, 'Ben', BEN_START.length + BEN_MORE.length);
  const marker = ben.page.locator('[data-testid="notes-caret"][data-user="Ana"]');
  assert.equal(await marker.innerText(), 'Ana');
  // In Ana's colour, inside the textarea's box.
  const anaColor = await ana.page.locator('#user-swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(await marker.evaluate((e) => getComputedStyle(e).borderLeftColor), anaColor);
  const box = await notesText(ben).boundingBox();
  const caret = await marker.boundingBox();
  assert.ok(caret.x >= box.x && caret.x <= box.x + box.width && caret.y >= box.y && caret.y + caret.height <= box.y + box.height,
    `the caret ${JSON.stringify(caret)} lies in the textarea ${JSON.stringify(box)}`);
  await waitInPage(ben, 'Ana listed in the notes', () =>
    document.querySelector('[data-testid="notes-person"][data-user="Ana"]') !== null);
  await ana.page.screenshot({ path: join(artifactsDir, 'notes-ana.png'), fullPage: true, animations: 'disabled' });
  await ben.page.screenshot({ path: join(artifactsDir, 'notes-ben.png'), fullPage: true, animations: 'disabled' });

  // A late joiner sees the carets already there (Ana does not move hers).
  await ben.page.reload();
  await waitSynced(ben);
  await waitForText(ben, FINAL);
  await caretAt(ben, 'Ana', FINAL.length);
});

test("Ana's caret leaves with her page, and the text stays stored", async () => {
  const { Ana: ana, Ben: ben } = people;
  await ana.context.close();
  await waitInPage(ben, "Ana's caret and name gone", () =>
    document.querySelector('[data-testid="notes-caret"][data-user="Ana"]') === null &&
    document.querySelector('[data-testid="notes-person"][data-user="Ana"]') === null);

  await ben.page.reload();
  await waitSynced(ben);
  await waitForText(ben, FINAL);
  await waitInPage(ben, 'only Ben in the notes', () =>
    [...document.querySelectorAll('[data-testid="notes-person"]')].map((p) => p.dataset.user).join() === 'Ben');
  await ben.page.screenshot({ path: join(artifactsDir, 'notes-ben-alone.png'), fullPage: true, animations: 'disabled' });
});

test('the server restarts: the notes go offline, stay editable, and what was typed meanwhile arrives', async () => {
  const { Ben: ben } = people;
  await server.stop();  // graceful: 1012, the page's connection retries with backoff
  await waitInPage(ben, 'the notes offline and editable', () =>
    document.querySelector('[data-testid="notes-panel"]')?.dataset.state === 'offline' &&
    !document.querySelector('[data-testid="notes-text"]').disabled);
  await notesText(ben).click();
  await ben.page.keyboard.press('Control+End');
  await ben.page.keyboard.type(OFFLINE);
  await server.start();
  // The same Tandem connection (reconnected) carries the notes again: synced, the text sent.
  await waitSynced(ben);
  const cleo = people.Cleo = await openPerson(browser, 'Cleo', VIEWPORT);
  await openNotes(cleo);
  await waitForText(cleo, `${FINAL}${OFFLINE}`);
});
