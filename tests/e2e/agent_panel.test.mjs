// tests/e2e/agent_panel.test.mjs — the demo's agent panel with the real tandem-agent (issue 5
// Done-when): a real tandem-server (--dev), real Chromium, and tandem-agent as a child process
// building into the page's workflow room at a slow --step-ms.
//
//  (a) Time to connected: page load (navigation start, performance.now() = 0) to the client's
//      first `open` state, read from the demo's hook (window.tandemTiming.connectedMs,
//      <html data-connected-ms>) — a cold load and a few reloads, printed in the test output.
//  (b) The page opened with ?room=…&join=1&agent=…&watch=1 is in both rooms at once, and the
//      panel shows the command that runs an agent for them.
//  (c) tandem-agent runs: the panel shows its streamed thinking, nodes appear in the workflow
//      list one by one; Pause → the agent says `paused` and the node count stays the same over a
//      measured window of more than three steps; Resume → more nodes; the run ends with `done`,
//      the list holds every planned node and the agent exits 0.
//  (d) "New workflow session" makes fresh rooms (the URL follows); a second agent run there is
//      cancelled from the panel: `cancelled` shown, the plan unfinished, the agent exits 0.
//
// Screenshots in TANDEM_ARTIFACTS_DIR: agent-panel-desktop.png, agent-panel-narrow.png,
// agent-panel-cancelled.png. Needs TANDEM_SERVER_BIN, TANDEM_AGENT_BIN, TANDEM_WWW_DIR.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { chromiumArgs, chromiumPath } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { requireWebRoot } from './lib/www.mjs';

const WAIT_MS = 15_000;      // deadline for each page condition
const STEP_MS = 300;         // the agent's pause between steps
const PAUSE_WINDOW_MS = 4 * STEP_MS;  // the paused agent must not add a node for > 3 steps
const EXIT_MS = 10_000;      // from done/cancelled to the agent's exit
const RELOADS = 4;           // warm page loads measured after the cold one
const VIEWPORT = { width: 1200, height: 1000 };
const NARROW = { width: 390, height: 844 };
const PROMPT = 'Every morning fetch new orders, keep the paid ones and email a summary';
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'test-artifacts');
const suffix = randomBytes(4).toString('hex');
const WORKFLOW = `workflow:e2e-${suffix}`;
const AGENT = `agent:e2e-${suffix}`;

let server;
let browser;
let page;
const pageConsole = [];
const agents = [];  // every spawned tandem-agent: {child, output, exited}

before(async () => {
  const webRoot = requireWebRoot();
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  if (!process.env.TANDEM_AGENT_BIN) throw new Error('TANDEM_AGENT_BIN is not set: point it at the tandem-agent binary');
  await mkdir(artifactsDir, { recursive: true });
  server = await startServer({ binary, webRoot });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  const context = await browser.newContext({ viewport: VIEWPORT });
  page = await context.newPage();
  page.on('console', (message) => pageConsole.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => pageConsole.push(`[pageerror] ${error.message}`));
});

after(async () => {
  for (const agent of agents) if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
  await browser?.close();
  await server?.stop();
});

function diagnostics() {
  const agentOutput = agents.map((a, i) => `--- agent ${i + 1} ---\n${a.output.slice(-3000)}`).join('\n');
  return `\n--- page console ---\n${pageConsole.slice(-40).join('\n')}\n${agentOutput}\n--- server ---\n${server.output.slice(-3000)}`;
}

// Waits for fn(arg) to be truthy in the page; on timeout says what was awaited and what the
// page showed.
async function waitInPage(what, fn, arg, timeout = WAIT_MS) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch (error) {
    const shown = await page.locator('main').innerText().catch(() => '?');
    throw new Error(`page: ${what}: ${error.message}\n--- page ---\n${shown.slice(0, 3000)}${diagnostics()}`);
  }
}

