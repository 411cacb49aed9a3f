// tests/e2e/canvas/collab.test.mjs — two desktop canvases (under one Xvfb) and a browser canvas
// (the wasm build in headless Chromium) edit one workflow on a real tandem-server (issue 6's
// Done-when): Ana builds a graph and drags a node by script, and Ben's and Cy's (browser) state
// dumps show the new position; Cy drags another node by script and Ana's and Ben's dumps show
// it; Ana's cursor shows in Ben's dump; Ana takes the lock on a node to edit its label and
// Ben's and Cy's dumps (and screenshots) show it locked by Ana; Ben asks for a takeover, Ana
// hands it over, Ben edits the label under the lock and Ana's dump shows the new label; a
// backend publishes node_update and execution_update over HTTP and the nodes' statuses and the
// run reach every canvas (Ana's screenshot shows the status colours); Cy then drags, connects
// and disconnects with the mouse and the Delete key in the browser (the input path, not the
// script), and renames a node under its lock with Enter and typing, and the desktop dumps
// follow; screenshots of all three are checked to show the graph.
//
// Every wait is on a condition with a deadline: the test reads the desktop apps' --state-file
// dumps and stdout and the page's window.tandemCanvasState(), and holds a desktop script at a
// `wait-file` step until it has checked the state before it (it creates the file to let the
// script go on).
//
// Needs TANDEM_CANVAS_BIN, TANDEM_SERVER_BIN, TANDEM_WWW_DIR with the wasm build's canvas.*
// (ctest sets them), Xvfb and Chromium.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { readState, startDesktopCanvas, startXvfb, waitFor as waitForCondition } from './desktop.mjs';
import { assertDrawn } from './expectations.mjs';
import { imguiInput, nodePoints } from './imgui_input.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { countPixelsNear, decodePng, hexToRgb } from './png.mjs';

// Generous: a deadline costs nothing when the condition holds, and a CI machine may be busy.
const CONDITION_DEADLINE_MS = 30_000;  // each awaited condition; they take well under 1 s here
const CANVAS_TIMEOUT_MS = 150_000;     // the apps' own --timeout-ms: a stuck script fails the run
// The server's takeover grace, far beyond any wait here: a takeover granted within the test can
// only come from Ana's "hand over", not from the grace running out (default 5 s).
const LOCK_GRACE_MS = 120_000;
const SIZE = { width: 1280, height: 800 };
const ROOM = 'workflow:e2e-collab';
const ANA = { sub: 'ana', name: 'Ana', color: '#e91e63' };
const BEN = { sub: 'ben', name: 'Ben', color: '#3366ff' };
const CY = { sub: 'cy', name: 'Cy', color: '#22aa44' };
const PUBLISH_KEY = randomBytes(24).toString('hex');
// Title strip colours of wasm-client/canvas/canvas_colours.h's status_colour().
const STATUS_RGB = { succeeded: [60, 175, 90], running: [235, 170, 40], failed: [215, 70, 60] };
const MIN_STRIP_PIXELS = 2_000;  // a node's title strip is 180 x 22 px at zoom 1
// Pixels of the lock badge and cursor drawn in Ana's colour in Ben's window (the badge alone is
// ~60 x 16 px).
const MIN_HOLDER_COLOUR_PIXELS = 300;
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts');
const canvasBinary = process.env.TANDEM_CANVAS_BIN;

let server;
let xvfb;
let browser;
let workDir;

// Opens web/canvas.html in Chromium as `user` with `script`; returns the same shape as
// startCanvas() for waitFor's diagnostics, plus state() and screenshot(path).
async function startBrowserCanvas(user, script) {
  const { page, consoleLines } = browser;
  const query = new URLSearchParams({ token: mintToken(server.jwtSecret, user), room: ROOM, script });
  await page.goto(`${server.httpUrl}/canvas.html?${query}`);
  const stdout = () => consoleLines.filter((l) => l.startsWith('[log] ')).map((l) => `${l.slice(6)}\n`).join('');
  return {
    name: 'cy (browser)',
    stdout,
    stderr: () => consoleLines.filter((l) => !l.startsWith('[log] ') && !l.includes('GL Driver')).join('\n'),
    state: () => page.evaluate(() => window.tandemCanvasState?.() ?? null).catch(() => null),
    screenshot: async (path) => decodePng(await page.locator('canvas#canvas').screenshot({ path })),
  };
}

// Starts one desktop canvas in ROOM with its own state file and `script`.
function startCanvas(name, token, script) {
  const statePath = join(workDir, `${name}.json`);
  const args = ['--url', server.wsUrl, '--token', token, '--room', ROOM,
                '--width', String(SIZE.width), '--height', String(SIZE.height),
                '--timeout-ms', String(CANVAS_TIMEOUT_MS), '--state-file', statePath, '--script', script];
  return startDesktopCanvas({ name, binary: canvasBinary, display: xvfb.display, args, statePath });
}

