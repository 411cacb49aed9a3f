// tests/e2e/canvas/browser.test.mjs — the canvas built to WebAssembly (canvas.js + canvas.wasm,
// Dear ImGui on WebGL 2) in real headless Chromium, served by a real tandem-server:
// web/canvas.html fetches a dev token, the app connects, and the <canvas> shows the open
// state with the user's colour. WebGL 2 runs on SwiftShader (Chromium's software renderer,
// chosen on its own under --disable-gpu).
//
// Needs TANDEM_SERVER_BIN and TANDEM_WWW_DIR (with canvas.html, canvas.js, canvas.wasm from the
// wasm build); ctest sets both. Screenshots go to TANDEM_ARTIFACTS_DIR.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { assertDrawn } from './expectations.mjs';
import { decodePng } from './png.mjs';

const WAIT_MS = 20_000;         // deadline for each page condition (connecting takes ~2 s here)
const SCREENSHOT_RETRY_MS = 100;  // between canvas screenshots while waiting for the open frame
const VIEWPORT = { width: 900, height: 600 };
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts');

let server;
let browser;

before(async () => {
  const webRoot = process.env.TANDEM_WWW_DIR;
  if (!webRoot) throw new Error('TANDEM_WWW_DIR is not set (ctest sets it; or export it by hand)');
  for (const file of ['canvas.html', 'canvas.js', 'canvas.wasm']) {
    if (!existsSync(join(webRoot, file))) {
      throw new Error(`${join(webRoot, file)} is missing: build the wasm preset first:\n` +
                      `  cmake --preset wasm -B build/wasm -DTANDEM_WWW_DIR=${webRoot} && cmake --build build/wasm`);
    }
  }
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  server = await startServer({ binary, webRoot });
  browser = await launchBrowser({ viewport: VIEWPORT });
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const diagnostics = () => `\n--- page console ---\n${browser.consoleLines.join('\n')}` +
                          `\n--- server ---\n${server.output.slice(-2000)}`;

test('canvas.html connects and the canvas draws the open state with the user colour', async () => {
  const { page, consoleLines } = browser;
  const tokenResponse = page.waitForResponse((r) => r.url().includes('/api/v1/dev/token'),
                                             { timeout: WAIT_MS });
  await page.goto(`${server.httpUrl}/canvas.html?name=${encodeURIComponent('Canvas Browser')}`);
  const grant = await (await tokenResponse).json();
  assert.equal(grant.user.name, 'Canvas Browser');

  try {
    await page.waitForSelector('body[data-canvas-state="open"]', { timeout: WAIT_MS });
  } catch (error) {
    const state = await page.evaluate(() => document.body.dataset.canvasState).catch(() => '?');
    throw new Error(`canvas never reached "open" (data-canvas-state=${state}): ${error.message}${diagnostics()}`);
  }
  assert.ok(consoleLines.some((line) => line === '[log] state: open (connected)'), diagnostics());

  // The state line is printed before the frame that draws it: retake the screenshot until
  // that frame is on screen, then keep the last one as the artifact and check it.
  const canvas = page.locator('canvas#canvas');
  const path = join(artifactsDir, 'canvas-browser-open.png');
  const deadline = Date.now() + WAIT_MS;
  let lastError;
  for (;;) {
    const image = decodePng(await canvas.screenshot({ path }));
    try {
      assert.deepEqual([image.width, image.height], [VIEWPORT.width, VIEWPORT.height],
                       'the canvas fills the viewport (--width/--height from the page)');
      assertDrawn(image, { state: 'open', userColour: grant.user.color }, path);
      break;
    } catch (error) {
      lastError = error;
      if (Date.now() > deadline) throw new Error(`${lastError.message}${diagnostics()}`);
      await delay(SCREENSHOT_RETRY_MS);
    }
  }
  assert.ok(!consoleLines.some((line) => line.startsWith('[pageerror]')), diagnostics());
});