// Starts tandem-agent against the test's server; its dev token comes from --dev.
function startAgent({ agentRoom, workflowRoom }) {
  const child = spawn(process.env.TANDEM_AGENT_BIN, [
    '--url', server.wsUrl, '--agent-room', agentRoom, '--workflow', workflowRoom,
    '--prompt', PROMPT, '--step-ms', String(STEP_MS), '--dev-name', 'Agent',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const agent = { child, output: '' };
  child.stdout.on('data', (chunk) => { agent.output += chunk; });
  child.stderr.on('data', (chunk) => { agent.output += chunk; });
  agent.exited = new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  agents.push(agent);
  return agent;
}

async function exitOf(agent) {
  const timedOut = Symbol('timed out');
  const result = await Promise.race([agent.exited, delay(EXIT_MS, timedOut, { ref: false })]);
  if (result === timedOut) throw new Error(`tandem-agent did not exit within ${EXIT_MS} ms${diagnostics()}`);
  return result;
}

// How many steps the agent had started when it paused, from its log (stderr, unbuffered).
async function stepsStartedBeforePause(agent) {
  const deadline = Date.now() + WAIT_MS;
  while (!/tandem-agent: paused/.test(agent.output)) {
    if (Date.now() > deadline) throw new Error(`tandem-agent did not log its pause${diagnostics()}`);
    await delay(25);
  }
  const before = agent.output.slice(0, agent.output.search(/tandem-agent: paused/));
  const steps = [...before.matchAll(/tandem-agent: step (\d+)\//g)];
  return steps.length ? Number(steps.at(-1)[1]) : 0;
}

const nodeCount = () => page.locator('[data-testid="doc-node"]').count();
const streamed = () => page.$$eval('[data-testid="agent-event"]', (items) => items.map((i) => i.dataset.event));
const agentStatus = () => page.locator('[data-testid="agent-status"]').getAttribute('data-state');

// Records in the page every node count the workflow list shows, as it changes.
async function watchNodeCounts() {
  await page.evaluate(() => {
    const list = document.querySelector('[data-testid="doc-nodes"]');
    window.nodeCounts = [list.querySelectorAll('[data-testid="doc-node"]').length];
    new MutationObserver(() => {
      const count = list.querySelectorAll('[data-testid="doc-node"]').length;
      if (count !== window.nodeCounts.at(-1)) window.nodeCounts.push(count);
    }).observe(list, { childList: true });
  });
}

const pageUrl = (params) => `${server.httpUrl}/?${new URLSearchParams({ name: 'Ana', ...params })}`;

test('time from page load to connected', async (t) => {
  const url = pageUrl({ room: WORKFLOW, agent: AGENT });
  const samples = [];
  for (let i = 0; i <= RELOADS; i++) {
    if (i === 0) await page.goto(url); else await page.reload();
    const handle = await waitInPage('connected', () => window.tandemTiming?.connectedMs ?? null);
    const ms = await handle.jsonValue();
    const timing = await page.evaluate(() => ({ ...window.tandemTiming }));
    assert.equal(await page.locator('#state').getAttribute('data-state'), 'open');
    assert.equal(await page.locator('html').getAttribute('data-connected-ms'), ms.toFixed(1));
    samples.push({ ms, timing });
  }
  const warm = samples.slice(1).map((s) => s.ms).sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)];
  const fmt = (n) => `${n.toFixed(1)} ms`;
  const line = `time to connected (navigation start -> state open, localhost): cold ${fmt(samples[0].ms)} ` +
    `(token ${fmt(samples[0].timing.tokenMs)}, module+wasm ${fmt(samples[0].timing.moduleMs)}); ` +
    `warm median ${fmt(median)} of ${warm.length} [${warm.map((n) => n.toFixed(0)).join(', ')}]`;
  console.log(line);
  t.diagnostic(line);
  assert.ok(samples[0].ms > 0 && samples[0].ms < WAIT_MS);
});

test('the page joins the rooms in its address and shows the command for an agent run', async () => {
  await page.goto(pageUrl({ room: WORKFLOW, join: '1', agent: AGENT, watch: '1' }));
  await waitInPage(`in ${WORKFLOW}`, () => document.querySelector('[data-testid="workflow-panel"]')?.dataset.state === 'joined');
  await waitInPage(`watching ${AGENT}`, () => document.querySelector('[data-testid="agent-state"]')?.dataset.state === 'joined');
  const command = await page.locator('[data-testid="agent-command"]').textContent();
  assert.match(command, /^tandem-agent --url ws:\/\/127\.0\.0\.1:\d+\/ws /);
  assert.ok(command.includes(`--agent-room ${AGENT} --workflow ${WORKFLOW} --prompt '`), command);
  assert.equal(await nodeCount(), 0);
  // The canvas link opens the same workflow and agent rooms as the same user.
  const canvasLink = new URL(await page.locator('[data-testid="canvas-link"]').getAttribute('href'), 'http://x');
  assert.equal(canvasLink.pathname, '/canvas.html');
  assert.equal(canvasLink.searchParams.get('room'), WORKFLOW);
  assert.equal(canvasLink.searchParams.get('agent'), AGENT);
  assert.ok(canvasLink.searchParams.get('name'), 'the user name goes along');
  // A reload returns to the same rooms (the address kept join=1 and watch=1).
  await page.reload();
  await waitInPage(`in ${WORKFLOW} after a reload`, () => document.querySelector('[data-testid="workflow-panel"]')?.dataset.state === 'joined');
  await waitInPage(`watching ${AGENT} after a reload`, () => document.querySelector('[data-testid="agent-state"]')?.dataset.state === 'joined');
});

test('tandem-agent streams a workflow into the page; pause holds it, resume continues, done', async () => {
  await watchNodeCounts();
  const agent = startAgent({ agentRoom: AGENT, workflowRoom: WORKFLOW });

  // Thinking is streamed and shown; then nodes arrive one at a time.
  await waitInPage('streamed thinking', () => document.querySelector('[data-testid="agent-event"][data-event="thinking"]'));
  assert.equal(await agentStatus(), 'running');
  await waitInPage('two nodes', () => document.querySelectorAll('[data-testid="doc-node"]').length >= 2);

  // Pause: the agent finishes the step in flight and says `paused`.
  await page.locator('[data-testid="agent-pause"]').click();
  await waitInPage('the agent paused', () =>
    document.querySelector('[data-testid="agent-event"][data-event="paused"]') &&
    document.querySelector('[data-testid="agent-status"]')?.dataset.state === 'paused');
  // A step in flight when the pause arrived still completes (its node and its stream event may
  // land after `paused`): the agent's log says which steps it had started ("step k/M: …" lines
  // before "paused"); wait until the page shows all of them, then measure.
  const started = await stepsStartedBeforePause(agent);
  await waitInPage(`the ${started} steps started before the pause`, (k) => {
    const events = [...document.querySelectorAll('[data-testid="agent-event"]')].map((i) => i.dataset.event);
    const steps = events.filter((e) => ['thinking', 'node_created', 'edge_created'].includes(e)).length;
    const nodes = events.filter((e) => e === 'node_created').length;
    return steps === k && document.querySelectorAll('[data-testid="doc-node"]').length === nodes;
  }, started);
  const pausedCount = await nodeCount();
  const eventsAtPause = (await streamed()).length;
  // A measured window of more than three steps: sample the list in the page every 25 ms.
  const window = await page.evaluate(async (ms) => {
    const count = () => document.querySelectorAll('[data-testid="doc-node"]').length;
    const seen = new Set([count()]);
    const start = performance.now();
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        seen.add(count());
        if (performance.now() - start >= ms) { clearInterval(timer); resolve(); }
      }, 25);
    });
    return { seen: [...seen], elapsed: performance.now() - start };
  }, PAUSE_WINDOW_MS);
  assert.ok(window.elapsed >= 3 * STEP_MS, `window ${window.elapsed} ms`);
  assert.deepEqual(window.seen, [pausedCount], `node counts seen while paused: ${window.seen}`);
  assert.equal((await streamed()).length, eventsAtPause, 'nothing streamed while paused');
  assert.equal(await agentStatus(), 'paused');
  await page.screenshot({ path: join(artifactsDir, 'agent-panel-paused.png'), fullPage: true, animations: 'disabled' });

  // Resume: `resumed`, then more nodes.
  await page.locator('[data-testid="agent-resume"]').click();
  await waitInPage('more nodes after resume', (n) => document.querySelectorAll('[data-testid="doc-node"]').length > n, pausedCount);
  assert.ok((await streamed()).includes('resumed'));

  // The run ends with `done` naming how many nodes it built; the list holds them all.
  await waitInPage('done', () => document.querySelector('[data-testid="agent-status"]')?.dataset.state === 'done');
  const events = await streamed();
  assert.equal(events.at(-1), 'done');
  const planned = events.filter((e) => e === 'node_created').length;
  await waitInPage(`${planned} nodes`, (n) => document.querySelectorAll('[data-testid="doc-node"]').length === n, planned);
  const counts = await page.evaluate(() => window.nodeCounts);
  assert.deepEqual(counts, Array.from({ length: planned + 1 }, (_, i) => i), `nodes appear one by one: ${counts}`);
  assert.match(await page.locator('[data-testid="agent-events"]').innerText(), /Paused after \d+ steps[\s\S]*Resuming/);
  // Readable lines, not JSON: "Label (type)" for each node, "N nodes, M edges" at the end.
  const shown = await page.locator('[data-testid="agent-events"]').innerText();
  for (const label of await page.$$eval('[data-testid="doc-node-label"]', (inputs) => inputs.map((i) => i.value))) {
    assert.ok(shown.includes(`${label} (`), `the panel names node "${label}"`);
  }
  assert.match(shown, new RegExp(`${planned} nodes, \\d+ edges`));
  const { code, signal } = await exitOf(agent);
  assert.equal(code, 0, `tandem-agent exit ${code} ${signal}${diagnostics()}`);

  await page.screenshot({ path: join(artifactsDir, 'agent-panel-desktop.png'), fullPage: true, animations: 'disabled' });
  await page.setViewportSize(NARROW);
  await page.screenshot({ path: join(artifactsDir, 'agent-panel-narrow.png'), fullPage: true, animations: 'disabled' });
  // Nothing overflows sideways on a phone.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scroll at 390 px');
  await page.setViewportSize(VIEWPORT);
});

