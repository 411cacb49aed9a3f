// web/chat.js — the demo's chat panel: joins a chat room (?chat=chat:lobby by default) as soon
// as the page has a client, shows its history and live messages with each sender's name and
// colour, "Ana is typing…", and sends what is typed. A message sent while the connection is
// down shows as pending; the client core queues it and delivers it once the server is back.
// Chat bots: a toggle per bot (?bots=helper,pirate by default, plus any turned on in the room)
// turns it on or off for everyone; "@helper question" asks a bot that is on, and its reply
// grows in the list (with a Stop button) until the bot's message replaces it.
import { el, textColorOn } from './room-view.js';

const $ = (id) => document.getElementById(id);

export const DEFAULT_CHAT_ROOM = 'chat:lobby';
const MAX_CHAT_BYTES = 4096;  // PROTOCOL.md §10 max_chat_bytes
const DEFAULT_BOTS = 'helper,pirate';

function timeOf(ts) {
  return ts ? new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

export class ChatPanel {
  #client;
  #me;
  #log;
  #room = null;
  #off = [];
  #joining = false;

  #onRoom;
  #knownBots = (new URLSearchParams(location.search).get('bots') ?? DEFAULT_BOTS).split(',').filter(Boolean);

  constructor({ client, me, log, roomName, onRoom = () => {} }) {
    this.#onRoom = onRoom;
    this.#client = client;
    this.#me = me;
    this.#log = log;
    $('chat-room').value = roomName;
    $('chat-room-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.join($('chat-room').value.trim());
    });
    $('chat-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
    $('chat-text').addEventListener('input', () => {
      if (!this.#room) return;
      this.#room.chat.typing($('chat-text').value.length > 0);
    });
    $('chat-messages').addEventListener('click', (event) => {
      const id = event.target.closest('button[data-dismiss]')?.dataset.dismiss;
      if (id && this.#room) this.#room.chat.dismiss(Number(id));
      const reply = event.target.closest('button[data-cancel]')?.dataset.cancel;
      if (reply && this.#room) this.#room.chat.cancelBot(reply).catch((error) => this.#log(`stop: ${error.code}: ${error.message}`));
    });
    $('chat-bots').addEventListener('change', (event) => {
      const bot = event.target.dataset.bot;
      if (!bot || !this.#room) return;
      const enabled = event.target.checked;
      this.#room.chat.toggleBot(bot, enabled).catch((error) => {
        this.#log(`bot ${bot}: ${error.code}: ${error.message}`);
        this.#renderBots();
      });
    });
    this.#setState('out', 'Not in a chat');
    this.#render();
  }

  setOnline(online) {
    $('chat-panel').classList.toggle('offline', !online);
  }

  // Joins `name` (leaving the chat room joined before).
  async join(name) {
    if (this.#joining || !name || name === this.#room?.name) return;
    this.#joining = true;
    $('chat-join').disabled = true;
    const previous = this.#room;
    this.#detach();
    if (previous) previous.leave().catch((error) => this.#log(`leave ${previous.name}: ${error.code}: ${error.message}`));
    this.#setState('joining', `Joining ${name}…`);
    try {
      const room = await this.#client.join(name);
      this.#room = room;
      this.#off = [
        room.on('chat', () => this.#renderMessages()),
        room.on('typing', () => this.#renderTyping()),
        room.on('bots', () => this.#renderBots()),
      ];
      this.#setState('joined', name);
      this.#log(`joined ${name}`);
      this.#onRoom(name);
      const url = new URL(location.href);
      url.searchParams.set('chat', name);
      history.replaceState(null, '', url);
    } catch (error) {
      this.#setState('error', `Could not join ${name}: ${error.code ?? 'error'}`);
      this.#log(`join ${name} failed: ${error.code ?? 'error'}: ${error.message}`);
    } finally {
      this.#joining = false;
      $('chat-join').disabled = false;
      this.#render();
    }
  }

  #detach() {
    for (const off of this.#off) off();
    this.#off = [];
    this.#room = null;
  }

  #setState(state, text) {
    $('chat-state').dataset.state = state;
    $('chat-state').textContent = text;
  }

  async #send() {
    const input = $('chat-text');
    const text = input.value.trim();
    if (!text || !this.#room) return;
    if (new TextEncoder().encode(text).length > MAX_CHAT_BYTES) {
      this.#log(`chat: longer than ${MAX_CHAT_BYTES} bytes, not sent`);
      return;
    }
    input.value = '';
    this.#room.chat.typing(false);
    const mention = /^@([A-Za-z0-9_:.@-]+)\s+([\s\S]+)$/.exec(text);
    if (mention && this.#room.chat.bots.includes(mention[1])) {
      this.#room.chat.askBot(mention[1], mention[2]).catch((error) => this.#log(`@${mention[1]}: ${error.code}: ${error.message}`));
      return;
    }
    try {
      const ack = await this.#room.chat.send(text);
      if (ack?.duplicate) this.#log('chat: delivered earlier (duplicate resend acknowledged)');
    } catch (error) {
      this.#log(`chat failed: ${error.code ?? 'error'}: ${error.message}`);
    }
  }

  #render() {
    const joined = Boolean(this.#room);
    $('chat-text').disabled = !joined;
    $('chat-send').disabled = !joined;
    this.#renderMessages();
    this.#renderTyping();
    this.#renderBots();
  }

  #renderBots() {
    const on = this.#room?.chat.bots ?? [];
    const bots = [...new Set([...this.#knownBots, ...on])];
    $('chat-bots').replaceChildren(...bots.map((bot) => el('label', { class: 'bot-toggle' },
      el('input', { type: 'checkbox', 'data-testid': 'bot-toggle', 'data-bot': bot, checked: on.includes(bot) || null,
        disabled: this.#room ? null : true }),
      ` @${bot}`)));
  }

  #renderMessages() {
    const list = $('chat-messages');
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;  // follow the bottom
    const chat = this.#room?.chat;
    const messages = chat ? chat.messages : [];
    const pending = chat ? chat.pending : [];
    const partials = chat ? [...chat.partials.values()] : [];
    list.replaceChildren(
      ...messages.map((m) => this.#messageView(m)),
      ...pending.map((p) => this.#pendingView(p)),
      ...partials.map((p) => this.#partialView(p)));
    $('chat-empty').hidden = messages.length + pending.length + partials.length > 0;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  #messageView(m) {
    const self = m.user === this.#me.id;
    return el('li', {
      class: `chat-message${self ? ' self' : ''}`, 'data-testid': 'chat-message', 'data-state': 'sent',
      'data-seq': m.seq, 'data-user': m.user, style: `--color:${m.color || '#555'}`,
    },
    el('div', { class: 'chat-meta' },
      el('span', { class: 'chat-name', style: `background:${m.color || '#555'};color:${textColorOn(m.color)}` }, m.name || m.user),
      el('time', {}, timeOf(m.ts))),
    el('div', { class: 'chat-text', 'data-testid': 'chat-text' }, m.text));
  }

  #pendingView(p) {
    const failed = p.state === 'failed';
    return el('li', {
      class: `chat-message self ${p.state}`, 'data-testid': 'chat-message', 'data-state': p.state,
      'data-user': this.#me.id, style: `--color:${this.#me.color || '#555'}`,
    },
    el('div', { class: 'chat-meta' },
      el('span', { class: 'chat-name', style: `background:${this.#me.color};color:${textColorOn(this.#me.color)}` }, this.#me.name),
      el('span', { class: 'chat-pending', 'data-testid': 'chat-pending' },
        failed ? `not sent: ${p.code}` : 'sending…'),
      failed && el('button', { type: 'button', class: 'icon-button', 'data-dismiss': p.localId, 'aria-label': 'Dismiss' }, '×')),
    el('div', { class: 'chat-text', 'data-testid': 'chat-text' }, p.text));
  }

  // A bot reply still growing.
  #partialView(p) {
    return el('li', { class: 'chat-message bot-partial', 'data-testid': 'bot-partial', 'data-reply': p.reply, 'data-bot': p.bot },
      el('div', { class: 'chat-meta' },
        el('span', { class: 'chat-name' }, p.bot),
        el('span', { class: 'chat-pending' }, 'answering…'),
        el('button', { type: 'button', class: 'icon-button', 'data-cancel': p.reply, 'data-testid': 'bot-stop' }, 'Stop')),
      el('div', { class: 'chat-text', 'data-testid': 'chat-text' }, p.text || '…'));
  }

  #renderTyping() {
    const others = (this.#room?.chat.typingUsers ?? []).filter((u) => u.user !== this.#me.id);
    const names = others.map((u) => u.name || u.user);
    const text = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
      : `${names.length} people are typing…`;
    $('chat-typing').textContent = text;
    $('chat-typing').dataset.users = others.map((u) => u.user).join(',');
  }
}
