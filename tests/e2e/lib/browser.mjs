// tests/e2e/lib/browser.mjs — launches Debian's Chromium through playwright-core.
//
// Headless, with a fresh user-data-dir per launch (removed by close()), and the flags this
// machine needs: without the background-networking flags Chromium keeps dialing Google
// hosts that the closed network refuses. Page console output is collected for error messages.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// playwright-core comes from the repo's node_modules (npm ci, run by toolchains/setup.sh).
async function loadChromium() {
  try {
    return (await import('playwright-core')).chromium;
  } catch (error) {
    throw new Error(`playwright-core is not installed (${error.code ?? error.message}): run \`npm ci\` at the repo root`);
  }
}

export const chromiumPath = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Returns { context, page, consoleLines, close() }.
export async function launchBrowser({ viewport = { width: 1000, height: 700 } } = {}) {
  const chromium = await loadChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), 'tandem-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  return {
    context,
    page,
    consoleLines,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

// The start of a test file whose pages load tandem.mjs themselves (openModulePage): a real
// tandem-server (ctest sets TANDEM_SERVER_BIN and TANDEM_WWW_DIR) with `extraArgs`, and a
// headless Chromium. Returns { server, browser }; stop both in after().
export async function startServerAndChromium({ extraArgs } = {}) {
  const { startServer } = await import('./server.mjs');
  const { requireWebRoot } = await import('./www.mjs');
  const webRoot = requireWebRoot();
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  const server = await startServer({ binary, webRoot, extraArgs });
  const chromium = await loadChromium();
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  return { server, browser };
}

// A person in `browser`: a context of their own with `viewport` and a blank page whose console
// lines and page errors are kept (for the diagnostics a failed wait prints). Returns
// { name, context, page, console: [lines] }.
export async function openPerson(browser, name, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  return { name, context, page, console: consoleLines };
}

// A person's page of the server's origin (not the demo app, which would connect on its own),
// in a browser context of its own, that imports the tandem.mjs the server serves, connects as
// `name` with a dev token and joins `room`: window.client and window.room. Returns
// { name, page, console: [lines] }.
export async function openModulePage(browser, server, name, room) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  await page.goto(`${server.httpUrl}/healthz`);
  await page.evaluate(async ({ name, room }) => {
    const { connect } = await import('/tandem.mjs');
    const { token } = await (await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}`)).json();
    window.client = await connect('/ws', { token });
    window.room = await window.client.join(room);
  }, { name, room });
  return { name, page, console: consoleLines };
}

// What each person's page logged last and what the server said: appended to a failure.
// `people` maps names to { name, console: [lines] }; `server` has `output`.
export function pageDiagnostics(people, server) {
  const pages = Object.values(people)
    .map((p) => `--- ${p.name}'s console ---\n${p.console.slice(-40).join('\n')}`).join('\n');
  return `\n${pages}\n--- server ---\n${server.output.slice(-3000)}`;
}

// Waits for fn(arg) to be truthy in the person's page (a condition, never a delay); on timeout
// says what was awaited, what the page showed, and `diagnostics()`.
export async function waitInPage(person, what, fn, arg, { timeoutMs, diagnostics = () => '' }) {
  try {
    await person.page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 50 });
  } catch (error) {
    const shown = await person.page.locator('main').innerText({ timeout: 1000 }).catch(() => '?');
    throw new Error(`${person.name}'s page: ${what}: ${error.message}\n--- page ---\n${shown.slice(0, 3000)}${diagnostics()}`);
  }
}

// The chat history of `room` as a brand-new subscriber gets it: a raw WebSocket straight to
// the server from a blank page of its origin in `person`'s browser context (not the demo's
// client, nor any proxy in front), so it shows what the server stored.
export async function serverHistory(person, server, room) {
  const page = await person.context.newPage();
  try {
    await page.goto(`${server.httpUrl}/healthz`);
    return await page.evaluate(async (room) => {
      const { token } = await (await fetch('/api/v1/dev/token?name=Observer')).json();
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no history within 10 s')), 10_000);
        ws.onerror = () => reject(new Error('websocket error'));
        ws.onmessage = (event) => {
          const message = JSON.parse(event.data);
          for (const m of Array.isArray(message) ? message : [message]) {
            if (m.type === 'connected') ws.send(JSON.stringify({ type: 'subscribe', id: '1', room }));
            if (m.type === 'history' && m.room === room) {
              clearTimeout(timer);
              ws.close();
              resolve(m.messages);
            }
          }
        };
      });
    }, room);
  } finally {
    await page.close();
  }
}
