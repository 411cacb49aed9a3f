// web/notes.js — the demo's shared notes panel: a textarea bound to the Y.Text 'notes' of the
// Yjs document notes/{id} of the workflow room workflow:{id}, carried by the page's own Tandem
// connection (issue 17: @hocuspocus/provider over tandem-yjs.mjs, PROTOCOL.md §19 "Over the
// Tandem connection") — one socket for the rooms and the notes, authenticated and reconnected
// by the client core. Others' carets show over the text in their colour, with their name (Yjs
// awareness), and who is in the notes is listed beside it.
//
// The document follows the workflow room (the one joined, else the one the address names), so
// a shared link brings everyone to the same notes without a second name to agree on.
//
// Binding: a local edit becomes one transaction (the common prefix and suffix of the old and
// new value are kept, the middle deleted and inserted); a remote one rewrites the textarea and
// puts the selection back where it was in the text, through relative positions taken just
// before the change. Yjs and the provider come from vendor/yjs.mjs (bundled by the wasm build
// with esbuild), loaded only when the panel starts; without it the panel says so.
//
// Over Server-Sent Events (tandem.mjs's SSE fallback) there is no socket for Yjs: the panel
// says the notes need a WebSocket (state no-websocket) until the connection is one again.
//
// Hooks for tests: #notes-panel data-state is loading, connecting, synced, offline,
// no-websocket, error or missing; carets are [data-testid=notes-caret][data-user=name].
import { el, textColorOn } from './room-view.js';
import { tandemWebSocket } from './tandem-yjs.mjs';

const $ = (id) => document.getElementById(id);
const LOCAL = Symbol('notes textarea');  // the origin of this page's own transactions
const DOC_NAME = /^[A-Za-z0-9_:.@/-]{1,120}$/;  // the server's document names (PROTOCOL.md §19)

// notes/{id} for workflow:{id}; other room names keep their whole name after notes/.
export function notesDocFor(roomName) {
  return `notes/${roomName.replace(/^workflow:/, '')}`;
}

// The length of the common prefix and suffix of `a` and `b` (the suffix not overlapping the
// prefix), never splitting a surrogate pair: half an emoji would not survive UTF-8 encoding.
function commonEnds(a, b) {
  const isHigh = (s, i) => /[\uD800-\uDBFF]/.test(s[i] ?? '');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  if (start > 0 && isHigh(a, start - 1)) start--;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  if (end > 0 && isHigh(a, a.length - end - 1)) end--;
  return [start, end];
}

export class NotesPanel {
  #me;
  #client;
  #log;
  #Y = null;            // the vendor module's Y, HocuspocusProvider(Websocket), once loaded
  #Provider = null;
  #Socket = null;
  #docName = null;
  #doc = null;
  #text = null;         // the document's Y.Text 'notes'
  #provider = null;
  #saved = null;        // the selection as relative positions, taken before a remote change
  #sentCursor = '';     // the cursor last put in awareness (JSON), to send only changes

