// tests/e2e/tls.test.mjs — the web demo over https and wss, end to end: tandem-server runs with
// a self-signed certificate made for the test (--tls-cert/--tls-key) and
// --allowed-origins self; Chromium trusts exactly that certificate
// (--ignore-certificate-errors-spki-list, never a blanket ignore-all flag).
//
//  (a) Ana and Ben load the demo page (web/index.html) from https://127.0.0.1:PORT; it connects
//      to wss://127.0.0.1:PORT/ws on its own; each sees the other's chat message.
//  (b) A page of another origin (https://localhost:PORT — same server, another host name) is
//      refused its WebSocket to wss://127.0.0.1:PORT/ws: the browser reports an error and close
//      1006, and the server logs the refused origin; to its own origin (wss://localhost:PORT)
//      the same page connects.
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets both) and the openssl CLI. Screenshot:
// TANDEM_ARTIFACTS_DIR/tls-{ana,ben}.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromiumArgs, chromiumPath, openPerson, pageDiagnostics, waitInPage as waitInPageOf } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { chromiumTrusting, makeTestCertificate } from './lib/tls.mjs';
import { requireWebRoot } from './lib/www.mjs';

const WAIT_MS = 20_000;  // deadline for each page condition (a loaded machine loads the wasm slowly)
const VIEWPORT = { width: 1200, height: 900 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const suffix = randomBytes(4).toString('hex');
const CHAT = `chat:tls-${suffix}`;
const WORKFLOW = `workflow:tls-${suffix}`;

let server;
let browser;
const people = {};  // name -> {name, context, page, console: []}

before(async () => {
  const webRoot = requireWebRoot();
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  await mkdir(artifactsDir, { recursive: true });
  const certificate = makeTestCertificate();
  server = await startServer({ binary, webRoot, tls: certificate, extraArgs: ['--allowed-origins', 'self'] });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
                                    args: [...chromiumArgs, chromiumTrusting(certificate)] });
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

const sentMessage = (text) =>
  [...document.querySelectorAll('[data-testid="chat-message"][data-state="sent"]')].some((m) => m.textContent.includes(text));

async function sendChat(person, text) {
  await person.page.locator('[data-testid="chat-input"]').fill(text);
  await person.page.locator('[data-testid="chat-send"]').click();
}

test('the demo page over https chats over wss with a certificate Chromium trusts by its key', async () => {
  assert.match(server.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(server.output, new RegExp(`listening on https://127\\.0\\.0\\.1:${server.port}`));
  for (const person of [people.Ana, people.Ben]) {
    const url = `${server.httpUrl}/?name=${person.name}&room=${encodeURIComponent(WORKFLOW)}&chat=${encodeURIComponent(CHAT)}`;
    const response = await person.page.goto(url);
    assert.equal(response.status(), 200);
    assert.equal(await person.page.evaluate(() => window.isSecureContext && location.protocol), 'https:');
    await waitInPage(person, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
    await waitInPage(person, `in ${CHAT}`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
  }

  const fromAna = `Hello over wss from Ana ${suffix}`;
  const fromBen = `And back from Ben ${suffix}`;
  await sendChat(people.Ana, fromAna);
  await waitInPage(people.Ben, 'Ana\'s message', sentMessage, fromAna);
  await sendChat(people.Ben, fromBen);
  await waitInPage(people.Ana, 'Ben\'s message', sentMessage, fromBen);
  await waitInPage(people.Ana, 'her own message sent', sentMessage, fromAna);

  for (const person of [people.Ana, people.Ben])
    await person.page.screenshot({ path: join(artifactsDir, `tls-${person.name.toLowerCase()}.png`) });
});

test('a page of another origin is refused its WebSocket; its own origin is not', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const person = { name: 'Other origin', page, console: [] };
  page.on('console', (message) => person.console.push(`[${message.type()}] ${message.text()}`));
  try {
    const foreign = `https://localhost:${server.port}`;
    const response = await page.goto(`${foreign}/healthz`);
    assert.equal(response.status(), 200);
    // Resolves how a WebSocket to `url` ended: 'open', or 'close <code>' after an error.
    const attempt = (url) => page.evaluate(async ({ url, deadlineMs }) => {
      const { token } = await (await fetch('/api/v1/dev/token?name=Mallory')).json();
      const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
      return await new Promise((resolve) => {
        const timer = setTimeout(() => resolve('no outcome in time'), deadlineMs);
        let errored = false;
        ws.onerror = () => { errored = true; };
        ws.onopen = () => { clearTimeout(timer); ws.close(); resolve('open'); };
        ws.onclose = (event) => { clearTimeout(timer); resolve(`${errored ? 'error, ' : ''}close ${event.code}`); };
      });
    }, { url, deadlineMs: WAIT_MS });

    assert.equal(await attempt(`wss://127.0.0.1:${server.port}/ws`), 'error, close 1006',
                 pageDiagnostics({ person }, server));
    assert.match(server.output, new RegExp(`origin ${foreign} is not in allowed_origins`));
    assert.equal(await attempt(`wss://localhost:${server.port}/ws`), 'open', pageDiagnostics({ person }, server));
  } finally {
    await context.close();
  }
});
