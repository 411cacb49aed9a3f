// tests/e2e/chat_bots.test.mjs — chat bots end to end (issue 19, item 1): the demo page
// (web/index.html) in real Chromium, twice (Ana and Ben), against the real tandem-server
// (--bots helper,pirate) and the real tandem-bot serving both bots.
//
//  (a) Ana turns the helper bot on in the chat panel; both pages show it on.
//  (b) Ben asks "@helper …": both pages see the reply grow (at least two different partial
//      texts each, recorded by a MutationObserver in the page) and end as the bot's chat
//      message, with no growing reply left.
//  (c) Ana reloads: the prompt and the reply are in the history, and the bot is still on.
//  (d) Ana turns the bot off; both pages show it off.
//  (e) A second tandem-bot serves the pirate with --model-url: a model service in this test
//      (node:http) streams its answer in pieces; the reply grows on Ben's page and ends with
//      the model's whole text; the service got the prompt as JSON.
//
// Needs TANDEM_SERVER_BIN, TANDEM_BOT_BIN and TANDEM_WWW_DIR (ctest sets them). Screenshots go
// to TANDEM_ARTIFACTS_DIR: chat-bots-growing.png (a reply half grown), chat-bots-{ana,ben}.png.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { startServerAndChromium, openPerson, pageDiagnostics, waitInPage as waitInPageOf } from './lib/browser.mjs';

const WAIT_MS = 20_000;  // deadline for each page condition
const PACE_MS = 120;     // tandem-bot's pause between words: a reply takes a few seconds to grow
const VIEWPORT = { width: 1200, height: 1000 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const CHAT = `chat:e2e-bots-${randomBytes(4).toString('hex')}`;
const PROMPT = 'how do I deploy on a Friday?';
const REPLY_END = 'ask again if anything is unclear.';  // the helper's answer ends so (bot_worker.cpp)

let server;
let browser;
let bot;  // {child, output}
let modelBot;  // the pirate's worker, answering through the test's model service
let modelService;
const modelRequests = [];  // the JSON bodies the model service received
const people = {};

// Starts tandem-bot with `args` and a dev token whose perms name `bots`; resolves once connected.
async function startBot(name, bots, args) {
  const query = `name=${name}&perms=${bots.map((b) => `bot:${b}`).join(',')}`;
  const response = await fetch(`${server.httpUrl}/api/v1/dev/token?${query}`);
  assert.equal(response.status, 200);
  const { token } = await response.json();
  const child = spawn(process.env.TANDEM_BOT_BIN, ['--url', server.wsUrl, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TANDEM_TOKEN: token } });
  const started = { child, output: '' };
  child.stdout.on('data', (chunk) => { started.output += chunk; });
  child.stderr.on('data', (chunk) => { started.output += chunk; });
  const deadline = Date.now() + WAIT_MS;
  while (!started.output.includes('tandem-bot: connected as')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tandem-bot did not connect:\n${started.output}`);
    await delay(25);
  }
  return started;
}

before(async () => {
  if (!process.env.TANDEM_BOT_BIN) throw new Error('TANDEM_BOT_BIN is not set: point it at the tandem-bot binary');
  await mkdir(artifactsDir, { recursive: true });
  ({ server, browser } = await startServerAndChromium({ extraArgs: ['--bots', 'helper,pirate', '--bot-partial-ms', '40'] }));
  bot = await startBot('Bots', ['helper', 'pirate'], ['--pace-ms', String(PACE_MS)]);
  for (const name of ['Ana', 'Ben']) people[name] = await openPerson(browser, name, VIEWPORT);
});

after(async () => {
  for (const b of [bot, modelBot]) if (b && b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGTERM');
  modelService?.close();
  await browser?.close();
  await server?.stop();
});

const diagnostics = () => `${pageDiagnostics(people, server)}\n--- tandem-bot ---\n${bot?.output.slice(-3000)}`;
const waitInPage = (person, what, fn, arg) => waitInPageOf(person, what, fn, arg, { timeoutMs: WAIT_MS, diagnostics });

async function openPage(person) {
  await person.page.goto(`${server.httpUrl}/?name=${person.name}&chat=${encodeURIComponent(CHAT)}&bots=helper,pirate`);
  await waitInPage(person, 'connected', () => document.querySelector('#state')?.dataset.state === 'open');
  await waitInPage(person, `in ${CHAT}`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
}

const helperOn = (on) => document.querySelector('[data-testid="bot-toggle"][data-bot="helper"]')?.checked === on;

// Starts recording, in the page, every text a growing reply shows (window.partialTexts).
function recordPartials(person) {
  return person.page.evaluate(() => {
    window.partialTexts = [];
    const note = () => {
      for (const item of document.querySelectorAll('[data-testid="bot-partial"] [data-testid="chat-text"]')) {
        if (window.partialTexts.at(-1) !== item.textContent) window.partialTexts.push(item.textContent);
      }
    };
    new MutationObserver(note).observe(document.querySelector('[data-testid="chat-messages"]'),
      { childList: true, subtree: true, characterData: true });
  });
}

// The reply as the page shows it once it has ended: the bot's chat message, no partial left.
const replyDone = (end) => {
  const items = [...document.querySelectorAll('[data-testid="chat-message"][data-user="bot:helper"]')];
  return items.some((m) => m.textContent.endsWith(end)) && !document.querySelector('[data-testid="bot-partial"]');
};

test('a bot turned on by one user is seen on by both', async () => {
  const { Ana: ana, Ben: ben } = people;
  await openPage(ana);
  await openPage(ben);
  await waitInPage(ana, 'helper shown off', helperOn, false);
  await ana.page.locator('[data-testid="bot-toggle"][data-bot="helper"]').check();
  await waitInPage(ben, 'helper shown on', helperOn, true);
  await waitInPage(ana, 'helper shown on', helperOn, true);
});

test('a request gets a streamed reply that both see grow and end', async () => {
  const { Ana: ana, Ben: ben } = people;
  await recordPartials(ana);
  await recordPartials(ben);
  await ben.page.locator('[data-testid="chat-input"]').fill(`@helper ${PROMPT}`);
  await ben.page.locator('[data-testid="chat-send"]').click();
  // Half grown: a growing reply with some words in it.
  await waitInPage(ana, 'the reply growing', () =>
    (document.querySelector('[data-testid="bot-partial"] [data-testid="chat-text"]')?.textContent ?? '').split(' ').length >= 4);
  await ana.page.screenshot({ path: join(artifactsDir, 'chat-bots-growing.png'), animations: 'disabled' });
  for (const person of [ana, ben]) await waitInPage(person, 'the reply ended', replyDone, REPLY_END);

  for (const person of [ana, ben]) {
    const seen = (await person.page.evaluate(() => window.partialTexts)).filter((t) => t !== '…');
    assert.ok(new Set(seen).size >= 2, `${person.name} saw the reply grow: ${JSON.stringify(seen)}`);
    for (let i = 1; i < seen.length; ++i)
      assert.ok(seen[i].startsWith(seen[i - 1]), `${person.name}'s partial texts only grow: ${JSON.stringify(seen)}`);
    const texts = await person.page.$$eval('[data-testid="chat-message"]', (items) =>
      items.map((m) => ({ user: m.dataset.user, name: m.querySelector('.chat-name').textContent,
        text: m.querySelector('[data-testid="chat-text"]').textContent })));
    assert.deepEqual(texts.map((t) => t.name), ['Ben', 'helper'], `${person.name}: ${JSON.stringify(texts)}`);
    assert.equal(texts[1].user, 'bot:helper');
    assert.equal(texts[0].text, PROMPT);
    assert.match(texts[1].text, /^You asked "how do I deploy on a Friday\?"\. .*unclear\.$/);
  }
  await ana.page.screenshot({ path: join(artifactsDir, 'chat-bots-ana.png'), animations: 'disabled' });
  await ben.page.screenshot({ path: join(artifactsDir, 'chat-bots-ben.png'), animations: 'disabled' });
});

