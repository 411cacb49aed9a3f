// tests/e2e/canvas/agent_build.test.mjs — an agent's build appears node by node in a running
// desktop canvas (issue 6's Done-when): the real tandem-agent builds a workflow from a prompt
// on a real tandem-server while a tandem-canvas (Xvfb) shows that workflow room; the canvas's
// state dump, polled while the agent works, goes through the node counts one step at a time
// and ends with every node and edge of the plan; the final screenshot shows the graph.
//
// Needs TANDEM_CANVAS_BIN, TANDEM_SERVER_BIN, TANDEM_AGENT_BIN (ctest sets them) and Xvfb.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { startServer } from '../lib/server.mjs';
import { POLL_MS, readState, startDesktopCanvas, startXvfb, waitFor } from './desktop.mjs';
import { assertDrawn } from './expectations.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { countPixelsNear, decodePng } from './png.mjs';

const WORKFLOW = 'workflow:e2e-agent-build';
const AGENT_ROOM = 'agent:e2e-agent-build';
const PROMPT = 'fetch new orders, keep the paid ones and email a summary';
const STEP_MS = 500;              // the agent's pause between steps: five dumps (100 ms) each, so a busy
                                  // machine's late frames still show every intermediate graph
const AGENT_DEADLINE_MS = 60_000;  // the whole build takes ~5 s at STEP_MS
const ANA = { sub: 'ana', name: 'Ana', color: '#e91e63' };
// The idle title strip colour (canvas_colours.h's status_colour(Idle)); none of it is drawn
// without nodes. A strip is 180 x 22 px at zoom 1; `fit` shows the agent's graph at ~0.6-1.
const IDLE_STRIP_RGB = [88, 96, 112];
const MIN_STRIP_PIXELS_PER_NODE = 800;
const artifactsDir = process.env.TANDEM_ARTIFACTS_DIR ?? join(process.cwd(), 'build', 'test-artifacts');

let server;
let xvfb;
let workDir;

before(async () => {
  for (const variable of ['TANDEM_CANVAS_BIN', 'TANDEM_SERVER_BIN', 'TANDEM_AGENT_BIN']) {
    if (!process.env[variable]) throw new Error(`${variable} is not set (ctest sets it)`);
  }
  server = await startServer({ binary: process.env.TANDEM_SERVER_BIN, webRoot: process.env.TANDEM_WWW_DIR ?? process.cwd() });
  xvfb = await startXvfb();
  workDir = await mkdtemp(join(tmpdir(), 'tandem-canvas-agent-'));
  await mkdir(artifactsDir, { recursive: true });
});

after(async () => {
  xvfb?.stop();
  await server?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test('a tandem-agent build appears node by node in a running canvas', async () => {
  const statePath = join(workDir, 'ana.json');
  const gate = join(workDir, 'done');
  const screenshot = join(artifactsDir, 'canvas-agent-build.png');
  const canvas = startDesktopCanvas({
    name: 'ana', binary: process.env.TANDEM_CANVAS_BIN, display: xvfb.display, statePath,
    args: ['--url', server.wsUrl, '--token', mintToken(server.jwtSecret, ANA), '--room', WORKFLOW,
           '--agent-room', AGENT_ROOM, '--width', '1280', '--height', '800', '--timeout-ms', '90000',
           '--state-file', statePath, '--script', `wait-joined; wait-file ${gate}; fit; wait-frames 3; exit`,
           '--screenshot', screenshot],
  });
  let agentOutput = '';
  const options = { canvases: [canvas], serverOutput: () => `${server.output}\n--- agent ---\n${agentOutput}` };
  try {
    await waitFor('the canvas joined', async () => (await readState(canvas))?.joined, options);

    const agent = spawn(process.env.TANDEM_AGENT_BIN, [
      '--url', server.wsUrl, '--token', mintToken(server.jwtSecret, { sub: 'agent', name: 'Builder' }),
      '--agent-room', AGENT_ROOM, '--workflow', WORKFLOW, '--prompt', PROMPT, '--step-ms', String(STEP_MS)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout.on('data', (chunk) => { agentOutput += chunk; });
    agent.stderr.on('data', (chunk) => { agentOutput += chunk; });
    const agentExit = new Promise((resolve) => agent.once('exit', (code, signal) => resolve(code ?? signal)));

    // Follow the canvas's node count while the agent works.
    const counts = [];
    let agentDone = false;
    agentExit.then(() => { agentDone = true; });
    const deadline = Date.now() + AGENT_DEADLINE_MS;
    while (!agentDone) {
      if (Date.now() > deadline) {
        agent.kill('SIGKILL');
        throw new Error(`tandem-agent did not finish within ${AGENT_DEADLINE_MS} ms\n${agentOutput}`);
      }
      const nodes = (await readState(canvas))?.nodes.length ?? 0;
      if (counts.at(-1) !== nodes) counts.push(nodes);
      await delay(POLL_MS);
    }
    assert.equal(await agentExit, 0, agentOutput);

    // The plan's every node and edge reach the canvas; on the way it showed them one by one.
    const final = await waitFor('the canvas settled on the agent\'s graph', async () => {
      const state = await readState(canvas);
      return state && state.nodes.length >= 4 && state.edges.length === state.nodes.length - 1 ? state : null;
    }, options);
    console.log(`node counts seen in the canvas while the agent built: ${counts.join(' -> ')}; final ${final.nodes.length} nodes, ${final.edges.length} edges`);
    const growing = counts.filter((n) => n > 0);
    assert.ok(growing.every((n, i) => i === 0 || n > growing[i - 1]), `counts only grow: ${counts}`);
    assert.ok(growing.length >= 3, `at least three intermediate graphs seen (node by node), saw ${counts}`);
    assert.ok(final.nodes.every((n) => n.type && n.label), JSON.stringify(final.nodes));

    await writeFile(gate, '');
    assert.equal(await canvas.exited, 0, canvas.stderr());
    const image = decodePng(await readFile(screenshot));
    assertDrawn(image, { state: 'open', userColour: ANA.color }, screenshot);
    // The graph itself is drawn, not only the connection panel: the nodes' title strips.
    const stripPixels = countPixelsNear(image, IDLE_STRIP_RGB, 3);
    console.log(`${stripPixels} pixels of the idle title strip colour for ${final.nodes.length} nodes`);
    assert.ok(stripPixels >= MIN_STRIP_PIXELS_PER_NODE * final.nodes.length,
              `${screenshot}: ${stripPixels} pixels of the title strip colour ${IDLE_STRIP_RGB} for ${final.nodes.length} nodes`);
  } finally {
    canvas.kill();
    await canvas.exited;
  }
});
