// tests/e2e/vite_app.test.mjs — the example app that imports the package (examples/vite-app,
// depending on build/tandem-pkg by path) is built with Vite into a temporary directory, served
// by the real tandem-server as its web root, and opened in Chromium by two people: each page
// connects with a development token, joins one room and lists both members (so each client
// sees the other in presence). Prints the time from navigation start to `open` (connected)
// and to joined, measured in the page with performance.now().
//
// Needs TANDEM_SERVER_BIN (ctest sets it), the wasm build (build/tandem-pkg) and npm ci
// (vite, and node_modules/tandem-client -> build/tandem-pkg).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { chromiumArgs, chromiumPath } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

const WAIT_MS = 10_000;         // deadline for each page condition (each takes well under 1 s)
const BUILD_TIMEOUT_MS = 90_000;
const root = resolve(import.meta.dirname, '../..');
const appDir = join(root, 'examples/vite-app');
const viteBin = join(root, 'node_modules/vite/bin/vite.js');
const pkgWasm = join(root, 'node_modules/tandem-client/tandem_core.wasm');
const ROOM = `vite:e2e-${randomBytes(4).toString('hex')}`;

let outDir;
let server;
let browser;
const pages = {};  // name -> {page, console: []}

before(async () => {
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  if (!existsSync(viteBin)) throw new Error(`vite is not installed (${viteBin}): run npm ci at the repo root`);
  if (!existsSync(pkgWasm)) {
    throw new Error(`the package is missing (${pkgWasm}): build the wasm preset, which assembles build/tandem-pkg`);
  }
  outDir = await mkdtemp(join(tmpdir(), 'tandem-vite-app-'));
  const started = performance.now();
  await promisify(execFile)(process.execPath, [viteBin, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: appDir, timeout: BUILD_TIMEOUT_MS });
  const assets = await readdir(join(outDir, 'assets'));
  console.log(`vite build: ${Math.round(performance.now() - started)} ms, assets ${assets.join(', ')}`);
  assert.ok(assets.some((name) => name.endsWith('.wasm')), 'the build emits the wasm as an asset');
  server = await startServer({ binary, webRoot: outDir });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function open(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  pages[name] = { page, console: consoleLines };
  await page.goto(`${server.httpUrl}/index.html?name=${name}&room=${encodeURIComponent(ROOM)}`);
  return page;
}

function diagnostics() {
  return Object.entries(pages).map(([name, p]) => `${name}:\n  ${p.console.join('\n  ')}`).join('\n');
}

async function waitFor(page, fn, arg, what) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout: WAIT_MS })).jsonValue();
  } catch (error) {
    const shown = await page.evaluate(() => document.body.innerText).catch(() => '?');
    throw new Error(`${what}: ${error.message}\npage text: ${shown}\n${diagnostics()}`);
  }
}

test('the built Vite app connects, joins a room and sees the other member', async () => {
  const ana = await open('Ana');
  const timing = await waitFor(ana, () => {
    const info = window.tandemExample;
    return info?.joined && info.connectedMs !== undefined ? { connectedMs: info.connectedMs, joinedMs: performance.now() } : null;
  }, undefined, 'Ana connects and joins');
  console.log(`page load -> connected: ${timing.connectedMs.toFixed(1)} ms (joined by ${timing.joinedMs.toFixed(1)} ms)`);
  assert.equal(await ana.textContent('#state'), 'open');
  assert.equal(await ana.textContent('#room'), ROOM);

  const ben = await open('Ben');
  const members = ['Ana', 'Ben'];
  for (const [name, page] of [['Ana', ana], ['Ben', ben]]) {
    await waitFor(page, (want) => {
      const shown = [...document.querySelectorAll('#members li')].map((li) => li.textContent).sort();
      return JSON.stringify(shown) === JSON.stringify(want);
    }, members, `${name} lists both members`);
  }
  assert.equal(await ben.textContent('#state'), 'open');
  assert.equal(await ben.textContent('#error'), '');

  // Ben leaves (closes his page): Ana's list drops him.
  await ben.context().close();
  await waitFor(ana, () => [...document.querySelectorAll('#members li')].map((li) => li.textContent).join() === 'Ana',
    undefined, 'Ana sees Ben leave');
});