test('the reply is in the history after a reload, and the bot still on', async () => {
  const { Ana: ana } = people;
  await ana.page.reload();
  await waitInPage(ana, `in ${CHAT} again`, () => document.querySelector('[data-testid="chat-state"]')?.dataset.state === 'joined');
  await waitInPage(ana, 'the history with the reply', replyDone, REPLY_END);
  await waitInPage(ana, 'helper still on', helperOn, true);
  const names = await ana.page.$$eval('[data-testid="chat-message"] .chat-name', (items) => items.map((m) => m.textContent));
  assert.deepEqual(names, ['Ben', 'helper']);
});

test('turning the bot off is seen by both', async () => {
  const { Ana: ana, Ben: ben } = people;
  await ana.page.locator('[data-testid="bot-toggle"][data-bot="helper"]').uncheck();
  await waitInPage(ben, 'helper shown off', helperOn, false);
  await waitInPage(ana, 'helper shown off', helperOn, false);
});

// The model service: answers each POST with MODEL_PIECES, one every MODEL_PIECE_MS, then closes.
const MODEL_PIECES = ['Arr, the model ', 'says ye should ', 'deploy on Monday.'];
const MODEL_PIECE_MS = 250;

test('a bot backed by a model (--model-url) streams the model\'s answer', async () => {
  const { Ana: ana, Ben: ben } = people;
  modelService = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', async () => {
      modelRequests.push(JSON.parse(body));
      response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      for (const piece of MODEL_PIECES) {
        response.write(piece);
        await delay(MODEL_PIECE_MS);
      }
      response.end();
    });
  });
  await new Promise((resolve) => modelService.listen(0, '127.0.0.1', resolve));
  const modelUrl = `http://127.0.0.1:${modelService.address().port}/answer`;
  // The newest worker of a bot gets its requests: this one, for the pirate.
  modelBot = await startBot('ModelBot', ['pirate'], ['--model-url', modelUrl, '--pace-ms', '20']);

  await ana.page.locator('[data-testid="bot-toggle"][data-bot="pirate"]').check();
  await waitInPage(ben, 'pirate shown on', () =>
    document.querySelector('[data-testid="bot-toggle"][data-bot="pirate"]')?.checked === true);
  await recordPartials(ben);
  await ben.page.locator('[data-testid="chat-input"]').fill('@pirate when shall we sail?');
  await ben.page.locator('[data-testid="chat-send"]').click();
  const whole = MODEL_PIECES.join('');
  await waitInPage(ben, 'the model\'s reply ended', (end) =>
    [...document.querySelectorAll('[data-testid="chat-message"][data-user="bot:pirate"]')].some((m) => m.textContent.endsWith(end)) &&
    !document.querySelector('[data-testid="bot-partial"]'), whole);
  const seen = (await ben.page.evaluate(() => window.partialTexts)).filter((t) => t !== '…');
  assert.ok(seen.some((t) => t.length > 0 && t.length < whole.length), `Ben saw the model's reply grow: ${JSON.stringify(seen)}`);
  assert.equal(modelRequests.length, 1);
  assert.equal(modelRequests[0].bot, 'pirate');
  assert.equal(modelRequests[0].prompt, 'when shall we sail?');
  assert.equal(modelRequests[0].room, CHAT);
  assert.match(modelRequests[0].reply, /^pirate\./);
});
