// web/app.js — the demo page's script: gets a development token from the server, connects
// with tandem.mjs, shows the connection state as it changes, and hands the client to the
// room panel (web/room.js). The shared notes (web/notes.js) have a Yjs connection of their own,
// with the same token.
//
// Signing in: the name typed in the connection card (remembered in localStorage), or ?name=Ana
// (default: a random guest name), gets a development token from the server. When the server
// refuses the token later (4401: expired, or the server's secret changed) the client asks for a
// new one for the same name and connects again (tandem.mjs refreshToken).
//
// Page address options: ?name=Ana picks the user name;
// ?room=workflow:42 fills in the room to join (default workflow:demo), joined at once with
// &join=1; ?chat=chat:lobby the chat joined at once; ?agent=agent:demo the agent room to
// watch, watched at once with &watch=1. The page writes these back as rooms are joined and
// left, so a reload returns to the same rooms. ?transports=sse connects over Server-Sent
// Events only (default: websocket,sse — the WebSocket, and SSE where it does not get through);
// the state shows which one carries the connection ("Connected · SSE").
//
// Timing hook (tests, the note): window.tandemTiming holds milliseconds since navigation start
// (performance.now()) — tokenMs when the dev token arrived, moduleMs when connect() resolved
// (wasm loaded), connectedMs when the client first reached state `open`; connectedMs is also
// on <html data-connected-ms>.
import { connect } from './tandem.mjs';
import { AgentPanel, DEFAULT_AGENT_ROOM } from './agent.js';
import { ChatPanel, DEFAULT_CHAT_ROOM } from './chat.js';
import { NotesPanel } from './notes.js';
import { DEFAULT_ROOM, RoomPanel } from './room.js';
import { WorkflowPanel } from './workflow.js';

const COUNTDOWN_REFRESH_MS = 250;  // how often "reconnecting in N s" is redrawn
const MAX_LOG_LINES = 200;         // older lines are dropped so the page never grows unbounded
// Not logged: cursor moves and typing arrive many times a second and would push everything
// else out.
const UNLOGGED_TYPES = new Set(['presence_update', 'typing']);

const $ = (id) => document.getElementById(id);

// How the state line names what carries the connection (tandem.mjs client.transport).
const TRANSPORT_LABELS = { websocket: 'WebSocket', sse: 'SSE' };

const timing = { tokenMs: null, moduleMs: null, connectedMs: null };
window.tandemTiming = timing;

const NAME_KEY = 'tandem.name';

function storedName() {
  try {
    return localStorage.getItem(NAME_KEY) || '';
  } catch {
    return '';
  }
}

// "Sign in as": remembers the name and reloads the page with it (a new token, same rooms).
function signInAs(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Private mode: the name still goes in the address.
  }
  const url = new URL(location.href);
  url.searchParams.set('name', name);
  location.assign(url);
}

function markConnected() {
  if (timing.connectedMs !== null) return;
  timing.connectedMs = performance.now();
  document.documentElement.dataset.connectedMs = timing.connectedMs.toFixed(1);
}

// The page address follows the rooms joined, so a reload (or a shared link) returns to them.
function setParams(changes) {
  const url = new URL(location.href);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) url.searchParams.delete(key); else url.searchParams.set(key, value);
  }
  history.replaceState(null, '', url);
  updateCanvasLink();
}

// "open the workflow canvas": the canvas page (canvas.html) on the same workflow, chat and
// agent rooms, as the same user.
function updateCanvasLink() {
  const page = new URLSearchParams(location.search);
  const link = new URL('/canvas.html', location.href);
  for (const [from, to] of [['name', 'name'], ['room', 'room'], ['chat', 'chat'], ['agent', 'agent']]) {
    const value = page.get(from);
    if (value) link.searchParams.set(to, value);
  }
  if (!link.searchParams.has('name') && $('sign-in-name').value) link.searchParams.set('name', $('sign-in-name').value);
  $('canvas-link').href = link.pathname + link.search;
}

// Rooms joined before, newest first, offered as the inputs' suggestions.
const RECENT_KEY = 'tandem.recentRooms';
const MAX_RECENT = 8;
const DEFAULTS = { workflow: ['workflow:demo'], chat: ['chat:lobby'], agent: ['agent:demo'] };

