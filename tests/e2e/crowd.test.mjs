// tests/e2e/crowd.test.mjs — crowds (PROTOCOL.md §7) through tandem.mjs in real Chromium: a
// server with presence_crowd_users = 1, so a room of two users is a crowd. Ana joins first and
// gets the full list; Ben's join makes the room a crowd: Ben's room says membersPartial with a
// count of 2 and lists nobody, and Ana's room learns it from presence_count (her 'presence'
// handler fires). Ben pages through listMembers() one user at a time and then knows both.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { openModulePage, pageDiagnostics, startServerAndChromium, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 10_000;  // deadline for each page condition (each takes well under 1 s)
const ROOM = `workflow:e2e-crowd-${randomBytes(4).toString('hex')}`;

let server;
let browser;
const people = {};  // name -> {name, page, console: []}

before(async () => {
  ({ server, browser } = await startServerAndChromium({ extraArgs: ['--presence-crowd-users', '1'] }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

const roomView = (person) => person.page.evaluate(() => ({
  partial: window.room.membersPartial,
  count: window.room.memberCount,
  names: window.room.members.map((m) => m.name).sort(),
}));

test('past presence_crowd_users the room counts its members and lists them on demand', async () => {
  const ana = people.Ana = await openModulePage(browser, server, 'Ana', ROOM);
  await waitInPage(ana, 'her own presence', () => window.room.members.length === 1);
  assert.deepEqual(await roomView(ana), { partial: false, count: 1, names: ['Ana'] });
  await ana.page.evaluate(() => {
    window.presenceEvents = 0;
    window.room.on('presence', () => { window.presenceEvents += 1; });
  });

  const ben = people.Ben = await openModulePage(browser, server, 'Ben', ROOM);
  await waitInPage(ben, 'the crowd snapshot', () => window.room.membersPartial);
  assert.deepEqual(await roomView(ben), { partial: true, count: 2, names: [] });
  await waitInPage(ana, 'presence_count 2', () => window.room.memberCount === 2 && window.room.membersPartial);
  assert.ok(await ana.page.evaluate(() => window.presenceEvents) >= 1, 'the count change fires presence');

  const pages = await ben.page.evaluate(async () => {
    const seen = [];
    let page = await window.room.listMembers({ limit: 1 });
    seen.push(page);
    while (page.next) {
      page = await window.room.listMembers({ after: page.next, limit: 1 });
      seen.push(page);
    }
    return seen.map((p) => ({ names: p.members.map((m) => m.name), count: p.count, next: p.next ?? null }));
  });
  assert.equal(pages.length, 2, JSON.stringify(pages));
  assert.deepEqual(pages.flatMap((p) => p.names).sort(), ['Ana', 'Ben']);
  assert.ok(pages.every((p) => p.count === 2));
  assert.equal(pages[1].next, null, 'the last page has no next');
  assert.deepEqual(await roomView(ben), { partial: true, count: 2, names: ['Ana', 'Ben'] }, 'listed members are kept');
});
