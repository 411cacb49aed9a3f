// tests/e2e/lib/server.mjs — runs the real tandem-server binary for end-to-end tests.
//
// startServer() picks a free port, starts `tandem-server --dev --web-root <www> --port <p>
// --jwt-secret <s> --store-path <tmp>/tandem.db` (one random secret and one store per
// TandemServer, kept across restarts: --dev alone would make up a new secret at each start and
// refuse the tokens minted before, 4401),
// and resolves once GET /healthz answers 200 (or rejects at a deadline, with the server's
// output in the message). stop() sends SIGTERM and waits for the exit (the server closes its
// clients with 1012 and exits 0 within its shutdown timeout); restart() starts it again on
// the same port, so browser clients reconnect to the same URL.
//
// Several instances of one cluster (lib/cluster.mjs) share a secret and a store: pass
// `jwtSecret` and `storeArgs` (e.g. ['--store', 'postgres', '--store-url', url], which then
// replace the SQLite --store-path) and `name` (how messages call the instance).
//
// With `tls` ({ cert, key }: PEM paths, lib/tls.mjs makes a self-signed pair) the server runs
// with --tls-cert/--tls-key: httpUrl and wsUrl become https:// and wss://, and the /healthz
// polling trusts exactly that certificate.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

// The servers' store directories, removed when the test process exits (one listener for all).
const storeDirs = new Set();
function removeAtExit(dir) {
  if (storeDirs.size === 0)
    process.once('exit', () => { for (const d of storeDirs) rmSync(d, { recursive: true, force: true }); });
  storeDirs.add(dir);
}

export const defaults = {
  startDeadlineMs: 10_000,  // from spawn to a 200 on /healthz; the server starts in well under 1 s
  stopDeadlineMs: 8_000,    // SIGTERM to exit; above the server's 5 s shutdown timeout
  pollIntervalMs: 50,       // /healthz polling while starting
  logTailChars: 4_000,      // how much server output an error message quotes
};