function recentRooms() {
  try {
    const stored = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '{}');
    return Object.fromEntries(Object.keys(DEFAULTS).map((kind) =>
      [kind, Array.isArray(stored[kind]) ? stored[kind].filter((n) => typeof n === 'string') : []]));
  } catch {
    return { workflow: [], chat: [], agent: [] };
  }
}

function rememberRoom(kind, name) {
  const recent = recentRooms();
  recent[kind] = [name, ...recent[kind].filter((n) => n !== name)].slice(0, MAX_RECENT);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(recent)); } catch { /* private mode */ }
  showRecent();
}

function showRecent() {
  const recent = recentRooms();
  for (const kind of Object.keys(DEFAULTS)) {
    const names = [...new Set([...recent[kind], ...DEFAULTS[kind]])];
    $(`recent-${kind}`).replaceChildren(...names.map((name) => Object.assign(document.createElement('option'), { value: name })));
  }
}

// A fresh id for a new workflow session: 8 base-36 characters.
function freshId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

function log(text) {
  const line = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  line.append(time, text);
  $('log').prepend(line);
  while ($('log').children.length > MAX_LOG_LINES) $('log').lastChild.remove();
}

function describe(s) {
  switch (s.state) {
    case 'idle': return ['Idle', ''];
    case 'connecting': return ['Connecting…', s.attempt > 0 ? `attempt ${s.attempt}` : ''];
    case 'open': return [`Connected · ${TRANSPORT_LABELS[s.transport] ?? s.transport}`, ''];
    case 'reconnecting': {
      const seconds = Math.ceil((s.retryInMs ?? 0) / 1000);
      const why = s.closeCode ? `closed ${s.closeCode}${s.closeReason ? ` (${s.closeReason})` : ''}` : s.cause;
      return [`Reconnecting in ${seconds} s`, `${why} — attempt ${s.attempt}`];
    }
    case 'closed': {
      if (s.refreshing) return ['Signing in again…', 'the server refused the token (4401) — getting a new one'];
      const why = s.cause === 'unauthorized' ? 'unauthorized' : (s.closeReason || s.cause || 'closed');
      const code = s.closeCode ? `close code ${s.closeCode}${s.closeReason ? ` — ${s.closeReason}` : ''}` : '';
      const hint = s.refreshError ? ` · ${s.refreshError}`
        : s.cause === 'unauthorized' ? ' · reload the page for a new token' : '';
      return [`Closed: ${why}`, code + hint];
    }
    default: return [s.state, ''];
  }
}

function showState(s) {
  const [label, detail] = describe(s);
  $('state').dataset.state = s.refreshing ? 'refreshing' : s.state;
  $('state').dataset.closeCode = s.closeCode ? String(s.closeCode) : '';
  $('state').dataset.transport = s.transport ?? '';
  $('state').textContent = label;
  $('state-detail').textContent = detail;
  $('attempt').textContent = String(s.attempt ?? 0);
  $('queued').textContent = String(s.queued ?? 0);
  if (s.connectionId) $('connection-id').textContent = s.connectionId;
  if (s.user) {
    $('user-name').textContent = s.user.name || s.user.id;
    $('user-swatch').style.background = s.user.color || 'transparent';
  }
}

function showFailure(title, detail) {
  $('state').dataset.state = 'error';
  $('state').textContent = title;
  $('state-detail').textContent = detail;
  log(`${title}: ${detail}`);
}

