// tests/e2e/canvas/native.test.mjs — the desktop tandem-canvas under Xvfb against a real
// tandem-server: it connects, draws the "open" state with the user from the token, and
// writes a screenshot that is checked pixel by pixel; an expired token ends in "closed
// (unauthorized)", drawn red; a bad flag is a usage error; --dev-name gets a token from the
// server and the app comes back to "open" after the server restarts; a node created in a
// workflow room while the server is down waits as a queued edit (state dump) and is stored
// once it is back.
//
// Needs TANDEM_CANVAS_BIN, TANDEM_SERVER_BIN and TANDEM_WWW_DIR (ctest sets them) and
// xvfb-run. Screenshots are kept in TANDEM_ARTIFACTS_DIR.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { startServer } from '../lib/server.mjs';
import { assertDrawn } from './expectations.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { decodePng } from './png.mjs';

const RUN_DEADLINE_MS = 60_000;  // one canvas run: Xvfb start + connect + a few frames ≈ 1-2 s
const CANVAS_TIMEOUT_MS = 45_000;  // the app's own --timeout-ms, below the deadline above
const SIZE = { width: 800, height: 600 };
const XVFB_SCREEN = '-screen 0 1280x800x24';
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts');
const canvasBinary = process.env.TANDEM_CANVAS_BIN;

let server;

before(async () => {
  if (!canvasBinary) throw new Error('TANDEM_CANVAS_BIN is not set: point it at the tandem-canvas binary');
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  const webRoot = process.env.TANDEM_WWW_DIR ?? process.cwd();  // pages are not used here
  server = await startServer({ binary, webRoot });
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  await server?.stop();
});

// Starts tandem-canvas (under xvfb-run when `display` is set). Returns
// { stdout(), stderr(), exited: Promise<code>, waitForLine(regex), kill() }; the whole
// process group (xvfb-run, Xvfb, the app) is killed at the deadline.
function startCanvas(args, { display = true } = {}) {
  const command = display ? 'xvfb-run' : canvasBinary;
  const argv = display ? ['-a', '-s', XVFB_SCREEN, canvasBinary, ...args] : args;
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let running = true;
  const waiters = [];
  const kill = () => { if (running) process.kill(-child.pid, 'SIGKILL'); };
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const w of waiters.splice(0)) (w.regex.test(stdout.slice(w.from)) ? w.resolve() : waiters.push(w));
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const timer = setTimeout(kill, RUN_DEADLINE_MS);
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      running = false;
      clearTimeout(timer);
      for (const w of waiters.splice(0)) w.reject(new Error(`tandem-canvas exited before ${w.regex}`));
      resolve(code ?? signal);
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill,
    // Resolves when `regex` matches output printed after this call (or already there when
    // `fromStart`); rejects if the app exits first. The run deadline bounds the wait.
    waitForLine(regex, { fromStart = false } = {}) {
      const from = fromStart ? 0 : stdout.length;
      if (fromStart && regex.test(stdout)) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ regex, from, resolve, reject }));
    },
  };
}

// Runs tandem-canvas to its end: { code, stdout, stderr }.
async function runCanvas(args, options) {
  const canvas = startCanvas(args, options);
  const code = await canvas.exited;
  return { code, stdout: canvas.stdout(), stderr: canvas.stderr() };
}

const describeRun = (run) => `\n--- stdout ---\n${run.stdout}--- stderr ---\n${run.stderr}` +
                             `--- server ---\n${server.output.slice(-2000)}`;

test('connects to tandem-server and draws the open state with the user from the token', async () => {
  const colour = '#3366ff';
  const token = mintToken(server.jwtSecret, { sub: 'e2e-native', name: 'Native E2E', color: colour });
  const screenshot = join(artifactsDir, 'canvas-native-open.png');
  const run = await runCanvas([
    '--url', server.wsUrl, '--token', token,
    '--width', String(SIZE.width), '--height', String(SIZE.height),
    '--exit-after-connected-frames', '10', '--timeout-ms', String(CANVAS_TIMEOUT_MS),
    '--screenshot', screenshot]);

  assert.equal(run.code, 0, `exit code${describeRun(run)}`);
  assert.match(run.stdout, /^state: connecting \(started\)$/m, describeRun(run));
  assert.match(run.stdout, /^state: open \(connected\)$/m, describeRun(run));
  assert.match(run.stdout, new RegExp(`^screenshot: .* ${SIZE.width}x${SIZE.height}$`, 'm'));
  // The cleanup closes politely after the loop.
  assert.match(run.stdout, /^state: closed \(stopped\)$/m, describeRun(run));

  const image = decodePng(await readFile(screenshot));
  assert.deepEqual([image.width, image.height], [SIZE.width, SIZE.height]);
  assertDrawn(image, { state: 'open', userColour: colour }, screenshot);
});

