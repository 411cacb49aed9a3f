// web/room.js — the demo's room panel: join a room, see who is in it (members with their
// colour and tab count), share cursors over a canvas with a fixed logical coordinate space,
// and lock nodes (a denial names the holder and offers a takeover; the holder is asked).
//
// The panel only talks to a TandemRoom (tandem.mjs); throttling, rejoin after a reconnect and
// lock renewal happen in the client core.
import { renderGraph } from './graph.js';
import { el, lockMessageView, memberView, nodeView, textColorOn } from './room-view.js';

// Logical canvas size: cursors travel as these coordinates, so two screens of any size agree
// on where a cursor is. The canvas box keeps this aspect ratio.
export const CANVAS = { width: 1000, height: 600 };
export const DEFAULT_ROOM = 'workflow:demo';
// The lockable resources of a room that has no workflow document (ids follow PROTOCOL.md §2
// node id rules); a workflow:{id} room's nodes are its document's.
export const NODES = [
  { id: 'node-1', title: 'Trigger', kind: 'webhook' },
  { id: 'node-2', title: 'Fetch order', kind: 'http_request' },
  { id: 'node-3', title: 'Transform', kind: 'code' },
  { id: 'node-4', title: 'Notify', kind: 'email' },
];
// "Add a sample workflow" in an empty workflow room: NODES as document nodes, in a row.
const SAMPLE_TYPES = { webhook: 'trigger', http_request: 'http_request', code: 'code', email: 'email' };
const SAMPLE_NODES = NODES.map((node, index) => ({
  id: node.id, type: SAMPLE_TYPES[node.kind], label: node.title, x: index * 260, y: index % 2 ? 90 : 0,
}));
const SAMPLE_EDGES = SAMPLE_NODES.slice(1).map((node, index) => ({
  id: `edge-${index + 1}`, from: SAMPLE_NODES[index].id, to: node.id,
}));

const $ = (id) => document.getElementById(id);

// Joined-state names, also the room state element's data-state (a stable hook for tests).
const RoomState = { out: 'out', joining: 'joining', joined: 'joined', leaving: 'leaving', error: 'error' };

export class RoomPanel {
  #client;
  #me;           // {id, name, color} from the token
  #log;
  #room = null;  // TandemRoom while joined
  #unsubscribe = [];
  #presence = {};           // this connection's whole presence state (a presence replaces it)
  #held = new Set();        // resources this connection holds (another tab of mine may hold others)
  #pending = new Set();     // resources with a lock/unlock/takeover on the way
  #memberSignature = '';
  #message = null;          // what the lock message box shows, or null
  #onRoom;                  // told the TandemRoom when joined, null when left

