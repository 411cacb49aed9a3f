// tests/e2e/reconnect.test.mjs — the demo page (web/index.html) in real Chromium against the
// real tandem-server: it gets a dev token, connects, shows "reconnecting" while the server
// restarts, and is connected again afterwards — the wasm client core end to end. Then the
// server comes back with another secret: the page's token is refused and it shows
// "Closed: unauthorized" instead of retrying forever.
//
// Needs TANDEM_SERVER_BIN (the tandem-server binary) and TANDEM_WWW_DIR (the web root built
// by the wasm build); ctest sets both. Screenshots go to TANDEM_ARTIFACTS_DIR.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { requireWebRoot } from './lib/www.mjs';

const WAIT_MS = 15_000;  // deadline for each page condition (a reconnect is well under 2 s)
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');

let server;
let browser;

before(async () => {
  const webRoot = requireWebRoot();
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  server = await startServer({ binary, webRoot });
  browser = await launchBrowser();
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  return `\n--- page console ---\n${browser.consoleLines.join('\n')}\n--- server ---\n${server.output.slice(-3000)}`;
}

async function waitForState(page, state) {
  try {
    await page.waitForSelector(`#state[data-state="${state}"]`, { timeout: WAIT_MS });
  } catch (error) {
    const shown = await page.locator('#state').textContent().catch(() => '?');
    throw new Error(`page never showed state "${state}" (shows "${shown}"): ${error.message}${diagnostics()}`);
  }
}

test('the page connects, shows reconnecting across a server restart, and connects again', async () => {
  const { page } = browser;
  await page.goto(`${server.httpUrl}/?name=E2E%20Ana`);

  await waitForState(page, 'open');
  assert.equal(await page.locator('#state').textContent(), 'Connected · WebSocket');
  assert.equal(await page.locator('#user-name').textContent(), 'E2E Ana');
  assert.notEqual(await page.locator('#connection-id').textContent(), '—');

  // SIGTERM: the server closes every client with 1012 "restart" and exits 0.
  const stopped = server.stop();
  await waitForState(page, 'reconnecting');
  assert.match(await page.locator('#state').textContent(), /^Reconnecting in \d+ s$/);
  assert.deepEqual(await stopped, { code: 0, signal: null });
  await page.screenshot({ path: join(artifactsDir, 'e2e-reconnect-reconnecting.png'), animations: 'disabled' });
  const log = await page.locator('#log').textContent();
  assert.match(log, /state reconnecting \(close 1012/, 'the server should have closed with 1012 restart');

  await server.start();
  await waitForState(page, 'open');
  // Connection ids restart with the server process, so count the page's "open" transitions.
  const opens = await page.locator('#log li', { hasText: /state open$/ }).count();
  assert.equal(opens, 2, 'one open before the restart and one after');
  assert.notEqual(await page.locator('#connection-id').textContent(), '—');
  assert.equal(await page.locator('#user-name').textContent(), 'E2E Ana');

  // The connection works: an app-level ping is answered through the page's send box.
  await page.locator('#send-text').fill('{"type":"ping"}');
  await page.locator('#send-form button').click();
  await page.waitForFunction(() => /✓ .*"type":"pong"/.test(document.querySelector('#log').textContent), null, { timeout: WAIT_MS });

  await page.screenshot({ path: join(artifactsDir, 'e2e-reconnect-open.png'), animations: 'disabled' });
});

test('a token the restarted server no longer accepts is refreshed: the page signs in again and reconnects', async () => {
  const { page } = browser;
  await waitForState(page, 'open');  // where the previous test left the page
  const opensBefore = await page.locator('#log li', { hasText: /state open$/ }).count();

  server.jwtSecret = randomBytes(32).toString('hex');  // every token minted so far is now forged
  await server.restart();
  await page.waitForFunction((n) => document.querySelectorAll('#log li').length > 0 &&
    [...document.querySelectorAll('#log li')].filter((li) => /state open$/.test(li.textContent)).length > n,
  opensBefore, { timeout: WAIT_MS });
  await waitForState(page, 'open');
  const log = await page.locator('#log').textContent();
  assert.match(log, /state closed \(close 4401 [^)]*\) — refreshing the token/);
  assert.match(log, /signed in again with a new development token/);
  assert.equal(await page.locator('#user-name').textContent(), 'E2E Ana', 'the same name, a new token');
});

test('when no new token can be had the page ends in "Closed: unauthorized" and says why', async () => {
  const { page } = browser;
  await waitForState(page, 'open');
  server.jwtSecret = randomBytes(32).toString('hex');
  server.dev = false;  // no development tokens any more: the refresh fails
  try {
    await server.restart();
    await waitForState(page, 'closed');
    assert.equal(await page.locator('#state').textContent(), 'Closed: unauthorized');
    assert.equal(await page.locator('#state').getAttribute('data-close-code'), '4401');
    assert.match(await page.locator('#state-detail').textContent(), /4401.*no development token/);
    await page.evaluate(() => window.scrollTo(0, 0));  // the status card, not where the ping was typed
    await page.screenshot({ path: join(artifactsDir, 'e2e-reconnect-unauthorized.png'), animations: 'disabled' });
  } finally {
    server.dev = true;
  }
});

test('signing in with another name reloads the page as that user, and the name is remembered', async () => {
  const { page } = browser;
  await server.restart();  // development tokens again
  await page.goto(`${server.httpUrl}/?name=E2E%20Ana`);
  await waitForState(page, 'open');
  await page.locator('[data-testid="sign-in-name"]').fill('E2E Ben');
  await Promise.all([page.waitForURL(/name=E2E(\+|%20)Ben/, { timeout: WAIT_MS }), page.locator('#sign-in button').click()]);
  await waitForState(page, 'open');
  assert.equal(await page.locator('#user-name').textContent(), 'E2E Ben');
  await page.goto(server.httpUrl + '/');  // no name in the address: the remembered one
  await waitForState(page, 'open');
  assert.equal(await page.locator('#user-name').textContent(), 'E2E Ben');
  assert.equal(await page.locator('[data-testid="sign-in-name"]').inputValue(), 'E2E Ben');
});
