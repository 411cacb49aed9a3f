// tests/e2e/admin_page.test.mjs — the operator's page (/admin: web/admin.html, admin.js) in real
// Chromium against a real tandem-server started with an admin token. Ana and Ben join one
// workflow room through tandem.mjs and Ana locks node n1; on /admin a wrong token is refused
// with the server's reason (and nothing is kept), the right one opens the dashboard: the
// server's figures, the room in the rooms list, and once it is picked its two members and
// Ana's lock on n1 (holder, fence), and the room's webhook queue (the server has an endpoint
// whose backend is down: the lock event waits, retried). The page refreshes by itself: the connections chart gains
// points, and when Ben's page closes he leaves the members list. The token never shows in the
// address and is kept in sessionStorage only.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both). Screenshot: admin-page.png in
// TANDEM_ARTIFACTS_DIR.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { openModulePage, openPerson, pageDiagnostics, startServerAndChromium, waitInPage as waitInPageOf } from './lib/browser.mjs';
import { freePort } from './lib/server.mjs';

const WAIT_MS = 10_000;  // deadline for each page condition (each takes well under 3 s: one refresh is 2 s)
const ADMIN_TOKEN = randomBytes(24).toString('hex');  // 48 bytes; the server wants at least 16
const ROOM = `workflow:e2e-admin-${randomBytes(4).toString('hex')}`;
const VIEWPORT = { width: 1200, height: 1000 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');

let server;
let browser;
const people = {};  // name -> {name, page, console: []}

before(async () => {
  await mkdir(artifactsDir, { recursive: true });
  // A webhook endpoint whose backend is down (nothing listens on its port): the room's lock
  // event waits in its queue, retried, which the page shows.
  const downBackend = `http://127.0.0.1:${await freePort()}/hooks`;
  const webhooks = `backend ${downBackend} rooms=workflow:* events=locks secret=${randomBytes(16).toString('hex')}`;
  ({ server, browser } = await startServerAndChromium({ extraArgs: ['--admin-token', ADMIN_TOKEN, '--webhooks', webhooks] }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const waitInPage = (person, what, fn, arg) =>
  waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics: () => pageDiagnostics(people, server) });

async function signIn(admin, token) {
  await admin.page.locator('[data-testid="token-input"]').fill(token);
  await admin.page.locator('[data-testid="token-submit"]').click();
}

test('the admin page shows a room\'s members and locks to the holder of the admin token', async () => {
  // The three pages load side by side.
  const [ana, ben, admin] = await Promise.all([
    openModulePage(browser, server, 'Ana', ROOM),
    openModulePage(browser, server, 'Ben', ROOM),
    openPerson(browser, 'Admin', VIEWPORT).then(async (person) => {
      await person.page.goto(`${server.httpUrl}/admin`);
      return person;
    }),
  ]);
  Object.assign(people, { Ana: ana, Ben: ben, Admin: admin });
  const lock = await ana.page.evaluate(() => window.room.lock('n1'));
  assert.equal(lock.outcome, 'granted', JSON.stringify(lock));

  // A wrong token: the server's reason on the form, no dashboard, nothing kept.
  await signIn(admin, `wrong-${ADMIN_TOKEN}`);
  await waitInPage(admin, 'the refusal', () => !document.querySelector('[data-testid="auth-error"]').hidden);
  assert.match(await admin.page.locator('[data-testid="auth-error"]').innerText(), /refused the token: wrong admin token \(HTTP 403\)/);
  assert.equal(await admin.page.locator('#dashboard').isHidden(), true);
  assert.equal(await admin.page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');

  // The right one: figures, the room, and once picked its members and Ana's lock.
  await signIn(admin, ADMIN_TOKEN);
  const roomRow = `[data-testid="room"][data-room="${ROOM}"]`;
  await waitInPage(admin, `${ROOM} in the rooms list`, (s) => document.querySelector(s), roomRow);
  assert.equal(await admin.page.locator('[data-testid="auth-error"]').isHidden(), true);
  assert.ok(Number(await admin.page.locator('[data-testid="fig-connections"]').innerText()) >= 2, 'connections shown');
  assert.match(await admin.page.locator(roomRow).innerText(), /\b2\b/, 'two members');
  await admin.page.locator(`${roomRow} [data-testid="room-button"]`).click();
  await waitInPage(admin, 'two members and the lock on n1', (room) =>
    document.querySelector('[data-testid="room-detail"]').dataset.room === room &&
    document.querySelectorAll('[data-testid="member"]').length === 2 &&
    document.querySelector('[data-testid="lock"][data-resource="n1"]'), ROOM);
  for (const user of ['dev:ana', 'dev:ben']) {
    const member = admin.page.locator(`[data-testid="member"][data-user="${user}"]`);
    assert.equal(await member.getAttribute('data-connections'), '1', `${user}: one connection`);
  }
  assert.match(await admin.page.locator('[data-testid="member"][data-user="dev:ana"]').innerText(), /Ana/);
  const lockRow = admin.page.locator('[data-testid="lock"][data-resource="n1"]');
  assert.equal(await lockRow.getAttribute('data-holder'), 'dev:ana');
  assert.equal(await lockRow.getAttribute('data-fence'), String(lock.fence));
  assert.equal(await lockRow.locator('[data-testid="lock-holder"]').innerText(), 'Ana');
  // The webhook queue of the room: Ana's lock event, undelivered while the backend is down.
  await waitInPage(admin, `the webhook queue of ${ROOM} with a failed attempt`, (room) => {
    const queue = document.querySelector(`[data-testid="webhook-queue"][data-endpoint="backend"][data-room="${room}"]`);
    return queue && /refused|connect/i.test(queue.innerText);
  }, ROOM);
  await waitInPage(admin, 'the connections chart with two samples', () =>
    Number(document.querySelector('[data-testid="chart"][data-metric="tandem_connections"]')?.dataset.points) >= 2);
  await admin.page.screenshot({ path: join(artifactsDir, 'admin-page.png'), fullPage: true });

  // Nothing secret in the address; the token only in this tab's sessionStorage.
  assert.ok(!admin.page.url().includes(ADMIN_TOKEN), admin.page.url());
  assert.equal(admin.page.url(), `${server.httpUrl}/admin`);
  assert.equal(await admin.page.evaluate(() => localStorage.length), 0);
  assert.equal(await admin.page.evaluate(() => sessionStorage.getItem('tandem.admin.token')), ADMIN_TOKEN);
  // No script errors, nothing refused by the page's Content-Security-Policy (the wrong token's
  // 403 is logged by Chromium as a failed load: expected).
  const problems = admin.console.filter((line) => /^\[(error|pageerror)\]/.test(line) &&
                                                  !line.includes('the server responded with a status of 403'));
  assert.deepEqual(problems, [], 'console errors on /admin');

  // It refreshes by itself: Ben's page closes and he leaves the list.
  await ben.page.close();
  await waitInPage(admin, 'Ben gone from the members', () =>
    document.querySelectorAll('[data-testid="member"]').length === 1 &&
    document.querySelector('[data-testid="member"][data-user="dev:ana"]'));
});