  constructor({ client, me, log, roomName, onRoom = () => {} }) {
    this.#client = client;
    this.#me = me;
    this.#log = log;
    this.#onRoom = onRoom;
    $('room-name').value = roomName;
    $('room-form').addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.#room) this.#leave(); else this.#join($('room-name').value.trim());
    });
    const canvas = $('canvas');
    canvas.addEventListener('pointermove', (event) => this.#moveCursor(event));
    canvas.addEventListener('pointerleave', () => this.#hideCursor());
    $('nodes').addEventListener('click', (event) => this.#nodeClicked(event));
    $('lock-message').addEventListener('click', (event) => this.#messageClicked(event));
    $('seed-workflow').addEventListener('click', () => this.#addSampleWorkflow());
    this.#setState(RoomState.out, 'Not in a room');
    this.#render();
  }

  // Joins `name` unless already in a room (the room picker, ?join=1).
  join(name) {
    if (this.#room || !name || $('room-state').dataset.state === RoomState.joining) return Promise.resolve();
    $('room-name').value = name;
    return this.#join(name);
  }

  // Leaves the room joined, if any.
  leave() { return this.#room ? this.#leave() : Promise.resolve(); }

  // The room joined, or null.
  get roomName() { return this.#room?.name ?? null; }

  // The connection went away or came back: the room is rejoined by the core, so only dim it.
  setOnline(online) {
    $('room-panel').classList.toggle('offline', !online);
  }

  async #join(name) {
    $('room-join').disabled = true;
    this.#setState(RoomState.joining, `Joining ${name}…`);
    try {
      const room = await this.#client.join(name);
      this.#room = room;
      this.#unsubscribe = [
        room.on('presence', () => this.#renderPeople()),
        room.on('locks', () => this.#renderNodes()),
        room.on('doc', () => this.#renderNodes()),
        room.on('lockLost', (lost) => this.#lockLost(lost)),
        room.on('takeover', (request) => this.#takeoverRequested(request)),
      ];
      this.#setState(RoomState.joined, `In ${name}`);
      this.#log(`joined ${name}`);
      this.#onRoom(room);
      const url = new URL(location.href);
      url.searchParams.set('room', name);
      history.replaceState(null, '', url);
    } catch (error) {
      this.#setState(RoomState.error, `Could not join ${name}: ${error.code ?? 'error'} — ${error.message}`);
      this.#log(`join ${name} failed: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      $('room-join').disabled = false;
      this.#render();
    }
  }

  async #leave() {
    const room = this.#room;
    $('room-join').disabled = true;
    this.#setState(RoomState.leaving, `Leaving ${room.name}…`);
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#room = null;
    this.#onRoom(null);
    this.#held.clear();
    this.#presence = {};
    this.#showMessage(null);
    try {
      await room.leave();
      this.#log(`left ${room.name}`);
    } catch (error) {
      this.#log(`leave ${room.name}: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      $('room-join').disabled = false;
      this.#setState(RoomState.out, 'Not in a room');
      this.#render();
    }
  }

  #setState(state, text) {
    $('room-state').dataset.state = state;
    $('room-state').textContent = text;
    $('room-join').textContent = state === RoomState.joined ? 'Leave' : 'Join';
    $('room-name').disabled = state === RoomState.joined || state === RoomState.joining;
  }

  // ---- presence ------------------------------------------------------------------------

  #moveCursor(event) {
    if (!this.#room) return;
    const box = event.currentTarget.getBoundingClientRect();
    const clamp = (value, max) => Math.min(max, Math.max(0, Math.round(value)));
    this.#presence.cursor = {
      x: clamp((event.clientX - box.left) / box.width * CANVAS.width, CANVAS.width),
      y: clamp((event.clientY - box.top) / box.height * CANVAS.height, CANVAS.height),
    };
    this.#sendPresence();  // on every move: the core throttles and keeps the latest
  }

  #hideCursor() {
    if (!this.#room || !this.#presence.cursor) return;
    delete this.#presence.cursor;
    this.#sendPresence();
  }

  #sendPresence() {
    try {
      this.#room.setPresence(this.#presence);
    } catch (error) {
      this.#log(`presence: ${error.code ?? 'error'}: ${error.message}`);
    }
  }

  #renderPeople() {
    const members = this.#room ? this.#room.members : [];
    this.#renderMembers(members);
    this.#renderCursors(members);
  }

  #renderMembers(members) {
    const sorted = [...members].sort((a, b) =>
      (b.id === this.#me.id) - (a.id === this.#me.id) || (a.name || a.id).localeCompare(b.name || b.id));
    const editing = (m) => m.metas.map((meta) => meta.state?.node).filter(Boolean);
    // Rebuilt only when something shown changed: cursor moves arrive many times a second.
    const signature = JSON.stringify(sorted.map((m) => [m.id, m.name, m.color, m.metas.length, editing(m)]));
    if (signature === this.#memberSignature) return;
    this.#memberSignature = signature;
    $('members').replaceChildren(...sorted.map((m) =>
      memberView(m, { self: m.id === this.#me.id, editing: editing(m) })));
    $('member-count').textContent = members.length ? String(members.length) : '';
    $('members-empty').hidden = members.length > 0;
  }

  // One cursor per other connection (my other tabs included), keyed by connection id, moved
  // in place so CSS can glide it.
  #renderCursors(members) {
    const layer = $('cursors');
    const ownConnection = this.#client.state.connectionId;
    const seen = new Set();
    for (const member of members) {
      for (const meta of member.metas) {
        const cursor = meta.state?.cursor;
        if (!cursor || meta.connection === ownConnection) continue;
        seen.add(meta.connection);
        let view = layer.querySelector(`[data-connection="${CSS.escape(meta.connection)}"]`);
        if (!view) {
          view = el('div', { class: 'cursor', 'data-testid': 'cursor', 'data-connection': meta.connection });
          view.innerHTML = '<svg viewBox="0 0 16 20" width="16" height="20" aria-hidden="true">' +
            '<path d="M0 0 L0 15 L4 11.5 L6.8 18 L9.4 16.9 L6.7 10.6 L12 10.6 Z"/></svg>';
          view.append(el('span', { class: 'cursor-label' }));
          layer.append(view);
        }
        const label = member.id === this.#me.id ? `${member.name} (other tab)` : member.name || member.id;
        view.dataset.user = member.id;
        view.dataset.x = String(cursor.x);
        view.dataset.y = String(cursor.y);
        view.style.left = `${(cursor.x / CANVAS.width) * 100}%`;
        view.style.top = `${(cursor.y / CANVAS.height) * 100}%`;
        view.style.setProperty('--color', member.color || '#555');
        view.style.setProperty('--on-color', textColorOn(member.color));
        view.lastChild.textContent = label;
      }
    }
    for (const view of [...layer.children]) if (!seen.has(view.dataset.connection)) view.remove();
  }

  // ---- locks ---------------------------------------------------------------------------

  #renderNodes() {
    const locks = this.#room ? this.#room.locks : {};
    // Someone else's in the replica: ours is gone, whatever the order of events was. (No entry
    // yet is normal: our lock_granted may be handled before the room's `locked` arrives.)
    for (const resource of this.#held) {
      const holder = locks[resource]?.user;
      if (holder !== undefined && holder !== this.#me.id) this.#held.delete(resource);
    }
    const nodes = this.#lockableNodes();
    $('nodes').replaceChildren(...nodes.map((node) => nodeView(node, {
      lock: locks[node.id],
      mine: this.#held.has(node.id),
      busy: this.#pending.has(node.id),
      joined: Boolean(this.#room),
      me: this.#me,
    })));
    const doc = this.#hasDocument() ? this.#room.doc : null;
    $('nodes-empty').hidden = !doc || nodes.length > 0;
    renderGraph($('graph'), { nodes: doc ? doc.nodes : [], edges: doc ? doc.edges : [], locks, me: this.#me, canvas: CANVAS });
  }

  // A workflow room whose document arrived: its nodes are what can be locked.
  #hasDocument() {
    return Boolean(this.#room?.name.startsWith('workflow:') && this.#room.doc.loaded);
  }

  #lockableNodes() {
    if (!this.#hasDocument()) return this.#room?.name.startsWith('workflow:') ? [] : NODES;
    return this.#room.doc.nodes.map((node) => ({ id: node.id, title: node.label || node.id, kind: node.type }));
  }

  async #addSampleWorkflow() {
    const room = this.#room;
    if (!room) return;
    $('seed-workflow').disabled = true;
    try {
      for (const node of SAMPLE_NODES) await room.doc.createNode(node);
      for (const edge of SAMPLE_EDGES) await room.doc.createEdge(edge);
      this.#log(`added the sample workflow to ${room.name}`);
    } catch (error) {
      this.#log(`sample workflow: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      $('seed-workflow').disabled = false;
    }
  }

  #render() {
    this.#memberSignature = '';
    this.#renderPeople();
    this.#renderNodes();
    $('canvas').classList.toggle('inactive', !this.#room);
  }

  async #nodeClicked(event) {
    const button = event.target.closest('button[data-resource]');
    if (!button || !this.#room) return;
    const resource = button.dataset.resource;
    if (this.#held.has(resource)) await this.#unlock(resource);
    else await this.#lock(resource, 'lock');
  }

  // Runs room.lock (how = 'lock') or room.takeover and shows the outcome.
  async #lock(resource, how) {
    const room = this.#room;
    this.#busy(resource, true);
    try {
      const answer = await (how === 'takeover' ? room.takeover(resource) : room.lock(resource));
      if (room !== this.#room) return;
      if (answer.outcome === 'granted') {
        this.#held.add(resource);
        this.#editing(resource);
        this.#log(`${how} ${resource}: granted (fence ${answer.fence})`);
        this.#showMessage(how === 'takeover' ? { kind: 'info', resource, text: `You now hold ${resource}` } : null);
      } else {
        const holder = answer.holder ?? {};
        this.#log(`${how} ${resource}: denied, held by ${holder.name ?? holder.user}`);
        this.#showMessage({ kind: 'denied', resource, holder, holderIsMe: holder.user === this.#me.id });
      }
    } catch (error) {
      this.#log(`${how} ${resource} failed: ${error.code ?? 'error'}: ${error.message}`);
      this.#showMessage({ kind: 'error', resource, text: `Could not lock ${resource}: ${error.message}` });
    } finally {
      this.#busy(resource, false);
    }
  }

  async #unlock(resource) {
    this.#busy(resource, true);
    try {
      await this.#room.unlock(resource);
      this.#log(`unlock ${resource}: done`);
    } catch (error) {
      this.#log(`unlock ${resource}: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      this.#held.delete(resource);
      if (this.#presence.node === resource) this.#editing(null);
      this.#busy(resource, false);
    }
  }

  #busy(resource, busy) {
    if (busy) this.#pending.add(resource); else this.#pending.delete(resource);
    this.#renderNodes();
  }

  // Tells the room which node this connection edits (presence `node`).
  #editing(resource) {
    if (resource) this.#presence.node = resource; else delete this.#presence.node;
    if (this.#room) this.#sendPresence();
  }

  #lockLost({ resource, reason, holder }) {
    this.#held.delete(resource);
    if (this.#presence.node === resource) this.#editing(null);
    const who = holder?.name ?? holder?.user;
    const text = reason === 'taken_over' && who ? `${who} took over ${resource}`
      : reason === 'expired' ? `Your lock on ${resource} expired`
      : `You lost ${resource} (${reason})`;
    this.#log(`lock lost: ${resource} (${reason})`);
    this.#showMessage({ kind: 'lost', resource, text });
    this.#renderNodes();
  }

  #takeoverRequested({ resource, by, graceMs }) {
    this.#log(`takeover of ${resource} requested by ${by?.name ?? by?.user}`);
    this.#showMessage({ kind: 'takeover-request', resource, by, graceMs });
  }

  #showMessage(message) {
    const box = $('lock-message');
    this.#message = message;
    if (!message) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    box.dataset.kind = message.kind;
    box.dataset.resource = message.resource;
    box.replaceChildren(...lockMessageView(message));
  }

  async #messageClicked(event) {
    const action = event.target.closest('button[data-action]')?.dataset.action;
    if (!action || !this.#message) return;
    const { resource, holder } = this.#message;
    if (action === 'dismiss') return this.#showMessage(null);
    if (!this.#room) return;
    if (action === 'takeover') {
      const who = holder?.name ?? holder?.user ?? 'the holder';
      this.#showMessage({ kind: 'info', resource, text: `Asked ${who} to hand over ${resource}…` });
      await this.#lock(resource, 'takeover');
    } else if (action === 'release') {
      this.#showMessage(null);
      await this.#unlock(resource);
    }
  }
}
