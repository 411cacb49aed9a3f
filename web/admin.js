// web/admin.js — the admin page's script (admin.html, served at /admin). No framework, nothing
// from another origin.
//
// The operator types the server's admin token; it is checked with GET /api/v1/ws/stats and,
// if the server takes it, kept in this tab's sessionStorage (gone when the tab closes) and sent
// as `Authorization: Bearer` — never in the address. Every REFRESH_MS the page then reads:
//   /api/v1/ws/stats            connections, users, rooms, uptime, messages; instances when clustered
//   /api/v1/ws/rooms?prefix=P   the rooms, filtered by the name prefix typed in
//   /api/v1/ws/rooms/{room}     the selected room's members and locks
//   /api/v1/ws/webhooks         the webhook endpoints' queues and the newest dead letters
//   /metrics                    (no token: it is public) a few figures of this instance, kept
//                               CHART_WINDOW_MS and drawn as inline SVG sparklines
// A 401 or 403 from the admin API (wrong token, or admin endpoints switched off) forgets the
// token and shows the server's reason on the sign-in form. Every text from the server goes into
// the page as text (textContent), never as markup: room and user names come from clients.
const TOKEN_KEY = 'tandem.admin.token';
const REFRESH_MS = 2000;
const CHART_WINDOW_MS = 120_000;
const FILTER_DEBOUNCE_MS = 250;

// The /metrics figures drawn: gauges as they are, counters as a rate per second between two
// samples. A figure the server does not export (an older version) gets no chart.
const CHARTS = [
  { metric: 'tandem_connections', label: 'Connections', kind: 'gauge' },
  { metric: 'tandem_messages_in_total', label: 'Messages in /s', kind: 'rate' },
  { metric: 'tandem_messages_out_total', label: 'Messages out /s', kind: 'rate' },
  { metric: 'tandem_store_commits_total', label: 'Store commits /s', kind: 'rate' },
];

const $ = (id) => document.getElementById(id);
const numbers = new Intl.NumberFormat('en');
const SVG = 'http://www.w3.org/2000/svg';

let token = '';
let selectedRoom = null;
let round = 0;        // the latest refresh started; older answers are dropped, and sign-out bumps it
let timer = null;     // the next refresh
let filterTimer = null;
let samples = [];     // [{t: performance.now(), values: Map(metric -> number)}], oldest first

// ---- the admin API ---------------------------------------------------------------------------

// GET `path` (relative: the page may sit behind a proxy under a prefix) with the token.
// Resolves {status, body (parsed JSON or null), text}; rejects when the server is unreachable.
async function adminGet(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON: reported with its status */ }
  return { status: response.status, body, text };
}

const isRefusal = (answer) => answer && (answer.status === 401 || answer.status === 403);

function refusalMessage(answer) {
  const reason = answer.body?.message ?? (answer.text.trim() || 'no reason given');
  return `The server refused the token: ${reason} (HTTP ${answer.status}).`;
}

// /metrics as {name: value} for the samples without labels. null when it cannot be read (a proxy
// may filter it: docs/OPERATIONS.md), with the reason in metricsProblem.
let metricsProblem = '';
async function readMetrics() {
  try {
    const response = await fetch('metrics', { cache: 'no-store' });
    if (response.status !== 200) {
      metricsProblem = `/metrics answered HTTP ${response.status} (filtered at a proxy?): no charts.`;
      return null;
    }
    metricsProblem = '';
    return parsePrometheus(await response.text());
  } catch (error) {
    metricsProblem = `/metrics could not be read (${error.message}): no charts.`;
    return null;
  }
}

// The Prometheus text exposition format: `name value` and `name{labels} value` lines, # comments.
// Keeps the unlabelled samples (the ones charted).
export function parsePrometheus(text) {
  const values = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) values.set(match[1], value);
  }
  return values;
}

// ---- signing in and out -------------------------------------------------------------------------

