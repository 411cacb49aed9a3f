// web/app.js — the demo page's script: gets a development token from the server, connects
// with tandem.mjs, shows the connection state as it changes, and hands the client to the
// room panel (web/room.js).
//
// Page address options: ?name=Ana picks the user name (default: a random guest name);
// ?room=workflow:42 fills in the room to join (default workflow:demo); ?chat=chat:lobby the
// chat joined at once; ?agent=agent:demo the agent room to watch.
import { connect } from './tandem.mjs';
import { AgentPanel, DEFAULT_AGENT_ROOM } from './agent.js';
import { ChatPanel, DEFAULT_CHAT_ROOM } from './chat.js';
import { DEFAULT_ROOM, RoomPanel } from './room.js';
import { WorkflowPanel } from './workflow.js';

const COUNTDOWN_REFRESH_MS = 250;  // how often "reconnecting in N s" is redrawn
const MAX_LOG_LINES = 200;         // older lines are dropped so the page never grows unbounded
// Not logged: cursor moves and typing arrive many times a second and would push everything
// else out.
const UNLOGGED_TYPES = new Set(['presence_update', 'typing']);

const $ = (id) => document.getElementById(id);

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
    case 'open': return ['Connected', ''];
    case 'reconnecting': {
      const seconds = Math.ceil((s.retryInMs ?? 0) / 1000);
      const why = s.closeCode ? `closed ${s.closeCode}${s.closeReason ? ` (${s.closeReason})` : ''}` : s.cause;
      return [`Reconnecting in ${seconds} s`, `${why} — attempt ${s.attempt}`];
    }
    case 'closed': {
      const why = s.cause === 'unauthorized' ? 'unauthorized' : (s.closeReason || s.cause || 'closed');
      const code = s.closeCode ? `close code ${s.closeCode}${s.closeReason ? ` — ${s.closeReason}` : ''}` : '';
      const hint = s.cause === 'unauthorized' ? ' · reload the page for a new token' : '';
      return [`Closed: ${why}`, code + hint];
    }
    default: return [s.state, ''];
  }
}

function showState(s) {
  const [label, detail] = describe(s);
  $('state').dataset.state = s.state;
  $('state').dataset.closeCode = s.closeCode ? String(s.closeCode) : '';
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
  const response = await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}`);
  if (!response.ok) {
    throw new Error(`GET /api/v1/dev/token answered ${response.status}; start tandem-server with --dev`);
  }
  return response.json();
}

async function main() {
  const params = new URLSearchParams(location.search);
  const name = params.get('name') || `Guest-${Math.floor(1000 + Math.random() * 9000)}`;
  $('user-name').textContent = name;

  let grant;
  try {
    grant = await devToken(name);
  } catch (error) {
    showFailure('No token', error.message);
    return;
  }

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = await connect(`${scheme}://${location.host}/ws`, { token: grant.token });
  window.tandemClient = client;  // for the console

  const workflow = new WorkflowPanel({ me: grant.user, log });
  const panel = new RoomPanel({
    client, me: grant.user, log, roomName: params.get('room') || DEFAULT_ROOM, onRoom: (room) => workflow.setRoom(room),
  });
  const chat = new ChatPanel({ client, me: grant.user, log, roomName: params.get('chat') || DEFAULT_CHAT_ROOM });
  const agent = new AgentPanel({ client, log, roomName: params.get('agent') || DEFAULT_AGENT_ROOM });
  $('room-join').disabled = false;
  $('agent-join').disabled = false;
  const panels = [panel, workflow, chat, agent];
  chat.join($('chat-room').value.trim());

  showState(client.state);
  for (const p of panels) p.setOnline(client.state.state === 'open');
  client.on('state', (s) => {
    showState(s);
    for (const p of panels) p.setOnline(s.state === 'open');
    log(`state ${s.state}${s.closeCode ? ` (close ${s.closeCode} ${s.closeReason ?? ''})` : ''}`);
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