test('an expired token ends in closed (unauthorized), drawn red', async () => {
  const hourAgo = Math.floor(Date.now() / 1000) - 3600;  // far past the 30 s leeway
  const token = mintToken(server.jwtSecret, { exp: hourAgo, iat: hourAgo - 60 });
  const screenshot = join(artifactsDir, 'canvas-native-unauthorized.png');
  const run = await runCanvas([
    '--url', server.wsUrl, '--token', token,
    '--width', String(SIZE.width), '--height', String(SIZE.height),
    '--exit-after-closed-frames', '5', '--timeout-ms', String(CANVAS_TIMEOUT_MS),
    '--screenshot', screenshot]);

  assert.equal(run.code, 0, `exit code${describeRun(run)}`);
  assert.match(run.stdout, /^state: closed \(unauthorized\)$/m, describeRun(run));
  assert.doesNotMatch(run.stdout, /^state: open/m, describeRun(run));
  const image = decodePng(await readFile(screenshot));
  assertDrawn(image, { state: 'closed' }, screenshot);
});

test('a URL that is not ws:// is a usage error, before any window opens', async () => {
  const run = await runCanvas(['--url', `${server.httpUrl}/ws`], { display: false });
  assert.equal(run.code, 2, describeRun(run));
  assert.match(run.stderr, /--url must start with ws:\/\/ or wss:\/\//);
});

test('--dev-name gets a token, and the app reconnects across a server restart', async () => {
  const canvas = startCanvas([
    '--url', server.wsUrl, '--dev-name', 'Restart E2E', '--timeout-ms', String(CANVAS_TIMEOUT_MS)]);
  const describe = () => describeRun({ stdout: canvas.stdout(), stderr: canvas.stderr() });
  try {
    await canvas.waitForLine(/^state: open \(connected\)$/m, { fromStart: true });
    // SIGTERM: the server closes every client with 1012 "restart", exits, and starts again
    // on the same port with the same secret, so the dev token stays valid.
    const reconnected = canvas.waitForLine(/^state: reconnecting \(server closed\)$[\s\S]*^state: open \(connected\)$/m);
    await server.restart();
    await reconnected;
  } catch (error) {
    throw new Error(`${error.message}${describe()}`);
  } finally {
    canvas.kill();
    await canvas.exited;
  }
  assert.match(server.output, /dev token minted for dev:restart-e2e/, describe());
});

test('an edit made while the server is down is queued, shown as queued, and stored once it is back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-canvas-offline-'));
  const statePath = join(dir, 'state.json');
  const gate = join(dir, 'server-down');
  const readState = async () => JSON.parse(await readFile(statePath, 'utf8').catch(() => 'null'));
  const canvas = startCanvas([
    '--url', server.wsUrl, '--token', mintToken(server.jwtSecret, { sub: 'offline', name: 'Offline E2E' }),
    '--room', 'workflow:e2e-offline', '--state-file', statePath, '--timeout-ms', String(CANVAS_TIMEOUT_MS),
    '--script', `wait-joined; wait-file ${gate}; create n-off http_request 10 10 Made offline; wait-node n-off; exit`]);
  const describe = () => describeRun({ stdout: canvas.stdout(), stderr: canvas.stderr() });
  // Polls the state dump until `check(state)` holds; the run deadline bounds it (the app exits
  // or is killed, and then the dump no longer changes: fail then).
  const until = async (what, check) => {
    const deadline = Date.now() + RUN_DEADLINE_MS;
    for (;;) {
      const state = await readState();
      if (state && check(state)) return state;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(state)}${describe()}`);
      await delay(25);
    }
  };
  try {
    await until('joined', (state) => state.joined && state.connection === 'open');
    await server.stop();
    await until('the connection lost', (state) => state.connection !== 'open');
    // The connection indicator's countdown to the next attempt is in the dump while reconnecting.
    const countdown = await until('reconnecting with a countdown',
      (state) => state.connection === 'reconnecting' && typeof state.retry_in_ms === 'number');
    assert.ok(countdown.retry_in_ms >= 0 && countdown.retry_in_ms <= 30_000, `retry_in_ms ${countdown.retry_in_ms}`);
    await writeFile(gate, '');
    const offline = await until('the edit queued', (state) => state.queued >= 1);
    assert.equal(offline.nodes.some((n) => n.id === 'n-off'), false, 'not in the replica before the server applied it');
    await server.start();
    assert.equal(await canvas.exited, 0, describe());
    const final = await readState();
    assert.deepEqual(final.nodes.filter((n) => n.id === 'n-off').map((n) => [n.label, n.x, n.y]), [['Made offline', 10, 10]]);
    assert.equal(final.queued, 0);
    assert.match(canvas.stdout(), /^edit: create n-off ok$/m, describe());
  } finally {
    canvas.kill();
    await canvas.exited;
    if (!server.running) await server.start();
    await rm(dir, { recursive: true, force: true });
  }
});
