// tests/e2e/client_module.test.mjs — tandem.mjs + the wasm client core in real Chromium,
// against a scripted WebSocket peer (playwright's routeWebSocket) instead of tandem-server.
//
// What only a browser can show: the emscripten WebSocket transport's events reach the C++
// session (open, frames, close codes, a failed dial as 1006), and the JS API on top of it
// (state events, request promises with .code, the offline queue flushed after a reconnect).
// The real server's side is covered by reconnect.test.mjs.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { requireWebRoot, serveWebRoot } from './lib/www.mjs';

const ORIGIN = 'http://tandem.test';
const WS_URL = 'ws://tandem.test/ws';
const WAIT_MS = 10_000;  // deadline for every wait on the page

// A page that loads tandem.mjs and records everything the client reports.
const HARNESS = `<!doctype html><script type="module">
  import { connect } from '/tandem.mjs';
  window.harness = {
    client: null, states: [], messages: [],
    refreshCalls: 0,
    async connect(url, token, refreshTokens) {
      // refreshTokens: the tokens refreshToken hands out in turn (null: give up); omitted: no callback.
      const refreshToken = refreshTokens && (async () => refreshTokens[this.refreshCalls++] ?? null);
      this.client = await connect(url, { token, refreshToken });
      this.states.push(this.client.state.state);
      this.client.on('state', (s) => this.states.push(s.state + (s.refreshing ? ' (refreshing)' : '') + (s.refreshError ? ' (refresh failed)' : '')));
      this.client.on('message', (m) => this.messages.push(m));
    },
  };
  window.harnessReady = true;
</script>`;

function connectedFrame(n, heartbeatMs = 25000) {
  return JSON.stringify({
    type: 'connected', connection_id: `c${n}`, session: `s${n}`, resumed: false,
    user: { id: 'u1', name: 'Ana', color: '#3366ff' }, heartbeat_ms: heartbeatMs,
    limits: { max_frame_bytes: 65536, max_rooms: 64, rate_per_sec: 50 }, server_version: 'mock',
  });
}

// The scripted server: every connection is recorded; `onRequest` answers client frames.
class MockServer {
  connections = [];
  onRequest = (frame, ws) => {
    if (frame.type === 'ping') ws.send(JSON.stringify({ type: 'pong', ts: 1, id: frame.id }));
  };
  sendConnected = true;
  refuseWith = null;  // a close code every new connection gets at once instead of `connected`
  heartbeatMs = 25000;
  closes = [];  // {code, reason} of every close the client initiated

  async install(page) {
    await page.routeWebSocket((url) => url.host === new URL(WS_URL).host, (ws) => {
      const connection = { ws, url: ws.url(), received: [] };
      this.connections.push(connection);
      ws.onMessage((text) => {
        const frame = JSON.parse(text);
        connection.received.push(frame);
        this.onRequest(frame, ws);
      });
      ws.onClose((code, reason) => this.closes.push({ code, reason }));
      if (this.refuseWith) ws.close({ code: this.refuseWith, reason: 'token expired' });
      else if (this.sendConnected) ws.send(connectedFrame(this.connections.length, this.heartbeatMs));
    });
  }
  get last() { return this.connections.at(-1); }
}

async function waitForState(page, state) {
  await page.waitForFunction((s) => window.harness.client?.state.state === s, state, { timeout: WAIT_MS });
}