// Asks the kernel for a free TCP port on the loopback interface.
export async function freePort() {
  const probe = createServer();
  await new Promise((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export class TandemServer {
  #binary;
  #webRoot;
  #extraArgs;
  #env;
  #child = null;
  #exited = null;  // Promise<{code, signal}> for the running child
  #output = '';
  #storeArgs = null;  // replaces --store-path <storePath> when given
  #tls = null;        // { cert, key, ca: the certificate's PEM text } when serving https and wss

  constructor({ binary, webRoot, port, extraArgs = [], env = {}, jwtSecret, storeArgs, tls, name = 'tandem-server' }) {
    if (!binary) throw new Error('TandemServer: no server binary given (TANDEM_SERVER_BIN)');
    this.#binary = binary;
    this.port = port;
    this.name = name;
    this.#webRoot = webRoot;
    this.#extraArgs = extraArgs;
    // The HS256 secret of the next start(); assign a new one to invalidate issued tokens.
    this.jwtSecret = jwtSecret ?? randomBytes(32).toString('hex');
    // Development mode (--dev: the page mints its own tokens) for the next start().
    this.dev = true;
    if (storeArgs) {
      this.storePath = null;  // the store is the caller's (e.g. one PostgreSQL for every instance)
      this.#storeArgs = storeArgs;
    } else {
      // Its own SQLite store, kept across restarts like the secret (what it stored survives),
      // removed with its directory when the test process exits.
      const storeDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'));
      this.storePath = join(storeDir, 'tandem.db');
      removeAtExit(storeDir);
    }
    this.#env = { ...process.env, ...env };
    if (tls) this.#tls = { cert: tls.cert, key: tls.key, ca: readFileSync(tls.cert) };
  }

  get httpUrl() { return `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }
  get wsUrl() { return `${this.#tls ? 'wss' : 'ws'}://127.0.0.1:${this.port}/ws`; }
  get running() { return this.#child !== null; }
  // The running child's process id, or null.
  get pid() { return this.#child?.pid ?? null; }
  // Everything the server printed since the first start (stdout and stderr interleaved).
  get output() { return this.#output; }

  async start({ deadlineMs = defaults.startDeadlineMs } = {}) {
    if (this.#child) throw new Error('TandemServer.start: already running');
    const args = [...(this.dev ? ['--dev'] : []), '--web-root', this.#webRoot, '--port', String(this.port),
                  '--jwt-secret', this.jwtSecret,
                  ...(this.#storeArgs ?? ['--store-path', this.storePath]),
                  ...(this.#tls ? ['--tls-cert', this.#tls.cert, '--tls-key', this.#tls.key] : []), ...this.#extraArgs];
    const child = spawn(this.#binary, args, { env: this.#env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout.on('data', (chunk) => { this.#output += chunk; });
    child.stderr.on('data', (chunk) => { this.#output += chunk; });
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => { this.#output += `\n[spawn error] ${error.message}\n`; resolve({ code: null, signal: null, error }); });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.#exited.then(() => { if (this.#child === child) this.#child = null; });

    const deadline = Date.now() + deadlineMs;
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.#child !== child) {
        const { code, signal } = await this.#exited;
        throw new Error(`${this.name} exited during start (code ${code}, signal ${signal})\n${this.#tail()}`);
      }
      try {
        const status = await this.#healthStatus();
        if (status === 200) return this;
        lastProblem = `/healthz answered ${status}`;
      } catch (error) {
        lastProblem = error.cause?.code ?? error.message;
      }
      await delay(defaults.pollIntervalMs);
    }
    await this.stop().catch(() => {});
    throw new Error(`${this.name} not healthy within ${deadlineMs} ms (${lastProblem})\n${this.#tail()}`);
  }

  // SIGTERM, then waits for the exit; SIGKILL and an error if it overruns the deadline.
  async stop({ deadlineMs = defaults.stopDeadlineMs } = {}) {
    const child = this.#child;
    if (!child) return { code: null, signal: null };
    child.kill('SIGTERM');
    const timedOut = Symbol('timed out');
    // ref: false — an unreferenced timer: a test process ends when its work does, not 8 s later.
    const result = await Promise.race([this.#exited, delay(deadlineMs, timedOut, { ref: false })]);
    if (result === timedOut) {
      child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`${this.name} did not exit within ${deadlineMs} ms of SIGTERM\n${this.#tail()}`);
    }
    return result;
  }

  // SIGKILL (a crash: nothing is flushed, no close frames), then waits for the exit.
  async kill() {
    const child = this.#child;
    if (!child) return { code: null, signal: null };
    child.kill('SIGKILL');
    return await this.#exited;
  }

  async restart(options) {
    await this.stop(options);
    return this.start(options);
  }

  // A backend's POST /api/v1/publish of `body` (one message or an array) with `apiKey` (the
  // server's --publish-api-key). Resolves the parsed answer; throws with the status and the
  // answer's text unless it is 200.
  publish(apiKey, body) {
    return publish(this.httpUrl, apiKey, body);
  }

  // GET /healthz's status: fetch for http; node's https for TLS, trusting only the server's
  // certificate (fetch cannot be given a CA).
  async #healthStatus() {
    if (!this.#tls) return (await fetch(`${this.httpUrl}/healthz`, { signal: AbortSignal.timeout(1_000) })).status;
    return await new Promise((resolve, reject) => {
      const request = httpsGet(`${this.httpUrl}/healthz`, { ca: this.#tls.ca, timeout: 1_000 }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', reject);
    });
  }

  #tail() {
    const text = this.#output.slice(-defaults.logTailChars);
    return text ? `--- ${this.name} output (tail) ---\n${text}` : `(${this.name} printed nothing)`;
  }
}

// POST `body` to `${baseUrl}/api/v1/publish` with `apiKey`: a server's own URL, or a proxy's
// in front of several instances. Resolves the parsed answer; throws with the status and the
// answer's text unless it is 200.
export async function publish(baseUrl, apiKey, body) {
  const response = await fetch(`${baseUrl}/api/v1/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`POST ${baseUrl}/api/v1/publish ${JSON.stringify(body)} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

// Starts a server on a free port. `binary` and `webRoot` usually come from the environment
// that ctest sets (TANDEM_SERVER_BIN, TANDEM_WWW_DIR).
export async function startServer({ binary, webRoot, extraArgs, env, deadlineMs, jwtSecret, storeArgs, tls, name } = {}) {
  const server = new TandemServer({ binary, webRoot, port: await freePort(), extraArgs, env, jwtSecret, storeArgs, tls, name });
  await server.start({ deadlineMs });
  return server;
}