  constructor({ me, client, log }) {
    this.#me = me;
    this.#client = client;
    this.#log = log;
    const area = $('notes-text');
    area.addEventListener('input', () => this.#onInput());
    area.addEventListener('scroll', () => { $('notes-mirror').scrollTop = area.scrollTop; });
    for (const type of ['focus', 'select', 'keyup', 'mouseup']) area.addEventListener(type, () => this.#sendCursor());
    document.addEventListener('selectionchange', () => { if (document.activeElement === area) this.#sendCursor(); });
    new ResizeObserver(() => this.#renderCarets()).observe(area);
    client.on('state', () => this.#showStatus());  // the carrier may change with a reconnect
    this.#setState('loading', 'Loading Yjs…');
  }

  // Shows the notes of `roomName`'s document (the first call loads Yjs).
  async setRoom(roomName) {
    const name = notesDocFor(roomName);
    if (name === this.#docName) return;
    this.#docName = name;
    if (!this.#Y) {
      try {
        ({ Y: this.#Y, HocuspocusProvider: this.#Provider, HocuspocusProviderWebsocket: this.#Socket } =
          await import('./vendor/yjs.mjs'));
      } catch (error) {
        this.#setState('missing', 'The Yjs bundle (vendor/yjs.mjs) is missing: run npm ci, then build the web root.');
        this.#log(`notes: no Yjs bundle: ${error.message}`);
        return;
      }
      if (name !== this.#docName) return;  // another room came while loading
    }
    this.#open(name);
  }

  #open(name) {
    this.#close();
    $('notes-doc').textContent = name;
    if (!DOC_NAME.test(name)) return this.#setState('error', `${name} cannot be a document name`);
    const Y = this.#Y;
    const doc = new Y.Doc();
    const text = doc.getText('notes');
    // The provider's socket is the page's Tandem connection: no URL, no token of its own (the
    // connection's decides).
    const websocketProvider = new this.#Socket({ url: 'tandem:', WebSocketPolyfill: tandemWebSocket(this.#client) });
    const provider = new this.#Provider({ websocketProvider, name, document: doc });
    provider.attach();
    this.#doc = doc;
    this.#text = text;
    this.#provider = provider;
    this.#sentCursor = '';
    provider.awareness.setLocalStateField('user', { name: this.#me.name, color: this.#me.color });
    doc.on('beforeTransaction', (transaction) => { if (transaction.origin !== LOCAL) this.#saveSelection(); });
    text.observe((event) => { if (event.transaction.origin !== LOCAL) this.#showRemote(); });
    doc.on('afterTransaction', () => this.#renderCarets());
    provider.awareness.on('change', () => this.#renderPeople());
    provider.on('status', () => this.#showStatus());
    provider.on('synced', () => this.#showStatus());
    provider.on('authenticationFailed', ({ reason }) => this.#refused(provider, reason));
    $('notes-text').value = '';
    $('notes-text').disabled = true;  // until the first sync
    this.#showStatus();
    this.#renderPeople();
  }

  #close() {
    const socket = this.#provider?.configuration.websocketProvider;
    this.#provider?.destroy();
    socket?.destroy();
    this.#doc?.destroy();
    this.#provider = this.#doc = this.#text = null;
  }

  // The server denied the document (the token's rooms do not include it).
  #refused(provider, reason) {
    this.#log(`notes: denied: ${reason}`);
    if (provider === this.#provider) this.#setState('error', `Denied: ${reason}`);
  }

  // Synced; connecting (never synced yet: the textarea waits); offline (synced before: it
  // stays editable; the provider sends what was typed meanwhile once the connection is back).
  #showStatus() {
    const area = $('notes-text');
    if (!this.#provider) return;
    const synced = this.#provider.synced && this.#provider.configuration.websocketProvider.status === 'connected';
    if (synced) area.disabled = false;
    if (synced) this.#setState('synced', 'Synced');
    else if (this.#client.transport === 'sse') this.#setState('no-websocket', 'Needs a WebSocket — this connection is SSE');
    else if (area.disabled) this.#setState('connecting', 'Connecting…');
    else this.#setState('offline', 'Offline — edits are kept and sent when back');
  }

  #setState(state, text) {
    $('notes-panel').dataset.state = state;
    $('notes-state').dataset.state = state;
    $('notes-state').textContent = text;
  }

  // A local edit: the changed middle, deleted and inserted in one transaction.
  #onInput() {
    if (!this.#text) return;
    const before = this.#text.toString();
    const after = $('notes-text').value;
    const [start, end] = commonEnds(before, after);
    this.#doc.transact(() => {
      if (before.length - start - end > 0) this.#text.delete(start, before.length - start - end);
      if (after.length - start - end > 0) this.#text.insert(start, after.slice(start, after.length - end));
    }, LOCAL);
    this.#sendCursor();
  }

  // Before a remote change the textarea still shows the document: its selection, as positions
  // in the text that survive the change.
  #saveSelection() {
    const area = $('notes-text');
    const at = (index) => this.#Y.createRelativePositionFromTypeIndex(this.#text, index);
    this.#saved = { start: at(area.selectionStart), end: at(area.selectionEnd), direction: area.selectionDirection };
  }

  #showRemote() {
    const area = $('notes-text');
    const scroll = area.scrollTop;
    area.value = this.#text.toString();
    const saved = this.#saved;
    const index = (relative) => this.#Y.createAbsolutePositionFromRelativePosition(relative, this.#doc)?.index ?? 0;
    if (saved) area.setSelectionRange(index(saved.start), index(saved.end), saved.direction);
    area.scrollTop = scroll;
    this.#saved = null;
  }

  // My caret in awareness, as relative positions (JSON): anchor where the selection started,
  // head where it ends (the caret).
  #sendCursor() {
    if (!this.#text) return;
    const area = $('notes-text');
    const backward = area.selectionDirection === 'backward';
    const [anchor, head] = backward ? [area.selectionEnd, area.selectionStart] : [area.selectionStart, area.selectionEnd];
    const json = (index) => this.#Y.relativePositionToJSON(this.#Y.createRelativePositionFromTypeIndex(this.#text, index));
    const cursor = { anchor: json(anchor), head: json(head) };
    const key = JSON.stringify(cursor);
    if (key === this.#sentCursor) return;
    this.#sentCursor = key;
    this.#provider.awareness.setLocalStateField('cursor', cursor);
  }

  // Everyone else in the document with a name: [{ client, user, cursor }].
  #others() {
    const states = this.#provider?.awareness.getStates() ?? new Map();
    return [...states].filter(([client, s]) => client !== this.#doc.clientID && s.user?.name)
      .map(([client, s]) => ({ client, user: s.user, cursor: s.cursor }));
  }

  #renderPeople() {
    const here = this.#provider ? [{ user: { name: this.#me.name, color: this.#me.color }, self: true }, ...this.#others()] : [];
    $('notes-people').replaceChildren(...here.map(({ user, self }) =>
      el('li', { class: 'notes-person', 'data-testid': 'notes-person', 'data-user': user.name },
        el('span', { class: 'swatch', style: `background:${user.color}` }), user.name, self && el('span', { class: 'tag' }, 'you'))));
    this.#renderCarets();
  }

  // Others' carets: the text again in a mirror of the textarea (same font, padding and width,
  // scrolled alike, transparent text), with a marker at each caret.
  #renderCarets() {
    const area = $('notes-text');
    const mirror = $('notes-mirror');
    const style = getComputedStyle(area);
    mirror.style.width = `${area.clientWidth + parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth)}px`;
    const text = this.#text?.toString() ?? '';
    const carets = this.#others().flatMap(({ user, cursor }) => {
      if (!cursor?.head) return [];
      const head = this.#Y.createAbsolutePositionFromRelativePosition(this.#Y.createRelativePositionFromJSON(cursor.head), this.#doc);
      return head && head.type === this.#text ? [{ user, index: Math.min(head.index, text.length) }] : [];
    }).sort((a, b) => a.index - b.index);
    const parts = [];
    let from = 0;
    for (const { user, index } of carets) {
      parts.push(text.slice(from, index), el('span', {
        class: 'note-caret', 'data-testid': 'notes-caret', 'data-user': user.name, style: `border-color:${user.color}`,
      }, el('span', { class: 'note-caret-name', style: `background:${user.color};color:${textColorOn(user.color)}` }, user.name)));
      from = index;
    }
    parts.push(text.slice(from));
    mirror.replaceChildren(...parts);
    mirror.scrollTop = area.scrollTop;
  }
}