async function signIn(candidate) {
  const button = $('token-submit');
  button.disabled = true;
  showAuthError('');
  token = candidate;
  let answer;
  try {
    answer = await adminGet('api/v1/ws/stats');
  } catch (error) {
    token = '';
    button.disabled = false;
    showAuthError(`The server could not be reached (${error.message}).`);
    return;
  }
  button.disabled = false;
  if (answer.status !== 200) {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    showAuthError(isRefusal(answer) ? refusalMessage(answer)
                                    : `The server answered HTTP ${answer.status}: ${answer.body?.message ?? answer.text}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  $('dashboard-status').hidden = false;
  refresh();
}

// Forgets the token (and everything shown with it); `why` goes on the sign-in form.
function signOut(why = '') {
  round += 1;
  clearTimeout(timer);
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  selectedRoom = null;
  samples = [];
  $('dashboard').hidden = true;
  $('dashboard-status').hidden = true;
  $('sign-in').hidden = false;
  showAuthError(why);
  $('token').focus();
}

function showAuthError(text) {
  $('auth-error').textContent = text;
  $('auth-error').hidden = text === '';
}

// ---- the refresh round ----------------------------------------------------------------------------

async function refresh() {
  const mine = ++round;
  clearTimeout(timer);
  const prefix = $('room-filter').value;
  const room = selectedRoom;
  try {
    const [stats, rooms, detail, metrics, webhooks] = await Promise.all([
      adminGet('api/v1/ws/stats'),
      adminGet(prefix ? `api/v1/ws/rooms?prefix=${encodeURIComponent(prefix)}` : 'api/v1/ws/rooms'),
      room ? adminGet(`api/v1/ws/rooms/${encodeURIComponent(room)}`) : null,
      readMetrics(),
      adminGet('api/v1/ws/webhooks'),
    ]);
    if (mine !== round) return;
    const refused = [stats, rooms, detail].find(isRefusal);
    if (refused) return signOut(refusalMessage(refused));
    const failed = [stats, rooms].find((answer) => answer.status !== 200);
    showFetchError(failed ? `The server answered HTTP ${failed.status}: ${failed.body?.message ?? failed.text}` : '');
    if (stats.status === 200) renderStats(stats.body);
    if (rooms.status === 200) renderRooms(rooms.body.rooms);
    if (room === selectedRoom) renderDetail(room, detail);
    if (webhooks.status === 200) renderWebhooks(webhooks.body);
    addSample(metrics);
    renderCharts();
    setRefreshState(failed ? 'error' : 'ok', `updated ${new Date().toLocaleTimeString('en-GB')}`);
  } catch (error) {
    if (mine !== round) return;
    showFetchError(`The server did not answer (${error.message}); trying again every ${REFRESH_MS / 1000} s.`);
    setRefreshState('error', 'server unreachable');
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function showFetchError(text) {
  $('fetch-error').textContent = text;
  $('fetch-error').hidden = text === '';
}

function setRefreshState(state, text) {
  const badge = $('refresh-state');
  badge.dataset.state = state;
  badge.textContent = text;
}

// ---- rendering ------------------------------------------------------------------------------------

function element(tag, { text, className, testid, data = {} } = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  if (testid) node.dataset.testid = testid;
  for (const [key, value] of Object.entries(data)) node.dataset[key] = value;
  return node;
}

function row(cells, options) {
  const tr = element('tr', options);
  for (const cell of cells) {
    const td = element('td');
    td.append(cell instanceof Node ? cell : document.createTextNode(String(cell)));
    tr.append(td);
  }
  return tr;
}

// A colour dot; only #rrggbb colours are painted (the server checks them; this does again).
function swatch(color) {
  const dot = element('span', { className: 'swatch' });
  if (/^#[0-9a-fA-F]{6}$/.test(color ?? '')) dot.style.backgroundColor = color;
  return dot;
}

function person(name, color) {
  const span = element('span', { className: 'person' });
  span.append(swatch(color), document.createTextNode(name));
  return span;
}

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

function renderStats(stats) {
  const figures = {
    'fig-connections': numbers.format(stats.connections),
    'fig-users': numbers.format(stats.users),
    'fig-rooms': numbers.format(stats.rooms),
    'fig-uptime': duration(stats.uptime_s),
    'fig-messages-in': numbers.format(stats.messages_in),
    'fig-messages-out': numbers.format(stats.messages_out),
  };
  for (const [id, text] of Object.entries(figures)) $(id).textContent = text;
  const instances = stats.instances ?? [];
  $('instances').hidden = instances.length === 0;
  $('instance-rows').replaceChildren(...instances.map((one) =>
    row([element('code', { text: one.instance }), numbers.format(one.connections), numbers.format(one.users),
         numbers.format(one.rooms), duration(one.uptime_s)], { testid: 'instance', data: { instance: one.instance } })));
}

function renderWebhooks({ endpoints = [], queues = [], dead_letters: letters = [] }) {
  $('webhook-count').textContent = String(endpoints.length);
  $('webhooks-note').hidden = endpoints.length > 0;
  $('webhooks-body').hidden = endpoints.length === 0;
  $('webhook-queues-empty').hidden = queues.length > 0;
  $('webhook-queue-rows').replaceChildren(...queues.map((q) =>
    row([element('code', { text: q.endpoint }), element('code', { text: q.room }), numbers.format(q.cursor),
         numbers.format(q.last_seq), numbers.format(q.pending), numbers.format(q.attempts),
         q.retry_in_ms == null ? (q.in_flight ? 'sending' : '—') : `${(q.retry_in_ms / 1000).toFixed(1)} s`,
         q.last_error || '—'],
        { testid: 'webhook-queue', data: { endpoint: q.endpoint, room: q.room } })));
  $('dead-letters-empty').hidden = letters.length > 0;
  $('dead-letter-rows').replaceChildren(...letters.map((l) =>
    row([element('code', { text: l.endpoint }), element('code', { text: l.room }),
         l.first_seq === l.last_seq ? String(l.first_seq) : `${l.first_seq}–${l.last_seq}`,
         l.status ? String(l.status) : '—', l.error, new Date(l.ts).toLocaleString('en-GB')],
        { testid: 'dead-letter', data: { endpoint: l.endpoint, room: l.room } })));
}

function renderRooms(rooms) {
  $('room-count').textContent = String(rooms.length);
  $('rooms-empty').hidden = rooms.length > 0;
  $('rooms-empty').textContent = $('room-filter').value ? 'No room starts with that.' : 'No rooms.';
  $('room-rows').replaceChildren(...rooms.map((room) => {
    const pick = element('button', { text: room.room, className: 'room-button', testid: 'room-button' });
    pick.type = 'button';
    pick.setAttribute('aria-pressed', String(room.room === selectedRoom));
    pick.addEventListener('click', () => selectRoom(room.room));
    return row([pick, numbers.format(room.members), numbers.format(room.connections)],
               { testid: 'room', data: { room: room.room, selected: String(room.room === selectedRoom) } });
  }));
}

function selectRoom(room) {
  selectedRoom = room;
  for (const tr of $('room-rows').children) {
    tr.dataset.selected = String(tr.dataset.room === room);
    tr.querySelector('button')?.setAttribute('aria-pressed', tr.dataset.selected);
  }
  $('selected-room').textContent = room;
  $('detail-note').textContent = 'Loading…';
  $('detail-note').hidden = false;
  $('detail-body').hidden = true;
  refresh();
}

function renderDetail(room, answer) {
  const note = $('detail-note');
  $('selected-room').textContent = room ?? '';
  $('room-detail').dataset.room = room ?? '';
  if (!room || !answer || answer.status !== 200) {
    $('detail-body').hidden = true;
    note.hidden = false;
    if (!room) {
      note.textContent = 'Pick a room in the list.';
    } else if (answer?.status === 404 && answer.body?.instance) {
      note.textContent = `${room} runs on instance ${answer.body.instance}; this page shows the members and locks ` +
                         'of the rooms of the instance that serves it.';
    } else if (answer?.status === 404) {
      note.textContent = `${room} is not live: nobody is in it and it holds no locks.`;
    } else {
      note.textContent = `The server answered HTTP ${answer?.status}: ${answer?.body?.message ?? answer?.text ?? ''}`;
    }
    return;
  }
  const { members, locks } = answer.body;
  note.hidden = true;
  $('detail-body').hidden = false;
  $('members-empty').hidden = members.length > 0;
  $('member-rows').replaceChildren(...members.map((member) =>
    row([person(member.name, member.color), element('code', { text: member.user }), numbers.format(member.connections)],
        { testid: 'member', data: { user: member.user, connections: String(member.connections) } })));
  $('locks-empty').hidden = locks.length > 0;
  $('lock-rows').replaceChildren(...locks.map((lock) => {
    const holder = person(lock.holder.name, lock.holder.color);
    holder.title = lock.holder.user;
    holder.dataset.testid = 'lock-holder';
    return row([element('code', { text: lock.resource }), holder, numbers.format(lock.fence),
                duration(Math.ceil(lock.expires_in_ms / 1000))],
               { testid: 'lock', data: { resource: lock.resource, holder: lock.holder.user, fence: String(lock.fence) } });
  }));
}

// ---- charts -----------------------------------------------------------------------------------------

function addSample(values) {
  const now = performance.now();
  if (values) samples.push({ t: now, values });
  // One sample older than the window stays: the first rate inside it needs it.
  while (samples.length > 2 && samples[1].t < now - CHART_WINDOW_MS) samples.shift();
  $('metrics-note').hidden = metricsProblem === '';
  $('metrics-note').textContent = metricsProblem;
}

// [{t, v}] of one chart over the samples kept.
function series(chart) {
  const points = [];
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i].values.get(chart.metric);
    if (value === undefined) continue;
    if (chart.kind === 'gauge') {
      points.push({ t: samples[i].t, v: value });
    } else if (i > 0) {
      const before = samples[i - 1].values.get(chart.metric);
      const seconds = (samples[i].t - samples[i - 1].t) / 1000;
      // A counter that went down was reset (a restart): no rate for that step.
      if (before !== undefined && seconds > 0 && value >= before) points.push({ t: samples[i].t, v: (value - before) / seconds });
    }
  }
  return points;
}

const CHART_W = 240;
const CHART_H = 48;

function chartFigure(chart) {
  let figure = document.querySelector(`.chart[data-metric="${chart.metric}"]`);
  if (figure) return figure;
  figure = element('figure', { className: 'chart', testid: 'chart', data: { metric: chart.metric } });
  const caption = element('figcaption');
  caption.append(element('span', { text: chart.label, className: 'chart-label' }),
                 element('span', { className: 'chart-value', testid: 'chart-value' }));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${CHART_W} ${CHART_H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${chart.label}, last ${CHART_WINDOW_MS / 60000} minutes`);
  const area = document.createElementNS(SVG, 'path');
  area.setAttribute('class', 'chart-area');
  const line = document.createElementNS(SVG, 'path');
  line.setAttribute('class', 'chart-line');
  svg.append(area, line);
  const peak = element('span', { className: 'chart-peak' });
  figure.append(caption, svg, peak);
  $('charts').append(figure);
  return figure;
}

function formatRate(value) {
  return value >= 100 || Number.isInteger(value) ? numbers.format(Math.round(value)) : value.toFixed(1);
}

function renderCharts() {
  const now = performance.now();
  const latest = samples.at(-1)?.values;
  for (const chart of CHARTS) {
    if (latest && !latest.has(chart.metric)) continue;  // not exported by this server
    const figure = chartFigure(chart);
    const points = series(chart);
    const top = Math.max(1, ...points.map((p) => p.v));
    const x = (t) => Math.max(0, CHART_W * (1 - (now - t) / CHART_WINDOW_MS));
    const y = (v) => CHART_H - 2 - (v / top) * (CHART_H - 4);
    const coords = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    const [area, line] = figure.querySelectorAll('path');
    line.setAttribute('d', coords.length ? `M${coords.join('L')}` : '');
    area.setAttribute('d', coords.length > 1
      ? `M${x(points[0].t).toFixed(1)},${CHART_H}L${coords.join('L')}L${x(points.at(-1).t).toFixed(1)},${CHART_H}Z` : '');
    const last = points.at(-1);
    figure.querySelector('.chart-value').textContent = last ? formatRate(last.v) : '…';
    figure.dataset.points = String(points.length);
    figure.querySelector('.chart-peak').textContent =
      points.length < 2 ? 'collecting samples…' : `peak ${formatRate(Math.max(...points.map((p) => p.v)))}`;
  }
}

// ---- wiring ---------------------------------------------------------------------------------------

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const candidate = $('token').value.trim();
  if (candidate) signIn(candidate);
});
$('sign-out').addEventListener('click', () => signOut());
$('room-filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(refresh, FILTER_DEBOUNCE_MS);
});

const kept = sessionStorage.getItem(TOKEN_KEY);
if (kept) {
  signIn(kept);
} else {
  $('token').focus();
}
