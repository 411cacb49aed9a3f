// tests/e2e/client_sse.test.mjs — tandem.mjs's Server-Sent Events transport (sse_socket.js
// behind the core's FallbackTransport) in real Chromium, against a scripted event stream and
// POST endpoint (a node HTTP server that also serves the page and the web root) instead of
// tandem-server:
// what the real server does not do on demand — a stream cut and resumed, POSTs answered late,
// 409 or 401. The real server's side is covered by sse_fallback.test.mjs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, extname, join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { launchBrowser } from './lib/browser.mjs';
import { requireWebRoot } from './lib/www.mjs';

const WAIT_MS = 10_000;  // deadline for every wait on the page
const CONTENT_TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

// A page that loads tandem.mjs and records the states the client reports. The server takes no
// WebSocket upgrade: a dial of /ws fails (1006).
const HARNESS = `<!doctype html><script type="module">
  import { connect } from '/tandem.mjs';
  window.harness = {
    client: null, states: [], messages: [],
    async connect(url, options) {
      this.client = await connect(url, options);
      this.client.on('state', (s) => this.states.push(s.state));
      this.client.on('message', (m) => this.messages.push(m));
    },
    // connect()'s TandemError for bad options, as {code, message}.
    async refused(options) {
      try {
        (await connect('/ws', { token: 't', ...options })).close();
        return null;
      } catch (error) {
        return { code: error.code, message: error.message };
      }
    },
  };
  window.harnessReady = true;
</script>`;

function connectedMessage(n) {
  return {
    type: 'connected', connection_id: `c${n}`, session: `s${n}`, resumed: false,
    user: { id: 'u1', name: 'Ana', color: '#3366ff' }, heartbeat_ms: 25000,
    limits: { max_frame_bytes: 65536, max_rooms: 64, rate_per_sec: 50 }, server_version: 'mock',
  };
}

// The scripted server side of PROTOCOL.md §5.5, a real HTTP server on loopback (so the page's
// requests carry every header the browser sets, Last-Event-ID included), which also serves
// /harness.html and the web root. GET /sse opens a stream (`stream` event, then `connected`) and
// keeps it open; a GET with Last-Event-ID resumes it with the events after that id.
// POST /sse/{stream}?n=N is answered by answerPost(post): 204 by default, and then each of its
// lines is taken and onRequest's replies go on the stream.
class MockStream {
  gets = [];     // {url, lastEventId} of every GET
  posts = [];    // {path, n, body, contentType, authorization} of every POST
  log = [];      // every event of the current stream, as sent
  streams = 0;
  live = null;   // the response of the open stream
  refuseResumes = false;  // answer a GET with Last-Event-ID 404, as a restarted proxy target might
  answerPost = () => 204;
  onRequest = (frame) => (frame.type === 'ping' ? [{ type: 'pong', ts: 1, id: frame.id }] : []);
  #server = createServer((request, response) => this.#handle(request, response));
  #webRoot;

  async start(webRoot) {
    this.#webRoot = webRoot;
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${this.#server.address().port}`;
    return this;
  }
  stop() {
    this.#server.closeAllConnections();
    this.#server.close();
  }

  // A message as the next event of the stream.
  queue(message) {
    const event = `id: st${this.streams}:${this.log.length + 1}\ndata: ${JSON.stringify(message)}\n\n`;
    this.log.push(event);
    this.live?.write(event);
  }
  close(code, reason) {
    this.live?.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.live = null;
  }
  // The response ends without `close`, as when a proxy cuts it: the browser resumes.
  cut() {
    this.live?.end();
    this.live = null;
  }

  async #handle(request, response) {
    const url = new URL(request.url, this.origin);
    if (request.method === 'GET' && url.pathname === '/harness.html') {
      return response.writeHead(200, { 'content-type': 'text/html' }).end(HARNESS);
    }
    if (request.method === 'GET' && url.pathname !== '/sse') {
      const file = join(this.#webRoot, basename(url.pathname));
      try {
        const body = await readFile(file);
        return response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'text/plain' }).end(body);
      } catch {
        return response.writeHead(404).end();
      }
    }
    if (request.method === 'GET') {
      const lastEventId = request.headers['last-event-id'] ?? null;
      this.gets.push({ url: url.href, lastEventId });
      if (lastEventId && this.refuseResumes) return response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      response.write('retry: 100\n\n');  // a resume comes at once (the browser's default is seconds)
      this.live = response;
      if (lastEventId) {
        const after = Number(lastEventId.split(':')[1]);
        for (const event of this.log.slice(after)) response.write(event);
      } else {
        this.streams += 1;
        this.log = [];
        response.write(`event: stream\ndata: ${JSON.stringify({ stream: `st${this.streams}`, heartbeat_ms: 15000, resume_ms: 10000 })}\n\n`);
        this.queue(connectedMessage(this.streams));
      }
      return;
    }
    let body = '';
    for await (const chunk of request) body += chunk;
    if (request.method !== 'POST') return response.writeHead(405).end();
    const post = { path: url.pathname, n: Number(url.searchParams.get('n')), body,
      contentType: request.headers['content-type'], authorization: request.headers.authorization };
    this.posts.push(post);
    const status = await this.answerPost(post);
    response.writeHead(status).end();
    if (status === 204) {
      for (const line of body.split('\n')) for (const reply of this.onRequest(JSON.parse(line))) this.queue(reply);
    }
  }
}