// Polls until `check()` returns a truthy value; fails with `what` and the apps' output at the deadline.
const waitFor = (what, check, canvases) =>
  waitForCondition(what, check, { canvases, serverOutput: () => server.output, deadlineMs: CONDITION_DEADLINE_MS });

// A backend's POST /api/v1/publish (one message).
const publish = (body) => server.publish(PUBLISH_KEY, body);

const nodeIn = (state, id) => state?.nodes.find((n) => n.id === id);
const lockIn = (state, resource) => state?.locks.find((l) => l.resource === resource);

before(async () => {
  if (!canvasBinary) throw new Error('TANDEM_CANVAS_BIN is not set: point it at the tandem-canvas binary');
  server = await startServer({ binary: process.env.TANDEM_SERVER_BIN, webRoot: process.env.TANDEM_WWW_DIR ?? process.cwd(),
                               extraArgs: ['--publish-api-key', PUBLISH_KEY, '--lock-grace-ms', String(LOCK_GRACE_MS)] });
  const webRoot = process.env.TANDEM_WWW_DIR;
  for (const file of ['canvas.html', 'canvas.js', 'canvas.wasm']) {
    if (!webRoot || !existsSync(join(webRoot, file))) {
      throw new Error(`${file} is missing in TANDEM_WWW_DIR (${webRoot}): build the wasm preset with the same TANDEM_WWW_DIR`);
    }
  }
  xvfb = await startXvfb();
  browser = await launchBrowser({ viewport: SIZE });
  workDir = await mkdtemp(join(tmpdir(), 'tandem-canvas-collab-'));
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  await browser?.close();
  xvfb?.stop();
  await server?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test('two desktop canvases and a browser canvas: drags, a cursor, a label lock and a takeover reach the others', async () => {
  const gate = (name) => join(workDir, name);
  const shot = (name) => join(artifactsDir, `canvas-collab-${name}.png`);
  const anaScript = [
    'wait-joined',
    'create n1 http_request 0 60 Fetch orders',
    'create n2 filter 200 200 Keep paid',
    'create n3 send_email 380 60 Email summary',
    'wait-node n1', 'wait-node n2', 'wait-node n3',
    'connect n1 n2', 'connect n2 n3',
    'cursor 250 30',
    'drag n1 0 330',
    'wait-pos n1 0 330',
    'lock n2', 'wait-lock-held n2',
    'wait-takeover n2', 'hand-over n2',
    `wait-file ${gate('done')}`,
    `screenshot ${shot('ana')}`,
    'exit',
  ].join('; ');
  const benScript = [
    'wait-joined',
    'wait-pos n1 0 330',
    'wait-locked n2',
    `screenshot ${shot('ben-locked')}`,
    `wait-file ${gate('takeover')}`,
    'takeover n2', 'wait-lock-held n2',
    'label n2 Keep paid orders',
    'unlock n2',
    `wait-file ${gate('done')}`,
    `screenshot ${shot('ben')}`,
    'exit',
  ].join('; ');

  const cyScript = 'wait-joined; wait-node n3; drag n3 380 420';

  const started = Date.now();
  const ana = startCanvas('ana', mintToken(server.jwtSecret, ANA), anaScript);
  const ben = startCanvas('ben', mintToken(server.jwtSecret, BEN), benScript);
  const both = [ana, ben];
  try {
    const cy = await startBrowserCanvas(CY, cyScript);
    const all = [ana, ben, cy];
    const at = (state, id, x, y) => nodeIn(state, id)?.x === x && nodeIn(state, id)?.y === y;

    // 1. Ana's scripted drag: Ben's and Cy's replicas show n1 where Ana dropped it, and the edges.
    const benMoved = await waitFor('n1 at 0,330 in Ben\'s dump', async () => {
      const state = await readState(ben);
      return at(state, 'n1', 0, 330) && state.edges.length === 2 ? state : null;
    }, all);
    console.log(`drag seen in the other desktop canvas ${Date.now() - started} ms after the start`);
    assert.equal(benMoved.connection, 'open');
    assert.deepEqual(benMoved.edges.map((e) => [e.from, e.to]).sort(), [['n1', 'n2'], ['n2', 'n3']]);
    assert.equal(nodeIn(benMoved, 'n2').label, 'Keep paid');
    await waitFor('n1 at 0,330 in Cy\'s (browser) dump', async () => at(await readState(cy), 'n1', 0, 330), all);

    // 1b. Cy's scripted drag in the browser reaches both desktop canvases.
    await waitFor('n3 at 380,420 in Ana\'s and Ben\'s dumps', async () =>
      at(await readState(ana), 'n3', 380, 420) && at(await readState(ben), 'n3', 380, 420), all);
    console.log(`browser drag seen in the desktop canvases ${Date.now() - started} ms after the start`);

    // 1c. An execution published over HTTP recolours the nodes in every running canvas.
    await publish({ type: 'node_update', room: ROOM, node: 'n1', status: 'succeeded' });
    await publish({ type: 'node_update', room: ROOM, node: 'n2', status: 'running' });
    await publish({ type: 'node_update', room: ROOM, node: 'n3', status: 'failed' });
    await publish({ type: 'execution_update', room: ROOM, execution: 'run-1', status: 'running', node: 'n2', progress: 0.4 });
    const statuses = (state) => ['n1', 'n2', 'n3'].map((id) => nodeIn(state, id)?.status).join();
    for (const canvas of all) {
      await waitFor(`the published statuses and run in ${canvas.name}'s dump`, async () => {
        const state = await readState(canvas);
        const run = state?.executions?.find((e) => e.id === 'run-1');
        return statuses(state) === 'succeeded,running,failed' && run?.node === 'n2' && run.progress === 0.4;
      }, all);
    }

    // 2. Ana's cursor and all three people are in Ben's presence.
    await waitFor('Ana\'s cursor in Ben\'s dump', async () => {
      const state = await readState(ben);
      const member = state?.members.find((m) => m.name === 'Ana');
      return member?.cursor?.x === 250 && member.cursor.y === 30 &&
             state.members.map((m) => m.name).sort().join() === 'Ana,Ben,Cy';
    }, all);

    // 3. Ana's label lock on n2 is shown in Ben's canvas: the dump names Ana, the screenshot
    //    (taken by Ben's script once its replica had the lock) shows Ana's colour.
    const benSawLock = await waitFor('n2 locked by Ana in Ben\'s dump', async () => {
      const state = await readState(ben);
      const lock = lockIn(state, 'n2');
      return lock?.holder === 'Ana' && !lock.mine && ben.stdout().includes(`screenshot: ${shot('ben-locked')}`) ? lock : null;
    }, all);
    assert.equal(benSawLock.color, ANA.color);
    const lockedImage = decodePng(await readFile(shot('ben-locked')));
    assertDrawn(lockedImage, { state: 'open', userColour: BEN.color }, shot('ben-locked'));
    const holderPixels = countPixelsNear(lockedImage, hexToRgb(ANA.color), 3);
    assert.ok(holderPixels >= MIN_HOLDER_COLOUR_PIXELS,
              `${shot('ben-locked')}: ${holderPixels} pixels of Ana's colour (lock badge, cursor)`);
    const cyLock = await waitFor('n2 locked by Ana in Cy\'s (browser) dump', async () => lockIn(await readState(cy), 'n2'), all);
    assert.deepEqual([cyLock.holder, cyLock.mine], ['Ana', false]);
    // The frame with the badge is on screen a frame or two after the replica has the lock:
    // retake the screenshot until it shows (bounded by the deadline).
    await waitFor('the lock badge in Ana\'s colour on Cy\'s canvas', async () => {
      const image = await cy.screenshot(shot('cy-locked'));
      try {
        assertDrawn(image, { state: 'open', userColour: CY.color }, shot('cy-locked'));
      } catch {
        return false;
      }
      return countPixelsNear(image, hexToRgb(ANA.color), 3) >= MIN_HOLDER_COLOUR_PIXELS;
    }, all);

    // 4. Ben asks for a takeover; Ana is told and hands it over; Ben edits the label under the
    //    lock and releases it; Ana's replica shows the label, and no lock left.
    await writeFile(gate('takeover'), '');
    await waitFor('the takeover request in Ana\'s output', () => /^takeover requested: n2 by Ben$/m.test(ana.stdout()), all);
    // The grace is LOCK_GRACE_MS (longer than any wait): the grant comes from the hand-over, so
    // Ana's unlock is answered, and Ben's grant arrives well inside the grace.
    const askedAt = Date.now();
    await waitFor('Ana\'s hand-over answered', () => /^unlock: n2 ok$/m.test(ana.stdout()), all);
    await waitFor('Ben granted n2', () => /^takeover: n2 granted$/m.test(ben.stdout()), all);
    const grantedAfterMs = Date.now() - askedAt;
    console.log(`takeover granted ${grantedAfterMs} ms after Ana was asked (grace ${LOCK_GRACE_MS} ms)`);
    assert.ok(grantedAfterMs < LOCK_GRACE_MS / 4, `takeover granted after ${grantedAfterMs} ms: not by the hand-over`);
    await waitFor('the new label and no lock in Ana\'s dump', async () => {
      const state = await readState(ana);
      return nodeIn(state, 'n2')?.label === 'Keep paid orders' && state.locks.length === 0;
    }, all);
    await waitFor('the new label in Cy\'s (browser) dump', async () =>
      nodeIn(await readState(cy), 'n2')?.label === 'Keep paid orders', all);
    assert.match(ben.stdout(), /^edit: label n2 ok$/m);

    // 5. Cy edits with the mouse and keyboard (the input path, not the script): drags n3 by its
    //    title, connects n1's output port to it, selects that edge and deletes it. The desktop
    //    canvases' dumps show each step.
    // Every point comes from Cy's own state dump (imgui_input.mjs): the node's position in the
    // replica and the canvas's pan, zoom and node layout; each input step waits on frames drawn.
    const input = imguiInput(browser.page, () => readState(cy), (what, check) => waitFor(what, check, all));
    const cyState = async () => readState(cy);
    const n3 = nodePoints(await cyState(), 'n3');
    await input.drag(await input.graphPoint(n3.title), await input.graphPoint({ x: n3.title.x - 100, y: n3.title.y + 100 }));
    await waitFor('n3 dragged by mouse to 280,520 in Ana\'s and Ben\'s dumps', async () =>
      at(await readState(ana), 'n3', 280, 520) && at(await readState(ben), 'n3', 280, 520), all);
    await waitFor('n3 at 280,520 in Cy\'s own dump', async () => at(await cyState(), 'n3', 280, 520), all);
    const n1Output = nodePoints(await cyState(), 'n1').output;
    await input.drag(await input.graphPoint(n1Output), await input.graphPoint(nodePoints(await cyState(), 'n3').body));
    await waitFor('edge n1 -> n3 drawn by mouse in Ana\'s dump', async () =>
      (await readState(ana))?.edges.some((e) => e.from === 'n1' && e.to === 'n3'), all);
    // An edge's curve leaves and enters its ports with mirrored horizontal handles, so its
    // middle (t = 0.5) is the midpoint of its two ports.
    const n3Input = nodePoints(await cyState(), 'n3').input;
    await input.click(await input.graphPoint({ x: (n1Output.x + n3Input.x) / 2, y: (n1Output.y + n3Input.y) / 2 }));
    await input.pressKey('Delete');
    await waitFor('edge n1 -> n3 deleted with the Delete key, in Ana\'s dump', async () => {
      const state = await readState(ana);
      return state && !state.edges.some((e) => e.to === 'n3' && e.from === 'n1') && state.edges.length === 2;
    }, all);

    // 5b. Cy renames n1 with the keyboard: click selects it, Enter opens the label editor and
    //     takes n1's lock (Ana's dump shows Cy holding it), typing replaces the label, Enter
    //     saves and releases the lock.
    await input.click(await input.graphPoint(nodePoints(await cyState(), 'n1').body));
    await input.pressKey('Enter');
    await waitFor('n1 locked by Cy in Ana\'s dump', async () => lockIn(await readState(ana), 'n1')?.holder === 'Cy', all);
    await input.frames(2);  // the editor's text field takes the keyboard focus once the lock is held
    await input.type('Fetch new orders');
    await input.pressKey('Enter');
    await waitFor('n1 renamed by Cy, its lock released, in Ana\'s dump', async () => {
      const state = await readState(ana);
      return nodeIn(state, 'n1')?.label === 'Fetch new orders' && !lockIn(state, 'n1');
    }, all);

    // 6. All finish: screenshots of the whole graph, exit 0.
    await writeFile(gate('done'), '');
    const codes = await Promise.all(both.map((c) => c.exited));
    assert.deepEqual(codes, [0, 0], both.map((c) => `${c.name}: ${c.stderr()}`).join('\n'));
    for (const [canvas, user] of [[ana, ANA], [ben, BEN]]) {
      const path = shot(canvas.name);
      assert.ok(existsSync(path), `${path} missing`);
      const image = decodePng(await readFile(path));
      assertDrawn(image, { state: 'open', userColour: user.color }, path);
      for (const [status, rgb] of Object.entries(STATUS_RGB)) {
        const pixels = countPixelsNear(image, rgb, 3);
        assert.ok(pixels >= MIN_STRIP_PIXELS, `${path}: ${pixels} pixels of the ${status} colour ${rgb}`);
      }
    }
    const anaFinal = await readState(ana);
    assert.deepEqual(anaFinal.nodes.map((n) => [n.id, n.x, n.y, n.label]),
                     [['n1', 0, 330, 'Fetch new orders'], ['n2', 200, 200, 'Keep paid orders'], ['n3', 280, 520, 'Email summary']]);
    assert.equal(anaFinal.script.status, 'exit');
    assert.equal(anaFinal.pending_moves, 0);
    const cyFinal = await readState(cy);
    assert.equal(cyFinal.script.status, 'done');
    assert.equal(cyFinal.pending_moves, 0);
    assert.ok(!cy.stderr().includes('[pageerror]'), cy.stderr());
  } finally {
    for (const c of both) c.kill();
    await Promise.all(both.map((c) => c.exited));
  }
});
