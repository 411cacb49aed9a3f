// tests/e2e/lib/cluster.mjs — several tandem-server instances sharing rooms, behind nginx, for
// end-to-end tests (docs/SCALING.md, docs/OPERATIONS.md "Behind nginx").
//
// startCluster() starts, in this order, and resolves once every part answers:
//   1. one PostgreSQL   tests/support/postgres-cluster.sh start DIR  (prints its URL)
//   2. one Redis        tests/support/redis-server.sh start DIR      (prints its URL)
//   3. one tandem-server per instance id (lib/server.mjs TandemServer, each on a free port):
//      --engine redis --redis-url R --redis-prefix <fresh per run> --instance-id ID
//      --instance-ttl-ms N --store postgres --store-url P (all on the one database), --dev with
//      one shared --jwt-secret (a dev token minted by either instance is good on both), plus
//      the caller's extraArgs (e.g. --publish-api-key K)
//   4. nginx            tests/support/nginx.sh start DIR PORT...     (round robin, no
//      stickiness: the block of docs/OPERATIONS.md as operators copy it)
// stop() takes everything down in the reverse order, every part even when one fails to stop,
// and deletes the folders; a start that fails halfway stops what it had started before it
// throws.
//
// PostgreSQL, Redis and nginx run as daemons, so a test process killed before its after() hook
// (a ctest timeout) would leave them running: their folders are under one fixed place per
// checkout (os.tmpdir()/tandem-e2e-cluster-<hash of the repo path>), with the instances' pids,
// and the next startCluster() in the same checkout stops whatever an earlier run left there
// (by hand: node -e "import('./tests/e2e/lib/cluster.mjs').then((m) => m.stopLeftovers())").
// So two runs of cluster tests in one checkout at the same time would stop each other's.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, TandemServer, publish } from './server.mjs';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const supportDir = join(repoRoot, 'tests', 'support');

export const clusterDefaults = {
  instances: ['e2e-a', 'e2e-b'],
  instanceTtlMs: 3_000,       // heartbeat every second; a dead instance is let go within 3 s
  scriptTimeoutMs: 120_000,   // one support script (initdb on a loaded machine takes a while)
  serverStartDeadlineMs: 30_000,  // spawn to /healthz 200: connecting to PostgreSQL and Redis first
};

// The fixed folder of this checkout's cluster parts (see the header).
export const stateDir = join(tmpdir(),
  `tandem-e2e-cluster-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`);

