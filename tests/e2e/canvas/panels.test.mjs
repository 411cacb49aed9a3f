// tests/e2e/canvas/panels.test.mjs — the desktop canvas's side panels (Chat, Executions, Agent)
// against a real tandem-server under Xvfb. The canvas (Ana) joins a workflow room and an agent
// room; another client (Ben, a plain WebSocket from this test) chats there before and after,
// types, and streams as an agent would; a backend publishes an execution_update over HTTP. Each
// shows up in the canvas, checked through the lines the panels print on stdout:
//   chat: Ben: ...               the history on join, then a live message
//   typing: Ben is typing...     and "typing: nobody" once his message cleared it
//   execution: run-1 running 2/5 nodes · 40% at Fetch orders · fetching page 2
//   agent: thinking: ...         and agent: node_created: Fetch orders (http)
// and the --state-file dump holds the same chat and agent events at the end.
// Every wait is on a line with a deadline. The canvas's --script holds until the test adds a
// last node, then exits and saves a screenshot of the panels (kept in TANDEM_ARTIFACTS_DIR).
//
// The browser build (web/canvas.html in headless Chromium) is driven the other way, with the
// mouse and keyboard: typing in the chat input reaches Ben as `typing`, Enter sends the line
// (acked, echoed, received by Ben), and the Agent panel's Pause reaches Ben, the producer, as
// stream_control. The app's lines arrive through the page console.
//
// Needs TANDEM_CANVAS_BIN, TANDEM_SERVER_BIN, TANDEM_WWW_DIR with the wasm build's canvas.*
// (ctest sets them), xvfb-run, Chromium, and a global WebSocket (node 22, or node 20 with
// --experimental-websocket, which ctest passes).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { waitFor as pollFor } from './desktop.mjs';
import { imguiInput } from './imgui_input.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { decodePng, hexToRgb } from './png.mjs';

// Generous: a deadline costs nothing when the condition holds, and a CI machine may be busy.
const LINE_DEADLINE_MS = 30_000;   // each awaited line; they take well under a second here
const CANVAS_TIMEOUT_MS = 120_000;  // the app's own --timeout-ms, so a hang cannot outlive ctest
const SIZE = { width: 1100, height: 760 };
const PUBLISH_KEY = randomBytes(24).toString('hex');
const suffix = randomBytes(4).toString('hex');
const WORKFLOW = `workflow:panels-${suffix}`;
const AGENT = `agent:panels-${suffix}`;
const ANA = { sub: 'ana', name: 'Ana', color: '#e91e63' };
const BEN = { sub: 'ben', name: 'Ben', color: '#3366ff' };
// execution_panel.cpp's succeeded colour {0.35, 0.80, 0.45} as 8-bit, and how much of it and of
// Ben's name (two "Ben" in the chat, ~25 px each) the screenshot must hold; the bar alone is
// ~340 x 19 px.
const SUCCEEDED_GREEN = [89, 204, 115];
const MIN_NAME_PIXELS = 20;
const MIN_BAR_PIXELS = 2000;
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts');
const canvasBinary = process.env.TANDEM_CANVAS_BIN;

let server;

before(async () => {
  if (!canvasBinary) throw new Error('TANDEM_CANVAS_BIN is not set: point it at the tandem-canvas binary');
  if (typeof WebSocket !== 'function') throw new Error('no global WebSocket: run node with --experimental-websocket');
  const binary = process.env.TANDEM_SERVER_BIN;
  if (!binary) throw new Error('TANDEM_SERVER_BIN is not set: point it at the tandem-server binary');
  server = await startServer({ binary, webRoot: process.env.TANDEM_WWW_DIR ?? process.cwd(),
                               extraArgs: ['--publish-api-key', PUBLISH_KEY] });
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  await server?.stop();
});