test('a new workflow session gets fresh rooms; cancel stops an agent run there', async () => {
  await page.locator('[data-testid="new-session"]').click();
  await waitInPage('fresh rooms joined', (old) => {
    const params = new URLSearchParams(location.search);
    return params.get('room') !== old && params.get('room')?.startsWith('workflow:') &&
      document.querySelector('[data-testid="workflow-panel"]')?.dataset.state === 'joined' &&
      document.querySelector('[data-testid="agent-state"]')?.dataset.state === 'joined' &&
      document.querySelector('[data-testid="agent-room"]').value === params.get('agent');
  }, WORKFLOW);
  const params = new URL(page.url()).searchParams;
  const [workflowRoom, agentRoom] = [params.get('room'), params.get('agent')];
  assert.equal(agentRoom.slice('agent:'.length), workflowRoom.slice('workflow:'.length));
  assert.equal(await nodeCount(), 0);
  assert.equal((await streamed()).length, 0);
  assert.ok((await page.locator('[data-testid="agent-command"]').textContent()).includes(`--agent-room ${agentRoom} --workflow ${workflowRoom}`));

  const agent = startAgent({ agentRoom, workflowRoom });
  await waitInPage('a first node', () => document.querySelectorAll('[data-testid="doc-node"]').length >= 1);
  await page.locator('[data-testid="agent-cancel"]').click();
  await waitInPage('cancelled', () =>
    document.querySelector('[data-testid="agent-event"][data-event="cancelled"]') &&
    document.querySelector('[data-testid="agent-status"]')?.dataset.state === 'cancelled');
  const { code, signal } = await exitOf(agent);
  assert.equal(code, 0, `tandem-agent exit ${code} ${signal}${diagnostics()}`);
  const events = await streamed();
  assert.ok(!events.includes('done'), `no done after cancel: ${events}`);
  assert.match(await page.locator('[data-testid="agent-events"]').innerText(), /Cancelled after \d+ of \d+ steps/);
  await page.screenshot({ path: join(artifactsDir, 'agent-panel-cancelled.png'), fullPage: true, animations: 'disabled' });
});