describe('tandem.mjs in Chromium (scripted peer)', () => {
  let webRoot;
  let browser;
  let page;    // a fresh page per test: its own routes, its own wasm instance
  let server;

  before(async () => {
    webRoot = requireWebRoot();
    browser = await launchBrowser();
  });

  after(async () => { await browser?.close(); });

  beforeEach(async () => {
    page = await browser.context.newPage();
    page.on('pageerror', (error) => browser.consoleLines.push(`[pageerror] ${error.message}`));
    await serveWebRoot(page, ORIGIN, webRoot, { '/harness.html': HARNESS });
    server = new MockServer();
    await server.install(page);
    await page.goto(`${ORIGIN}/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: WAIT_MS });
  });

  afterEach(async () => { await page.close(); });

  test('connects with the token in the URL and reports open with who we are', async () => {
    await page.evaluate((url) => window.harness.connect(url, 'tok en'), WS_URL);
    await waitForState(page, 'open');
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.connectionId, 'c1');
    assert.deepEqual(state.user, { id: 'u1', name: 'Ana', color: '#3366ff' });
    assert.equal(state.transport, 'websocket');
    assert.equal(await page.evaluate(() => window.harness.client.transport), 'websocket');
    assert.equal(new URL(server.last.url).searchParams.get('token'), 'tok en');
    assert.deepEqual(await page.evaluate(() => window.harness.states), ['connecting', 'open']);
  });

  test('request resolves with the reply carrying its id', async () => {
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    const reply = await page.evaluate(() => window.harness.client.request({ type: 'ping' }));
    assert.equal(reply.type, 'pong');
    assert.equal(reply.id, server.last.received.at(-1).id);
    assert.match(reply.id, /^[0-9]+$/);
  });

  test('request rejects with an Error carrying the server error code', async () => {
    server.onRequest = (frame, ws) => ws.send(JSON.stringify({ type: 'error', id: frame.id, code: 'forbidden', message: 'no' }));
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    const failure = await page.evaluate(() => window.harness.client.request({ type: 'ping' })
      .then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message, isError: e instanceof Error })));
    assert.deepEqual(failure, { name: 'TandemError', code: 'forbidden', message: 'no', isError: true });
  });

  test('an invalid message is refused locally with its codec error code', async () => {
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    const codes = await page.evaluate(async () => {
      const c = window.harness.client;
      const code = (p) => p.then(() => 'resolved', (e) => e.code);
      let sendCode = null;
      try { c.send('{nope'); } catch (e) { sendCode = e.code; }
      return { request: await code(c.request({ type: 'no_such_type' })), send: sendCode };
    });
    assert.deepEqual(codes, { request: 'unknown_type', send: 'bad_json' });
  });

  test('close 4401 ends in closed: unauthorized, without reconnecting', async () => {
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    await server.last.ws.close({ code: 4401, reason: 'token expired' });
    await waitForState(page, 'closed');
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.cause, 'unauthorized');
    assert.equal(state.closeCode, 4401);
    assert.equal(state.closeReason, 'token expired');
    // The session stays closed: `closed` is final (no retry is scheduled) and no new connection
    // attempt was made.
    assert.equal(state.retryAt, undefined);
    assert.equal(state.attempt ?? 0, 0);
    assert.equal(server.connections.length, 1);
  });

  test('close 4401 asks refreshToken and reconnects with the new token; queued requests go on it', async () => {
    const answered = [];
    server.onRequest = (frame, ws) => {
      // The first connection never answers: its request must be resent on the second.
      if (server.connections.length < 2) return;
      answered.push(frame.id);
      ws.send(JSON.stringify({ type: 'pong', ts: 1, id: frame.id }));
    };
    await page.evaluate((url) => window.harness.connect(url, 'old', ['fresh-1']), WS_URL);
    await waitForState(page, 'open');
    await page.evaluate(() => { window.pending = window.harness.client.request({ type: 'ping' }); });
    await page.waitForFunction(() => window.harness.client.state.pending === 1, null, { timeout: WAIT_MS });

    await server.last.ws.close({ code: 4401, reason: 'token expired' });
    const reply = await page.evaluate(() => window.pending);
    assert.equal(reply.type, 'pong');
    assert.equal(server.connections.length, 2);
    assert.equal(new URL(server.connections[0].url).searchParams.get('token'), 'old');
    assert.equal(new URL(server.connections[1].url).searchParams.get('token'), 'fresh-1');
    assert.equal(answered.length, 1);
    assert.equal(await page.evaluate(() => window.harness.refreshCalls), 1);
    assert.deepEqual(await page.evaluate(() => window.harness.states),
      ['connecting', 'open', 'closed (refreshing)', 'connecting', 'open']);
  });

  test('refreshToken is asked at most 3 times in a row, then the client stays closed', async () => {
    await page.evaluate((url) => window.harness.connect(url, 'old', ['t1', 't2', 't3', 't4']), WS_URL);
    await waitForState(page, 'open');
    server.refuseWith = 4401;  // every new connection is refused: the refreshed tokens are bad too
    await server.last.ws.close({ code: 4401, reason: 'token expired' });
    await page.waitForFunction(() => window.harness.states.at(-1) === 'closed', null, { timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => window.harness.refreshCalls), 3);
    assert.deepEqual(server.connections.map((c) => new URL(c.url).searchParams.get('token')), ['old', 't1', 't2', 't3']);
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.cause, 'unauthorized');
    assert.equal(state.refreshing, undefined);
  });

  test('a refreshToken that gives up leaves the client closed and says so', async () => {
    await page.evaluate((url) => window.harness.connect(url, 'old', [null]), WS_URL);
    await waitForState(page, 'open');
    await server.last.ws.close({ code: 4401, reason: 'token expired' });
    await page.waitForFunction(() => window.harness.states.at(-1) === 'closed (refresh failed)', null, { timeout: WAIT_MS });
    assert.equal(server.connections.length, 1);
    assert.equal(await page.evaluate(() => window.harness.client.state.state), 'closed');
  });

  test('close 1012 reconnects promptly and requests made offline are sent after', async () => {
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');

    server.sendConnected = false;  // hold the next connection in "connecting" until we say so
    await server.last.ws.close({ code: 1012, reason: 'restart' });
    await page.waitForFunction(() => window.harness.states.includes('reconnecting'), null, { timeout: WAIT_MS });
    await page.waitForFunction(() => window.harness.client.state.state === 'connecting', null, { timeout: WAIT_MS });
    assert.equal(server.connections.length, 2);

    // Not open yet: the request waits in the offline queue.
    await page.evaluate(() => { window.pending = window.harness.client.request({ type: 'ping' }); });
    assert.equal(await page.evaluate(() => window.harness.client.state.queued), 1);

    server.last.ws.send(connectedFrame(2));
    await waitForState(page, 'open');
    const reply = await page.evaluate(() => window.pending);
    assert.equal(reply.type, 'pong');
    const states = await page.evaluate(() => window.harness.states);
    assert.deepEqual(states, ['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    const reconnect = await page.evaluate(() => window.harness.client.state);
    assert.equal(reconnect.connectionId, 'c2');
  });

  test('a failed dial is reported as 1006 and retried with backoff', async () => {
    // Port 9 on loopback: nothing listens, so the browser's dial fails.
    await page.evaluate(() => window.harness.connect('ws://127.0.0.1:9/ws', 't'));
    await waitForState(page, 'reconnecting');
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.closeCode, 1006);
    assert.equal(state.attempt, 1);
    assert.ok(state.retryInMs > 0 && state.retryInMs <= 750, `retryInMs ${state.retryInMs}`);
    await page.waitForFunction(() => window.harness.client.state.attempt >= 2, null, { timeout: WAIT_MS });
  });

  test('a URL the browser refuses is reported as 1006, not thrown', async () => {
    // new WebSocket() throws a SyntaxError on a URL with a fragment (one that new URL()
    // accepts); the transport must turn that into a close instead of letting the exception
    // unwind through the core.
    await page.evaluate(() => window.harness.connect('ws://127.0.0.1:9/ws#fragment', 't'));
    await waitForState(page, 'reconnecting');
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.closeCode, 1006);
    assert.equal(state.closeReason, 'not a valid WebSocket URL');
    assert.deepEqual(await page.evaluate(() => window.harness.states), ['connecting', 'reconnecting']);
  });

  test('a silent server is closed by the client (4000) and reconnected', async () => {
    // The core's watchdog closes the transport itself; the transport must report that close
    // promptly even though the peer never answers the close handshake.
    server.heartbeatMs = 200;     // the smallest the protocol allows: ping at 200 ms, give up at 400
    server.onRequest = () => {};  // silent: the app ping goes unanswered
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    await page.waitForFunction(() => window.harness.states.includes('reconnecting'), null, { timeout: WAIT_MS });
    assert.deepEqual(server.connections[0].received.map((f) => f.type), ['ping']);
    const state = await page.evaluate(() => window.harness.client.state);
    assert.equal(state.closeCode, 4000);
    assert.equal(state.closeReason, 'heartbeat timeout');
    await page.waitForFunction(() => window.harness.client.state.connectionId === 'c2', null, { timeout: WAIT_MS });
    assert.deepEqual(server.closes[0], { code: 4000, reason: 'heartbeat timeout' });
  });

  test('connect() rejects a URL that does not parse, with code invalid_config', async () => {
    const failure = await page.evaluate(() => window.harness.connect('ws://127.0.0.1:99999/ws', 't')
      .then(() => null, (e) => ({ name: e.name, code: e.code })));
    assert.deepEqual(failure, { name: 'TandemError', code: 'invalid_config' });
  });

  test('close() stops for good and fails pending requests with "closed"', async () => {
    server.onRequest = () => {};  // never answers
    await page.evaluate((url) => window.harness.connect(url, 't'), WS_URL);
    await waitForState(page, 'open');
    const code = await page.evaluate(async () => {
      const pending = window.harness.client.request({ type: 'ping' }).then(() => 'resolved', (e) => e.code);
      window.harness.client.close();
      return pending;
    });
    assert.equal(code, 'closed');
    assert.equal(await page.evaluate(() => window.harness.states.at(-1)), 'closed');
  });
});