// Resolves once `done()` is true (checked now and whenever `onChange` fires), rejects at the
// deadline saying what was awaited.
function waitFor(what, done, onChange) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${LINE_DEADLINE_MS} ms`)), LINE_DEADLINE_MS);
    const check = () => {
      if (!done()) return false;
      clearTimeout(timer);
      resolve();
      return true;
    };
    if (!check()) onChange(check);
  });
}

// A list of pending checks, run again whenever new input arrived; the ones that held are dropped.
function checks() {
  let pending = [];
  return { add: (check) => pending.push(check), run: () => { pending = pending.filter((check) => !check()); } };
}

// tandem-canvas under xvfb-run; its stdout is collected and lines are awaited with waitForLine.
function startCanvas(args) {
  const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x800x24', canvasBinary, ...args],
                      { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const waiting = checks();
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    waiting.run();
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine: (regex) => waitFor(`canvas stdout ${regex}`, () => regex.test(stdout), waiting.add),
    kill: () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } },
  };
}

// Ben: a bare WebSocket client speaking the protocol (docs/PROTOCOL.md), to be "another client".
async function connectPeer(claims) {
  const ws = new WebSocket(`${server.wsUrl}?token=${encodeURIComponent(mintToken(server.jwtSecret, claims))}`);
  const received = [];
  const waiting = checks();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    received.push(...(Array.isArray(message) ? message : [message]));
    waiting.run();
  });
  let nextId = 1;
  const peer = {
    send: (message) => ws.send(JSON.stringify(message)),
    // Sends a request with an id; resolves with its answer (ack, subscribed), rejects on error.
    async request(message) {
      const id = String(nextId++);
      peer.send({ ...message, id });
      const answer = () => received.find((m) => m.id === id);
      await waitFor(`${claims.name}: answer to ${message.type}`, () => answer() !== undefined, waiting.add);
      if (answer().type === 'error') throw new Error(`${message.type}: ${answer().code}: ${answer().message}`);
      return answer();
    },
    // Resolves once a message matching `predicate` has arrived (rejects at the deadline).
    receive: (what, predicate) => waitFor(`${claims.name}: ${what}`, () => received.some(predicate), waiting.add),
    close: () => ws.close(),
  };
  await waitFor(`${claims.name}: connected`, () => received.some((m) => m.type === 'connected'), waiting.add);
  return peer;
}

// A widget place (widget_places.h) as a pixel box.
const boxOf = (place) => ({ left: Math.round(place.x), top: Math.round(place.y),
                            right: Math.round(place.x + place.width), bottom: Math.round(place.y + place.height) });

// Pixels of `rgb` (exactly: Dear ImGui's default font and bars are not antialiased) inside `box`.
function countPixelsIn(image, box, [r, g, b]) {
  let count = 0;
  for (let y = box.top; y < box.bottom; y++) {
    for (let x = box.left; x < box.right; x++) {
      const i = (y * image.width + x) * image.channels;
      if (image.pixels[i] === r && image.pixels[i + 1] === g && image.pixels[i + 2] === b) count++;
    }
  }
  return count;
}

const publish = (body) => server.publish(PUBLISH_KEY, body);

test('chat, typing, an execution and an agent stream from others show in the canvas panels', async () => {
  const ben = await connectPeer(BEN);
  const screenshot = join(artifactsDir, 'canvas-native-panels.png');
  const stateFile = join(artifactsDir, 'canvas-native-panels.json');
  let canvas;
  try {
    await ben.request({ type: 'subscribe', room: WORKFLOW });
    await ben.request({ type: 'subscribe', room: AGENT });
    await ben.request({ type: 'node_create', room: WORKFLOW,
                       node: { id: 'n1', type: 'http', label: 'Fetch orders', x: 80, y: 60 } });
    await ben.request({ type: 'chat', room: WORKFLOW, text: 'morning from Ben' });

    canvas = startCanvas([
      '--url', server.wsUrl, '--token', mintToken(server.jwtSecret, ANA),
      '--room', WORKFLOW, '--agent-room', AGENT,
      '--width', String(SIZE.width), '--height', String(SIZE.height),
      // Held until the test adds node n3 at the end, then a few frames and out (with the shot).
      '--script', 'wait-node n3; wait-frames 3; exit',
      '--timeout-ms', String(CANVAS_TIMEOUT_MS), '--screenshot', screenshot, '--state-file', stateFile]);
    await canvas.waitForLine(new RegExp(`^room: joined ${WORKFLOW}$`, 'm'));
    await canvas.waitForLine(new RegExp(`^room: joined ${AGENT}$`, 'm'));
    // The history on join.
    await canvas.waitForLine(/^chat: Ben: morning from Ben$/m);

    // Typing, then a live message, which ends the indicator.
    ben.send({ type: 'typing', room: WORKFLOW });
    await canvas.waitForLine(/^typing: Ben is typing\.\.\.$/m);
    await ben.request({ type: 'chat', room: WORKFLOW, text: 'hi Ana, the run starts now' });
    await canvas.waitForLine(/^chat: Ben: hi Ana, the run starts now$/m);
    await canvas.waitForLine(/^typing: Ben is typing\.\.\.$[\s\S]*^typing: nobody$/m);

    // A backend's progress, published over HTTP.
    await publish({ type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: 'running',
                    node: 'n1', completed_nodes: 2, total_nodes: 5, message: 'fetching page 2' });
    await canvas.waitForLine(/^execution: run-1 running 2\/5 nodes · 40% at Fetch orders · fetching page 2$/m);
    await publish({ type: 'execution_update', room: WORKFLOW, execution: 'run-1', status: 'succeeded',
                    completed_nodes: 5, total_nodes: 5 });
    await canvas.waitForLine(/^execution: run-1 succeeded 5\/5 nodes · 100%$/m);

    // Ben as a producer in the agent room, streaming what tandem-agent streams.
    await ben.request({ type: 'stream', room: AGENT, event: 'thinking', data: { text: 'Looking for a trigger' } });
    await ben.request({ type: 'stream', room: AGENT, event: 'node_created',
                       data: { id: 'n2', type: 'http', label: 'Fetch orders' } });
    await canvas.waitForLine(/^agent: thinking: Looking for a trigger$/m);
    await canvas.waitForLine(/^agent: node_created: Fetch orders \(http\)$/m);

    // Lets the canvas's script go on to its exit.
    await ben.request({ type: 'node_create', room: WORKFLOW,
                       node: { id: 'n3', type: 'email', label: 'Email summary', x: 380, y: 60 } });
    assert.equal(await canvas.exited, 0, 'exit code');
  } catch (error) {
    throw new Error(`${error.message}\n--- canvas stdout ---\n${canvas?.stdout() ?? ''}` +
                    `--- canvas stderr ---\n${canvas?.stderr() ?? ''}--- server ---\n${server.output.slice(-2000)}`);
  } finally {
    ben.close();
    canvas?.kill();
    await canvas?.exited;
  }
  // The state dump (written on the way out) holds what the chat and agent panels show.
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  assert.deepEqual(state.chat.map((m) => `${m.name}: ${m.text}`),
                   ['Ben: morning from Ben', 'Ben: hi Ana, the run starts now']);
  assert.deepEqual(state.typing, []);
  assert.equal(state.agent.room, AGENT);
  assert.deepEqual(state.agent.events.map((e) => `${e.event}: ${e.text}`),
                   ['thinking: Looking for a trigger', 'node_created: Fetch orders (http)']);

  // The panels are drawn, not just printed: Ben's name in his colour in the Chat window, and the
  // finished run's bar in the succeeded green in the Executions window above it (where the
  // dump, written with the screenshot's frame, says the canvas drew those windows).
  const image = decodePng(await readFile(screenshot));
  assert.deepEqual([image.width, image.height], [SIZE.width, SIZE.height]);
  const chatWindow = boxOf(state.widgets['window.Chat']);
  const executionsWindow = boxOf(state.widgets['window.Executions']);
  const benPixels = countPixelsIn(image, chatWindow, hexToRgb(BEN.color));
  assert.ok(benPixels >= MIN_NAME_PIXELS, `${benPixels} pixels of Ben's colour in the Chat window (${screenshot})`);
  const barPixels = countPixelsIn(image, executionsWindow, SUCCEEDED_GREEN);
  assert.ok(barPixels >= MIN_BAR_PIXELS, `${barPixels} pixels of the succeeded bar in Executions (${screenshot})`);
});