// Runs a tests/support script; resolves its stdout, trimmed. Throws with its stderr.
function runSupport(script, args, timeoutMs = clusterDefaults.scriptTimeoutMs) {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(supportDir, script), ...args], { timeout: timeoutMs, cwd: repoRoot },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${script} ${args.join(' ')} failed (${error.code ?? error.signal}): ${stderr || error.message}`));
        else resolve(stdout.trim());
      });
  });
}

// Whether `pid` is a running process whose command line contains `marker`.
function processHas(pid, marker) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

// Stops whatever an earlier run in this checkout left under stateDir.
export async function stopLeftovers() {
  let servers = [];
  try {
    servers = JSON.parse(readFileSync(join(stateDir, 'servers.json'), 'utf8'));
  } catch {
    // Nothing recorded: no earlier run, or it stopped cleanly.
  }
  for (const { pid, prefix } of servers) {
    // Only a tandem-server of that run: its --redis-prefix was made up for it.
    if (processHas(pid, prefix)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
  }
  await runSupport('nginx.sh', ['stop', join(stateDir, 'nginx')]).catch(() => {});
  await runSupport('redis-server.sh', ['stop', join(stateDir, 'redis')]).catch(() => {});
  await runSupport('postgres-cluster.sh', ['stop', join(stateDir, 'postgres')]).catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
}

export class Cluster {
  postgresUrl = null;
  redisUrl = null;
  redisPrefix = `e2e-${randomBytes(6).toString('hex')}:`;
  jwtSecret = randomBytes(32).toString('hex');
  servers = [];   // TandemServer per instance, in the order of `instances`
  url = null;     // nginx: http://127.0.0.1:PORT
  #started = { postgres: false, redis: false, nginx: false };

  // The TandemServer of an instance id.
  server(instance) {
    const server = this.servers.find((s) => s.name === instance);
    if (!server) throw new Error(`no instance ${instance} (instances: ${this.servers.map((s) => s.name).join(', ')})`);
    return server;
  }

  // The instance a connection id names: "c7-e2e-a" -> "e2e-a" (null when it names none of ours).
  instanceOf(connectionId) {
    const match = /^c\d+-(.+)$/.exec(connectionId ?? '');
    return match && this.servers.some((s) => s.name === match[1]) ? match[1] : null;
  }

  // The instance whose lease holds `room` (Redis GET <prefix>room:<room>:owner), or null.
  ownerOf(room) {
    const url = new URL(this.redisUrl);
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', url.hostname, '-p', url.port, '--no-auth-warning', '--raw', 'GET', `${this.redisPrefix}room:${room}:owner`],
        { timeout: 10_000, env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(url.password) } },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`redis-cli GET the owner of ${room}: ${stderr || error.message}`));
          else resolve(stdout.trim() || null);
        });
    });
  }

  // POST /api/v1/publish through nginx (it reaches either instance).
  publish(apiKey, body) {
    return publish(this.url, apiKey, body);
  }

  // The tail of every instance's output, for failure messages.
  logs(chars = 3_000) {
    return this.servers.map((s) => `--- ${s.name} (port ${s.port}) ---\n${s.output.slice(-chars)}`).join('\n');
  }

  // Writes every instance's whole output to `dir`/<prefix><instance>.log; returns the paths.
  writeLogs(dir, prefix) {
    mkdirSync(dir, { recursive: true });
    return this.servers.map((s) => {
      const path = join(dir, `${prefix}${s.name}.log`);
      writeFileSync(path, s.output);
      return path;
    });
  }

  async start({ binary, webRoot, instances, instanceTtlMs, extraArgs }) {
    if (!binary) throw new Error('no tandem-server binary given (TANDEM_SERVER_BIN)');
    await stopLeftovers();
    mkdirSync(stateDir, { recursive: true });
    this.#started.postgres = true;
    this.postgresUrl = await runSupport('postgres-cluster.sh', ['start', join(stateDir, 'postgres')]);
    this.#started.redis = true;
    this.redisUrl = await runSupport('redis-server.sh', ['start', join(stateDir, 'redis')]);

    const ports = [];
    for (const instance of instances) {
      let port;
      do port = await freePort(); while (ports.includes(port));
      ports.push(port);
      this.servers.push(new TandemServer({
        binary, webRoot, port, name: instance, jwtSecret: this.jwtSecret,
        storeArgs: ['--store', 'postgres', '--store-url', this.postgresUrl],
        extraArgs: ['--engine', 'redis', '--redis-url', this.redisUrl, '--redis-prefix', this.redisPrefix,
                    '--instance-id', instance, '--instance-ttl-ms', String(instanceTtlMs), ...extraArgs],
      }));
    }
    // One after the other: the first creates the schema in the fresh database.
    for (const server of this.servers) {
      const starting = server.start({ deadlineMs: clusterDefaults.serverStartDeadlineMs });
      this.#recordServers();
      await starting;
    }
    this.#recordServers();
    this.#started.nginx = true;
    this.url = await runSupport('nginx.sh', ['start', join(stateDir, 'nginx'), ...ports.map(String)]);
    return this;
  }

  // The running instances' pids, for stopLeftovers() of a later run.
  #recordServers() {
    const running = this.servers.filter((s) => s.pid !== null).map((s) => ({ pid: s.pid, prefix: this.redisPrefix }));
    writeFileSync(join(stateDir, 'servers.json'), JSON.stringify(running));
  }

  // Everything down, in reverse order; throws the first problem once all were tried.
  async stop() {
    const problems = [];
    const attempt = async (what, fn) => {
      try { await fn(); } catch (error) { problems.push(`${what}: ${error.message}`); }
    };
    if (this.#started.nginx) await attempt('nginx', () => runSupport('nginx.sh', ['stop', join(stateDir, 'nginx')]));
    this.#started.nginx = false;
    for (const server of [...this.servers].reverse()) await attempt(server.name, () => server.stop());
    if (this.#started.redis) await attempt('redis', () => runSupport('redis-server.sh', ['stop', join(stateDir, 'redis')]));
    this.#started.redis = false;
    if (this.#started.postgres) await attempt('postgres', () => runSupport('postgres-cluster.sh', ['stop', join(stateDir, 'postgres')]));
    this.#started.postgres = false;
    rmSync(stateDir, { recursive: true, force: true });
    if (problems.length) throw new Error(`stopping the cluster: ${problems.join('; ')}`);
  }
}

// Starts PostgreSQL, Redis, one tandem-server per instance id and nginx (see the header).
// `binary` and `webRoot` usually come from TANDEM_SERVER_BIN and TANDEM_WWW_DIR.
export async function startCluster({
  binary, webRoot, instances = clusterDefaults.instances, instanceTtlMs = clusterDefaults.instanceTtlMs, extraArgs = [],
} = {}) {
  const cluster = new Cluster();
  try {
    return await cluster.start({ binary, webRoot, instances, instanceTtlMs, extraArgs });
  } catch (error) {
    await cluster.stop().catch((problem) => { error.message += `\n(and ${problem.message})`; });
    if (cluster.servers.length) error.message += `\n${cluster.logs()}`;
    throw error;
  }
}