async function waitFor(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    throw new Error(`${what}: ${error.message}`);
  }
}

const waitForState = (page, state) =>
  waitFor(page, `state ${state}`, (s) => window.harness.client?.state.state === s, state);

// A condition on the node side (the mock's records), polled every POLL_MS until the deadline.
const POLL_MS = 20;
async function eventually(what, condition) {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${WAIT_MS} ms: ${what}`);
    await delay(POLL_MS);
  }
}

describe('tandem.mjs over Server-Sent Events in Chromium (scripted stream)', () => {
  let webRoot;
  let browser;
  let page;
  let stream;

  before(async () => {
    webRoot = requireWebRoot();
    browser = await launchBrowser();
  });

  after(async () => { await browser?.close(); });

  beforeEach(async () => {
    page = await browser.context.newPage();
    page.on('pageerror', (error) => browser.consoleLines.push(`[pageerror] ${error.message}`));
    stream = await new MockStream().start(webRoot);
    await page.goto(`${stream.origin}/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: WAIT_MS });
  });

  afterEach(async () => {
    await page.evaluate(() => window.harness.client?.close());
    await page.close();
    stream.stop();
  });

  test("transports ['sse'] opens the stream at /sse with the token, and reports sse", async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 'tok en', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    const seen = await page.evaluate(() => ({
      transport: window.harness.client.transport, connectionId: window.harness.client.state.connectionId,
      stateTransport: window.harness.client.state.transport, socket: window.harness.client.socket ?? null,
    }));
    assert.deepEqual(seen, { transport: 'sse', connectionId: 'c1', stateTransport: 'sse', socket: null });
    const first = new URL(stream.gets[0].url);
    assert.equal(first.pathname, '/sse');
    assert.equal(first.searchParams.get('token'), 'tok en');
    assert.equal(stream.gets[0].lastEventId, null);
  });

  test('a stream cut without close is resumed with Last-Event-ID: the same connection goes on', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 't', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    stream.cut();
    stream.queue({ type: 'pong', ts: 7 });  // sent while the stream is down: held, then replayed
    await eventually('a resuming GET', () => stream.gets.length === 2);
    assert.equal(stream.gets[1].lastEventId, 'st1:1');
    await waitFor(page, 'the event sent while the stream was down', () => window.harness.messages.some((m) => m.ts === 7));
    const reply = await page.evaluate(() => window.harness.client.request({ type: 'ping' }));
    assert.equal(reply.type, 'pong');
    assert.equal(stream.posts.at(-1).path, '/sse/st1', 'POSTs still go to the same stream');
    assert.deepEqual(await page.evaluate(() => window.harness.states), ['open'], 'a resume is not a reconnect');
  });

  test('a stream that cannot be resumed ends with 1006; the client reconnects on a new stream', async () => {
    await page.evaluate(() => window.harness.connect('/ws', { token: 't', transports: ['sse'] }));
    await waitForState(page, 'open');
    stream.refuseResumes = true;
    stream.cut();
    await waitFor(page, 'open again on a second connection', () => window.harness.client.state.connectionId === 'c2');
    const states = await page.evaluate(() => window.harness.states);
    assert.deepEqual(states.slice(-3), ['reconnecting', 'connecting', 'open']);
    assert.deepEqual(stream.gets.map((get) => get.lastEventId), [null, 'st1:1', null]);
  });

  test('a POST answered 503 is sent again with the same number', async () => {
    await page.evaluate(() => window.harness.connect('/ws', { token: 't', transports: ['sse'] }));
    await waitForState(page, 'open');
    stream.answerPost = (post) => (stream.posts.length === 1 ? 503 : 204);
    const reply = await page.evaluate(() => window.harness.client.request({ type: 'ping' }));
    assert.equal(reply.type, 'pong');
    assert.deepEqual(stream.posts.map((post) => post.n), [1, 1]);
    assert.equal(stream.posts[1].body, stream.posts[0].body);
  });

  test('a request goes as POST n=1 with the bearer token, and its reply comes on the stream', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 'tok', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    const reply = await page.evaluate(() => window.harness.client.request({ type: 'ping' }));
    assert.equal(reply.type, 'pong');
    const [post] = stream.posts;
    assert.equal(post.path, '/sse/st1');
    assert.equal(post.n, 1);
    assert.equal(post.authorization, 'Bearer tok');
    assert.match(post.contentType, /^text\/plain/);
    assert.deepEqual(JSON.parse(post.body), { type: 'ping', id: reply.id });
  });

  test('frames sent while a POST is unanswered go joined in the next, numbered on; a 409 counts as delivered', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 't', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    let release;
    stream.answerPost = (post) => (post.n === 1 ? new Promise((resolve) => { release = resolve; }) : 204);
    await page.evaluate(() => window.harness.client.send({ type: 'ping' }));
    await eventually('the first POST', () => release !== undefined);
    await page.evaluate(() => {
      for (const room of ['chat:a', 'chat:b', 'chat:c']) window.harness.client.send({ type: 'typing', room, active: true });
    });
    release(409);  // "already received": delivered all the same
    await eventually('the second POST', () => stream.posts.length === 2);
    assert.equal(stream.posts[1].n, 2);
    assert.deepEqual(stream.posts[1].body.split('\n').map((line) => JSON.parse(line).room), ['chat:a', 'chat:b', 'chat:c']);
    assert.equal(await page.evaluate(() => window.harness.client.state.state), 'open');
  });

  test('a POST refused with 401 closes the client as unauthorized (4401)', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 'expired', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    stream.answerPost = () => 401;
    await page.evaluate(() => window.harness.client.send({ type: 'ping' }));
    await waitForState(page, 'closed');
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.cause, 'unauthorized');
    assert.equal(state.closeCode, 4401);
  });

  test('event: close ends the stream with its code; the client reconnects on a new stream', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 't', transports: ['sse'] }), '/ws');
    await waitForState(page, 'open');
    stream.close(1012, 'restart');
    await waitFor(page, 'open again on a second connection', () => window.harness.client.state.connectionId === 'c2');
    const states = await page.evaluate(() => window.harness.states);
    assert.deepEqual(states.slice(-3), ['reconnecting', 'connecting', 'open']);
    assert.deepEqual(stream.gets.map((get) => get.lastEventId), [null, null], 'a new stream, not a resume of the closed one');
    assert.equal(new URL(stream.gets[1].url).searchParams.get('session'), 's1', 'the session is resumed');
  });

  test('with the default transports, a WebSocket that cannot connect falls back to SSE at once', async () => {
    await page.evaluate((url) => window.harness.connect(url, { token: 't' }), '/ws');
    await waitForState(page, 'open');
    assert.equal(await page.evaluate(() => window.harness.client.transport), 'sse');
    assert.deepEqual(await page.evaluate(() => window.harness.states), ['open'], 'no reconnect in between');
  });

  test('transports is checked: known names, each once, at least one', async () => {
    for (const transports of [[], ['sse', 'sse'], ['websocket', 'carrier-pigeon'], 'sse']) {
      const refusal = await page.evaluate((t) => window.harness.refused({ transports: t }), transports);
      assert.equal(refusal?.code, 'invalid_config', `${JSON.stringify(transports)} refused`);
      assert.match(refusal.message, /transports/);
    }
    assert.equal(await page.evaluate(() => window.harness.refused({ transports: ['sse', 'websocket'] })), null);
  });
});