const BROWSER_VIEWPORT = { width: 1100, height: 760 };

test('in the browser build, typing, Enter and Pause in the panels reach the other client', async () => {
  const webRoot = process.env.TANDEM_WWW_DIR;
  for (const file of ['canvas.html', 'canvas.js', 'canvas.wasm']) {
    if (!webRoot || !existsSync(join(webRoot, file))) {
      throw new Error(`${file} is missing in TANDEM_WWW_DIR (${webRoot}): build the wasm preset first`);
    }
  }
  const workflow = `${WORKFLOW}-web`;
  const agent = `${AGENT}-web`;
  const ben = await connectPeer(BEN);
  const browser = await launchBrowser({ viewport: BROWSER_VIEWPORT });
  const lines = [];
  const waiting = checks();
  browser.page.on('console', (message) => {
    lines.push(message.text());
    waiting.run();
  });
  const waitForLine = (line) => waitFor(`page console "${line}"`, () => lines.includes(line), waiting.add);
  try {
    await ben.request({ type: 'subscribe', room: workflow });
    await ben.request({ type: 'subscribe', room: agent });
    await ben.request({ type: 'stream', room: agent, event: 'thinking', data: { text: 'Waiting for a go' } });

    const query = new URLSearchParams({ token: mintToken(server.jwtSecret, ANA), room: workflow, agent });
    await browser.page.goto(`${server.httpUrl}/canvas.html?${query}`);
    await waitForLine(`room: joined ${workflow}`);
    await waitForLine(`room: joined ${agent}`);
    await waitForLine('agent: thinking: Waiting for a go');

    // Aimed where the canvas says its widgets are, each step held over frames (imgui_input.mjs).
    const readState = () => browser.page.evaluate(() => window.tandemCanvasState?.() ?? null).catch(() => null);
    const input = imguiInput(browser.page, readState,
                             (what, check) => pollFor(what, check, { deadlineMs: LINE_DEADLINE_MS }));
    await input.click(await input.widgetCentre('chat.input'));
    await input.type('hi Ben');
    await ben.receive('Ana typing', (m) => m.type === 'typing' && m.user === ANA.sub && m.active);
    await input.pressKey('Enter');
    await waitForLine('chat: acked hi Ben');
    await waitForLine('chat: Ana: hi Ben');
    await ben.receive('Ana\'s message', (m) => m.type === 'chat' && m.user === ANA.sub && m.text === 'hi Ben');

    await input.click(await input.widgetCentre('agent.pause'));
    await waitForLine('agent: control pause sent');
    await ben.receive('pause', (m) => m.type === 'stream_control' && m.action === 'pause' && m.user === ANA.sub);
    await browser.page.screenshot({ path: join(artifactsDir, 'canvas-browser-panels.png') });
  } catch (error) {
    throw new Error(`${error.message}\n--- page console ---\n${lines.join('\n')}\n--- server ---\n` +
                    `${server.output.slice(-2000)}`);
  } finally {
    ben.close();
    await browser.close();
  }
});
