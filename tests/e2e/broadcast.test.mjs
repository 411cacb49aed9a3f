// tests/e2e/broadcast.test.mjs — room.broadcast (PROTOCOL.md §12a) in real Chromium: two pages
// (Ana and Ben, two browser contexts) load tandem.mjs from the real tandem-server, join one room
// and exchange ephemeral events. Ben's room.on('broadcast') gets Ana's event with its data and
// her name and connection id; Ana does not get her own unless she asks for self, and then her
// copy comes before the ack her promise resolves with; bad event names and data are refused
// at once with a TandemError, before anything is sent.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { openModulePage, pageDiagnostics, startServerAndChromium, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 10_000;  // deadline for each page condition (each takes well under 1 s)
// A fresh room per run, so nothing from an earlier run can interfere.
const ROOM = `workflow:e2e-broadcast-${randomBytes(4).toString('hex')}`;

let server;
let browser;
const people = {};  // name -> {name, page, console: []}

before(async () => {
  ({ server, browser } = await startServerAndChromium());
  for (const name of ['Ana', 'Ben']) {
    people[name] = await openModulePage(browser, server, name, ROOM);
    await people[name].page.evaluate(() => {
      window.got = [];
      window.room.on('broadcast', (b) => window.got.push(b));
    });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

test('a broadcast reaches the other member with its data and sender, and the sender only with self', async () => {
  const { Ana: ana, Ben: ben } = people;
  const anaConnection = await ana.page.evaluate(() => window.client.state.connectionId);
  const sent = await ana.page.evaluate(() => window.room.broadcast('dragging', { node: 'n3', x: 120.5, tags: ['a', null] }));
  assert.equal(sent, true, 'fire and forget: true once on the wire');
  await waitInPage(ben, 'Ana\'s dragging event', () => window.got.length === 1);
  const [dragging] = await ben.page.evaluate(() => window.got);
  assert.equal(dragging.event, 'dragging');
  assert.deepEqual(dragging.data, { node: 'n3', x: 120.5, tags: ['a', null] });
  assert.equal(dragging.name, 'Ana');
  assert.equal(dragging.connection, anaConnection);
  assert.equal(typeof dragging.user, 'string');
  assert.equal(dragging.seq, undefined, 'ephemeral: no seq');

  // Acked, with self: Ana's copy is in before her promise resolves with the ack.
  const outcome = await ana.page.evaluate(async () => {
    const ack = await window.room.broadcast('reaction', '🎉', { self: true, ack: true });
    return { ack, mine: window.got.map((b) => [b.event, b.data, b.connection === window.client.state.connectionId]) };
  });
  assert.equal(outcome.ack.type, 'ack');
  assert.deepEqual(outcome.mine, [['reaction', '🎉', true]], 'not the first (no self), the second before its ack');
  await waitInPage(ben, 'the reaction', () => window.got.length === 2);
  assert.deepEqual(await ben.page.evaluate(() => window.got.map((b) => b.event)), ['dragging', 'reaction']);

  // No data at all: the event comes without a data field.
  await ana.page.evaluate(() => window.room.broadcast('wave'));
  await waitInPage(ben, 'the wave', () => window.got.length === 3);
  assert.equal(await ben.page.evaluate(() => 'data' in window.got[2]), false);
});

test('a bad event name or data is refused at once with a TandemError', async () => {
  const { Ana: ana, Ben: ben } = people;
  const refused = await ana.page.evaluate(async () => {
    const codeOf = (fn) => {
      try {
        fn();
        return 'sent';
      } catch (error) {
        return `${error.name}:${error.code}`;
      }
    };
    const rejected = await window.room.broadcast('bad name', 1, { ack: true }).then(() => 'acked', (e) => `${e.name}:${e.code}`);
    return {
      spaced: codeOf(() => window.room.broadcast('is dragging', 1)),
      bigint: codeOf(() => window.room.broadcast('e', 10n)),
      huge: codeOf(() => window.room.broadcast('e', 'x'.repeat(40_000))),
      rejected,
    };
  });
  assert.deepEqual(refused, {
    spaced: 'TandemError:invalid_message',
    bigint: 'TandemError:invalid_message',
    huge: 'TandemError:too_big',
    rejected: 'TandemError:invalid_message',
  });
  // Nothing of it reached Ben: the next broadcast is the next thing he gets.
  const before = await ben.page.evaluate(() => window.got.length);
  await ana.page.evaluate(() => window.room.broadcast('after', 0));
  await waitInPage(ben, 'the broadcast after the refusals', (n) => window.got.length === n + 1, before);
  assert.equal(await ben.page.evaluate(() => window.got.at(-1).event), 'after');
});
