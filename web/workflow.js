// web/workflow.js — the demo's workflow panel for the room joined in the room panel, when it
// is a workflow:{id} room: a list editor of the document's nodes (add, rename inline, delete;
// each with its lock badge and its run status colour) and the room's executions (a progress
// bar and status per execution, from execution_update events a backend publishes).
//
// Renaming takes the node's lock while the label is being edited and writes with its fence
// (PROTOCOL.md §9): someone else's lock makes the label read-only and says who holds it.
import { el, lockBadge } from './room-view.js';

const $ = (id) => document.getElementById(id);

export const NODE_TYPES = ['trigger', 'http_request', 'code', 'condition', 'email'];
export const NODE_STATUSES = ['idle', 'queued', 'running', 'succeeded', 'failed', 'skipped'];
const EXECUTION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

function randomId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return prefix + [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class WorkflowPanel {
  #me;
  #log;
  #room = null;
  #off = [];
  #rows = new Map();       // node id -> row element
  #editing = new Map();    // node id -> {fence} while this page holds the lock for a rename
  #progress = new Map();   // execution id -> last known progress (an update may omit it)

  constructor({ me, log }) {
    this.#me = me;
    this.#log = log;
    $('node-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.#addNode();
    });
    const list = $('doc-nodes');
    list.addEventListener('focusin', (event) => this.#startEdit(event));
    list.addEventListener('focusout', (event) => this.#commitEdit(event));
    list.addEventListener('keydown', (event) => this.#editKey(event));
    list.addEventListener('click', (event) => this.#clicked(event));
    this.setRoom(null);
  }

  // The room panel joined (a TandemRoom) or left (null).
  setRoom(room) {
    for (const off of this.#off) off();
    this.#off = [];
    this.#room = room && room.name.startsWith('workflow:') ? room : null;
    this.#rows.clear();
    this.#editing.clear();
    this.#progress.clear();
    $('doc-nodes').replaceChildren();
    $('executions').replaceChildren();
    this.#showError('');
    $('workflow-room').textContent = this.#room ? this.#room.name : '';
    $('workflow-panel').dataset.state = this.#room ? 'joined' : 'out';
    $('workflow-body').hidden = !this.#room;
    $('workflow-empty').hidden = Boolean(this.#room);
    if (!this.#room) return;
    this.#off = [
      this.#room.on('doc', () => this.#renderNodes()),
      this.#room.on('locks', () => this.#renderNodes()),
      this.#room.on('execution', () => this.#renderExecutions()),
    ];
    // The snapshot may have come with the join answer, before these listeners.
    this.#renderNodes();
    this.#renderExecutions();
  }

  setOnline(online) {
    $('workflow-panel').classList.toggle('offline', !online);
  }

  // ---- nodes -----------------------------------------------------------------------------

  #renderNodes() {
    if (!this.#room) return;
    const nodes = this.#room.doc.nodes;
    const locks = this.#room.locks;
    const list = $('doc-nodes');
    const seen = new Set();
    let previous = null;
    for (const node of nodes) {
      seen.add(node.id);
      let row = this.#rows.get(node.id);
      if (!row) {
        row = this.#nodeRow(node);
        this.#rows.set(node.id, row);
      }
      this.#updateRow(row, node, locks[node.id]);
      // Into document order, moving only what is out of place: a moved row would lose the
      // focus of a label being edited.
      const expected = previous ? previous.nextElementSibling : list.firstElementChild;
      if (expected !== row) list.insertBefore(row, expected);
      previous = row;
    }
    for (const [id, row] of this.#rows) {
      if (seen.has(id)) continue;
      row.remove();
      this.#rows.delete(id);
      this.#editing.delete(id);
    }
    $('doc-empty').hidden = nodes.length > 0;
    $('doc-count').textContent = nodes.length ? String(nodes.length) : '';
  }

  #nodeRow(node) {
    return el('li', { class: 'doc-node', 'data-testid': 'doc-node', 'data-node': node.id },
      el('span', { class: 'status-dot', 'aria-hidden': 'true' }),
      el('input', {
        class: 'doc-node-label', 'data-testid': 'doc-node-label', 'data-node': node.id, maxlength: 256,
        'aria-label': `Label of ${node.id}`, spellcheck: 'false', autocomplete: 'off',
      }),
      el('code', { class: 'doc-node-type' }),
      el('span', { class: 'doc-node-status', 'data-testid': 'doc-node-status' }),
      el('span', { class: 'doc-node-badge' }),
      el('button', {
        type: 'button', class: 'icon-button', 'data-action': 'delete', 'data-node': node.id,
        'data-testid': 'doc-node-delete', 'aria-label': `Delete ${node.id}`, title: 'Delete node',
      }, '×'));
  }

  #updateRow(row, node, lock) {
    const status = NODE_STATUSES.includes(node.status) ? node.status : 'idle';
    row.dataset.status = status;
    const input = row.querySelector('input');
    if (document.activeElement !== input) input.value = node.label;
    const lockedByOther = Boolean(lock && lock.user !== this.#me.id);
    input.readOnly = lockedByOther;
    input.title = lockedByOther ? `${lock.name || lock.user} is editing this node` : 'Click to rename';
    row.querySelector('.doc-node-type').textContent = node.type;
    row.querySelector('.doc-node-status').textContent = status;
    const mine = this.#editing.get(node.id)?.fence !== undefined;
    row.dataset.lock = !lock ? 'free' : lockedByOther ? 'theirs' : 'mine';
    row.querySelector('.doc-node-badge').replaceChildren(
      lockBadge(node.id, { lock, mine, me: this.#me, testid: 'doc-lock-badge' }));
    row.querySelector('[data-action="delete"]').disabled = lockedByOther;
  }

  async #addNode() {
    if (!this.#room) return;
    const label = $('node-label').value.trim() || 'Untitled';
    const type = $('node-type').value;
    const count = this.#room.doc.nodes.length;
    const node = { id: randomId('n-'), type, label, x: 40 + (count % 6) * 160, y: 60 + Math.floor(count / 6) * 120 };
    $('node-label').value = '';
    try {
      await this.#room.doc.createNode(node);
      this.#log(`node ${node.id} created`);
      this.#showError('');
    } catch (error) {
      this.#failed(`Could not add "${label}"`, error);
    }
  }

  // Focus on a label: take the node's lock for the edit (someone else's makes it read-only).
  async #startEdit(event) {
    const input = event.target.closest('input.doc-node-label');
    if (!input || !this.#room || input.readOnly) return;
    const id = input.dataset.node;
    if (this.#editing.has(id)) return;
    const room = this.#room;
    this.#editing.set(id, { fence: undefined, pending: true });
    try {
      const answer = await room.lock(id);
      if (room !== this.#room) return;
      if (answer.outcome === 'granted') {
        const edit = this.#editing.get(id);
        if (edit) edit.fence = answer.fence; else room.unlock(id).catch(() => {});  // already committed
      } else {
        this.#editing.delete(id);
        const holder = answer.holder ?? {};
        input.readOnly = true;
        input.value = room.doc.node(id)?.label ?? input.value;
        this.#showError(`${holder.name ?? holder.user} is editing ${id}`);
      }
    } catch (error) {
      // Offline or refused: the edit still goes, without a fence (the server decides).
      const edit = this.#editing.get(id);
      if (edit) edit.pending = false;
      this.#log(`lock ${id}: ${error.code ?? 'error'}: ${error.message}`);
    }
    this.#renderNodes();
  }

  async #commitEdit(event) {
    const input = event.target.closest('input.doc-node-label');
    if (!input || !this.#room) return;
    const id = input.dataset.node;
    const room = this.#room;
    const edit = this.#editing.get(id);
    this.#editing.delete(id);
    const label = input.value;
    const current = room.doc.node(id);
    try {
      if (current && label !== current.label && !input.readOnly) {
        await room.doc.updateNode(id, { label }, { fence: edit?.fence });
        this.#log(`node ${id} renamed`);
        this.#showError('');
      }
    } catch (error) {
      input.value = room.doc.node(id)?.label ?? label;
      this.#failed(`Could not rename ${id}`, error);
    } finally {
      if (edit?.fence !== undefined) room.unlock(id).catch(() => {});
      this.#renderNodes();
    }
  }

  #editKey(event) {
    const input = event.target.closest('input.doc-node-label');
    if (!input) return;
    if (event.key === 'Enter') input.blur();
    if (event.key === 'Escape') {
      input.value = this.#room?.doc.node(input.dataset.node)?.label ?? input.value;
      input.blur();
    }
  }

  async #clicked(event) {
    const button = event.target.closest('button[data-action="delete"]');
    if (!button || !this.#room) return;
    const id = button.dataset.node;
    button.disabled = true;
    try {
      await this.#room.doc.deleteNode(id);
      this.#log(`node ${id} deleted`);
      this.#showError('');
    } catch (error) {
      button.disabled = false;
      this.#failed(`Could not delete ${id}`, error);
    }
  }

  #failed(what, error) {
    const why = error.code === 'locked' ? 'someone else holds its lock'
      : error.code === 'stale_fence' ? 'your lock on it was lost'
      : `${error.code ?? 'error'}: ${error.message}`;
    this.#showError(`${what}: ${why}`);
    this.#log(`${what}: ${error.code ?? 'error'}: ${error.message}`);
  }

  #showError(text) {
    $('workflow-error').textContent = text;
    $('workflow-error').hidden = !text;
  }

  // ---- executions ------------------------------------------------------------------------

  #renderExecutions() {
    if (!this.#room) return;
    const executions = Object.values(this.#room.executions).sort((a, b) => b.seq - a.seq);
    const list = $('executions');
    list.replaceChildren(...executions.map((update) => this.#executionView(update)));
    $('executions-empty').hidden = executions.length > 0;
  }

  #executionView(update) {
    let progress = typeof update.progress === 'number' ? update.progress : this.#progress.get(update.execution);
    if (progress === undefined && update.status === 'succeeded') progress = 1;
    if (progress !== undefined) this.#progress.set(update.execution, progress);
    const percent = Math.round(Math.min(1, Math.max(0, progress ?? 0)) * 100);
    const status = EXECUTION_STATUSES.includes(update.status) ? update.status : 'queued';
    const nodeLabel = update.node ? (this.#room.doc.node(update.node)?.label || update.node) : '';
    return el('li', { class: 'execution', 'data-testid': 'execution', 'data-execution': update.execution, 'data-status': status },
      el('div', { class: 'execution-head' },
        el('code', {}, update.execution),
        el('span', { class: 'execution-status', 'data-testid': 'execution-status' }, status),
        el('span', { class: 'execution-percent' }, `${percent}%`)),
      el('div', {
        class: 'progress', role: 'progressbar', 'data-testid': 'execution-progress', 'data-execution': update.execution,
        'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': percent, 'aria-label': `Execution ${update.execution}`,
      }, el('div', { class: 'progress-bar', style: `width:${percent}%` })),
      (nodeLabel || update.message) && el('div', { class: 'execution-detail' },
        nodeLabel && el('span', {}, `at ${nodeLabel}`),
        update.message && el('span', {}, update.message)));
  }
}