async function devToken(name) {
  // chat:bots: demo users may turn chat bots on and off (PROTOCOL.md "Chat bots").
  const response = await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}&perms=chat:bots`);
  if (!response.ok) {
    throw new Error(`no development token (GET /api/v1/dev/token answered ${response.status}; start tandem-server with --dev)`);
  }
  return response.json();
}

async function main() {
  const params = new URLSearchParams(location.search);
  const name = params.get('name') || storedName() || `Guest-${Math.floor(1000 + Math.random() * 9000)}`;
  $('user-name').textContent = name;
  $('sign-in-name').value = name;
  updateCanvasLink();
  $('sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    const wanted = $('sign-in-name').value.trim();
    if (wanted && wanted !== name) signInAs(wanted);
  });

  let grant;
  try {
    grant = await devToken(name);
  } catch (error) {
    showFailure('No token', error.message);
    return;
  }

  timing.tokenMs = performance.now();

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const refreshToken = async () => {
    const fresh = await devToken(name);  // a failure leaves the client closed, saying why
    log('the server refused the token (4401): signed in again with a new development token');
    return fresh.token;
  };
  const transports = params.get('transports')?.split(',');
  let client;
  try {
    client = await connect(`${scheme}://${location.host}/ws`, { token: grant.token, refreshToken, transports });
  } catch (error) {
    showFailure('Cannot connect', error.message);
    return;
  }
  timing.moduleMs = performance.now();
  window.tandemClient = client;  // for the console
  if (client.state.state === 'open') markConnected();

  showRecent();
  let agent = null;
  const workflow = new WorkflowPanel({ me: grant.user, log });
  // The notes of the workflow room the address names, then of each room joined.
  const notes = new NotesPanel({ me: grant.user, client, log });
  notes.setRoom(params.get('room') || DEFAULT_ROOM);
  const panel = new RoomPanel({
    client, me: grant.user, log, roomName: params.get('room') || DEFAULT_ROOM,
    onRoom: (room) => {
      workflow.setRoom(room);
      if (room) notes.setRoom(room.name);
      if (room) rememberRoom('workflow', room.name);
      setParams({ join: room ? '1' : null });
      agent?.updateCommand();
    },
  });
  const chat = new ChatPanel({
    client, me: grant.user, log, roomName: params.get('chat') || DEFAULT_CHAT_ROOM, onRoom: (name) => rememberRoom('chat', name),
  });
  agent = new AgentPanel({
    client, log, roomName: params.get('agent') || DEFAULT_AGENT_ROOM,
    workflowRoom: () => panel.roomName ?? $('room-name').value.trim(),
    onRoom: (name) => {
      if (name) rememberRoom('agent', name);
      setParams(name ? { agent: name, watch: '1' } : { watch: null });
    },
  });
  agent.updateCommand();
  $('room-name').addEventListener('input', () => agent.updateCommand());
  $('room-join').disabled = false;
  $('agent-join').disabled = false;
  $('new-session').disabled = false;
  const panels = [panel, workflow, chat, agent];
  chat.join($('chat-room').value.trim());
  if (params.get('join') === '1') panel.join($('room-name').value.trim());
  if (params.get('watch') === '1') agent.watch($('agent-room').value.trim());

  // "New workflow session": a fresh workflow:{id} and agent:{id}, joined at once (the rooms
  // joined before are left).
  $('new-session').addEventListener('click', async () => {
    const id = freshId();
    $('new-session').disabled = true;
    try {
      await panel.leave();
      await agent.leave();
      setParams({ room: `workflow:${id}`, agent: `agent:${id}` });
      await Promise.all([panel.join(`workflow:${id}`), agent.watch(`agent:${id}`)]);
    } finally {
      $('new-session').disabled = false;
    }
  });

  showState(client.state);
  for (const p of panels) p.setOnline(client.state.state === 'open');
  client.on('state', (s) => {
    if (s.state === 'open') markConnected();
    showState(s);
    for (const p of panels) p.setOnline(s.state === 'open');
    log(`state ${s.state}${s.closeCode ? ` (close ${s.closeCode} ${s.closeReason ?? ''})` : ''}` +
      `${s.refreshing ? ' — refreshing the token' : ''}${s.refreshError ? ` — ${s.refreshError}` : ''}`);
  });
  client.on('message', (message) => {
    if (!UNLOGGED_TYPES.has(message.type)) log(`← ${JSON.stringify(message)}`);
  });
  setInterval(() => { if (client.state.state === 'reconnecting') showState(client.state); }, COUNTDOWN_REFRESH_MS);

  $('send-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('send-text').value;
    log(`→ ${text}`);
    try {
      const reply = await client.request(text);
      log(`✓ ${JSON.stringify(reply)}`);
    } catch (error) {
      log(`✗ ${error.code ?? 'error'}: ${error.message}`);
    }
  });
}

main().catch((error) => showFailure('Error', error.message));
