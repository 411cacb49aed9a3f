// tests/e2e/canvas/desktop.mjs — running desktop tandem-canvas processes in a test: one Xvfb
// for several canvases (a display it picks itself, so parallel tests never collide), a canvas
// process with its output collected, its --state-file read, and a condition polled with a
// deadline that fails with every canvas's output and state.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export const POLL_MS = 25;  // between reads of a state

// Starts Xvfb (1280x800) on the display it reports through -displayfd. Resolves
// { display, stop() } or rejects after `deadlineMs` with Xvfb's output.
export async function startXvfb({ deadlineMs = 20_000 } = {}) {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
                      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const display = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display\n${stderr}`)), deadlineMs);
    let text = '';
    child.stdio[3].on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code})\n${stderr}`)));
  });
  return { display, stop: () => child.kill('SIGTERM') };
}

// Starts `binary` with `args` on `display`. Returns { name, child, statePath, exited (Promise of
// the exit code or signal), stdout(), stderr(), kill() }; `statePath` is the --state-file the
// caller put in `args` (read by readState).
export function startDesktopCanvas({ name, binary, display, args, statePath }) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISPLAY: display } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? signal));
  });
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  return { name, child, statePath, exited, kill, stdout: () => stdout, stderr: () => stderr };
}

// A canvas's state dump: its own state() (the browser canvas) or its --state-file; null until
// written (the app renames a complete file into place, so a read never sees half of one).
export async function readState(canvas) {
  if (canvas.state) return canvas.state();
  try {
    return JSON.parse(await readFile(canvas.statePath, 'utf8'));
  } catch {
    return null;
  }
}

// Polls `check()` until it returns something truthy (returned); after `deadlineMs` fails naming
// `what`, with each canvas's stdout, stderr and state and the tail of `serverOutput()`.
export async function waitFor(what, check, { canvases = [], serverOutput = () => '', deadlineMs = 20_000 } = {}) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) {
      const logs = [];
      for (const c of canvases) {
        logs.push(`--- ${c.name} stdout ---\n${c.stdout()}--- ${c.name} stderr ---\n${c.stderr()}`);
        logs.push(`--- ${c.name} state ---\n${JSON.stringify(await readState(c))}`);
      }
      throw new Error(`timed out waiting for: ${what}\n${logs.join('\n')}\n--- server ---\n${serverOutput().slice(-2000)}`);
    }
    await delay(POLL_MS);
  }
}
