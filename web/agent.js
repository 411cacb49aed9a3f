// web/agent.js — the demo's agent panel: joins an agent:{id} room and shows what its producer
// (e.g. tandem-agent building a workflow) streams — thinking, nodes created, text, done — and
// sends it stream_control pause / resume / cancel (PROTOCOL.md §11).
import { el } from './room-view.js';

const $ = (id) => document.getElementById(id);

export const DEFAULT_AGENT_ROOM = 'agent:demo';
const MAX_SHOWN = 200;  // newest stream events kept on screen

// What the producer's own announcements say about its state: tandem-agent streams
// `thinking`, `node_created`, `edge_created` while it works, and `paused`, `resumed`,
// `cancelled` (then exits) and `done` (wasm-client/native/agent/workflow_agent.cpp).
const STATE_EVENTS = { paused: 'paused', resumed: 'running', cancelled: 'cancelled', done: 'done', started: 'running' };
const FINAL_STATES = new Set(['cancelled']);  // a step in flight may still stream after a cancel

// A shell word: quoted when it holds anything but safe characters.
const shellWord = (text) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

function describe(event) {
  const data = event.data;
  if (data && typeof data === 'object') {
    if (typeof data.text === 'string') return data.text;
    // A node or an edge: wrapped ({node}, {edge}) or as tandem-agent streams them, bare.
    const node = data.node && typeof data.node === 'object' ? data.node : null;
    if (node) return `${node.label || node.id}${node.type ? ` (${node.type})` : ''}`;
    if (data.edge && typeof data.edge === 'object') return `${data.edge.from} → ${data.edge.to}`;
    if (typeof data.from === 'string' && typeof data.to === 'string') return `${data.from} → ${data.to}`;
    if (typeof data.label === 'string') return `${data.label}${typeof data.type === 'string' ? ` (${data.type})` : ''}`;
    if (typeof data.nodes === 'number') return `${data.nodes} nodes${typeof data.edges === 'number' ? `, ${data.edges} edges` : ''}`;
    if (typeof data.message === 'string') return data.message;
    const text = JSON.stringify(data);
    return text === '{}' ? '' : text;
  }
  return data === undefined || data === null ? '' : String(data);
}

export class AgentPanel {
  #client;
  #log;
  #room = null;
  #off = [];
  #busy = false;

  #onRoom;
  #workflowRoom;

  // workflowRoom() names the workflow:{id} room an agent run should build into; onRoom(name |
  // null) is told when the panel starts or stops watching a room.
  constructor({ client, log, roomName, workflowRoom = () => '', onRoom = () => {} }) {
    this.#client = client;
    this.#log = log;
    this.#onRoom = onRoom;
    this.#workflowRoom = workflowRoom;
    $('agent-room').value = roomName;
    for (const id of ['agent-room', 'agent-prompt']) $(id).addEventListener('input', () => this.updateCommand());
    $('agent-form').addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.#room) this.#leave(); else this.#join($('agent-room').value.trim());
    });
    $('agent-controls').addEventListener('click', (event) => {
      const action = event.target.closest('button[data-action]')?.dataset.action;
      if (action) this.#control(action);
    });
    this.#setState('out', 'Not watching an agent');
    this.#render();
  }

  // The command that runs tandem-agent against this server, this agent room and the workflow.
  updateCommand() {
    const workflow = this.#workflowRoom() || 'workflow:demo';
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    $('agent-workflow').textContent = workflow;
    $('agent-command').textContent = ['tandem-agent', '--url', `${scheme}://${location.host}/ws`,
      '--agent-room', $('agent-room').value.trim() || DEFAULT_AGENT_ROOM, '--workflow', workflow,
      '--prompt', $('agent-prompt').value.trim() || 'Fetch orders and email a summary'].map(shellWord).join(' ');
  }

  // Joins `name` unless the panel already watches a room.
  watch(name) {
    if (!this.#room && name) {
      $('agent-room').value = name;
      this.updateCommand();
      return this.#join(name);
    }
    return Promise.resolve();
  }

  // Stops watching the room watched, if any.
  leave() { return this.#room ? this.#leave() : Promise.resolve(); }

  setOnline(online) {
    $('agent-panel').classList.toggle('offline', !online);
  }

  async #join(name) {
    if (!name) return;
    $('agent-join').disabled = true;
    this.#setState('joining', `Joining ${name}…`);
    try {
      const room = await this.#client.join(name);
      this.#room = room;
      this.#off = [room.on('stream', (event) => this.#streamed(event))];
      this.#setState('joined', name);
      this.#log(`joined ${name}`);
      this.#onRoom(name);
    } catch (error) {
      this.#setState('error', `Could not join ${name}: ${error.code ?? 'error'}`);
      this.#log(`join ${name} failed: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      $('agent-join').disabled = false;
      this.#render();
    }
  }

  async #leave() {
    const room = this.#room;
    for (const off of this.#off) off();
    this.#off = [];
    this.#room = null;
    this.#setState('out', 'Not watching an agent');
    this.#render();
    this.#onRoom(null);
    try {
      await room.leave();
    } catch (error) {
      this.#log(`leave ${room.name}: ${error.code ?? 'error'}: ${error.message}`);
    }
  }

  #setState(state, text) {
    $('agent-state').dataset.state = state;
    $('agent-state').textContent = text;
    $('agent-join').textContent = state === 'joined' ? 'Leave' : 'Join';
    $('agent-room').disabled = state === 'joined' || state === 'joining';
  }

  #streamed(event) {
    const state = STATE_EVENTS[event.event];
    const shown = $('agent-status').dataset.state;
    if (state) this.#showStatus(state);
    else if (shown !== 'paused' && !FINAL_STATES.has(shown)) this.#showStatus('running');
    this.#renderEvents();
  }

  #showStatus(state, text = state) {
    $('agent-status').dataset.state = state;
    $('agent-status').textContent = text;
  }

  async #control(action) {
    if (!this.#room || this.#busy) return;
    this.#busy = true;
    this.#render();
    try {
      await this.#room.stream.control(action);
      this.#log(`stream_control ${action}: routed to the producer`);
      this.#showStatus({ pause: 'paused', resume: 'running', cancel: 'cancelled' }[action], `${action} sent`);
    } catch (error) {
      const text = error.code === 'not_found' ? 'no agent is streaming in this room' : `${error.code}: ${error.message}`;
      this.#showStatus('error', text);
      this.#log(`stream_control ${action}: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      this.#busy = false;
      this.#render();
    }
  }

  #render() {
    for (const button of $('agent-controls').querySelectorAll('button')) button.disabled = !this.#room || this.#busy;
    if (!this.#room) this.#showStatus('idle', '');
    this.#renderEvents();
  }

  #renderEvents() {
    const events = this.#room ? this.#room.stream.events.slice(-MAX_SHOWN) : [];
    const list = $('agent-events');
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...events.map((event) => el('li', {
      class: 'agent-event', 'data-testid': 'agent-event', 'data-event': event.event, 'data-seq': event.seq,
    }, el('code', { class: 'agent-event-name' }, event.event), el('span', {}, describe(event)))));
    $('agent-empty').hidden = events.length > 0;
    if (stick) list.scrollTop = list.scrollHeight;
  }
}
