// web/room-view.js — DOM builders for the room panel (web/room.js): member rows, node cards
// with their lock badge (the badge is also used by web/workflow.js), and the lock message.
// Pure functions of what they are given; every element a test looks for carries a stable
// data-testid.

// Creates an element with attributes and children (strings become text, never HTML).
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

// Black or white, whichever reads better on `color` (#rgb, #rrggbb or #rrggbbaa): user
// colours come from tokens, so a light one must not get white text.
export function textColorOn(color) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.exec(color ?? '')?.[1];
  if (!hex) return '#fff';
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex.slice(0, 6);
  const linear = [0, 2, 4].map((i) => {
    const channel = parseInt(full.slice(i, i + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
  // WCAG contrast against white is 1.05 / (L + 0.05), against black (L + 0.05) / 0.05.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? '#fff' : '#111';
}

function swatch(color) {
  return el('span', { class: 'swatch', style: `background:${color || 'transparent'}` });
}

function displayName(user) {
  return user?.name || user?.user || user?.id || 'someone';
}

// One member: colour, name, "you", "2 tabs" when the user is here more than once, and the
// nodes they edit (presence `node`).
export function memberView(member, { self, editing }) {
  const tabs = member.metas.length;
  return el('li', { class: 'member', 'data-testid': 'member', 'data-user': member.id, 'data-name': member.name, 'data-tabs': tabs },
    swatch(member.color),
    el('span', { class: 'member-name' }, displayName(member)),
    self && el('span', { class: 'tag' }, 'you'),
    tabs > 1 && el('span', { class: 'tag tabs', 'data-testid': 'member-tabs' }, `${tabs} tabs`),
    editing.length > 0 && el('span', { class: 'member-activity' }, `editing ${[...new Set(editing)].join(', ')}`));
}

// Lock states of a node card, also its data-state.
const NodeLock = { free: 'free', mine: 'mine', myOtherTab: 'other-tab', theirs: 'theirs' };

// A lock badge in the holder's colour: "free", "locked by you", "locked by you (other tab)"
// or "locked by Ana". Shared by the lock demo's node cards and the workflow editor's rows.
export function lockBadge(resource, { lock, mine, me, testid = 'lock-badge' }) {
  const state = mine ? NodeLock.mine
    : !lock ? NodeLock.free
    : lock.user === me.id ? NodeLock.myOtherTab
    : NodeLock.theirs;
  const color = lock?.color ?? (mine ? me.color : undefined);
  const badgeText = {
    [NodeLock.free]: 'free',
    [NodeLock.mine]: 'locked by you',
    [NodeLock.myOtherTab]: 'locked by you (other tab)',
    [NodeLock.theirs]: `locked by ${displayName(lock)}`,
  }[state];
  return el('span', {
    class: 'lock-badge', 'data-testid': testid, 'data-resource': resource, 'data-state': state,
    'data-holder': lock?.user ?? (mine ? me.id : undefined), 'data-holder-name': lock?.name ?? (mine ? me.name : undefined),
    style: color ? `background:${color};color:${textColorOn(color)}` : undefined,
  }, badgeText);
}

// One node card: title, kind, a lock badge in the holder's colour and a Lock/Unlock button.
export function nodeView(node, { lock, mine, busy, joined, me }) {
  const state = mine ? NodeLock.mine
    : !lock ? NodeLock.free
    : lock.user === me.id ? NodeLock.myOtherTab
    : NodeLock.theirs;
  const color = lock?.color ?? (mine ? me.color : undefined);
  const badge = lockBadge(node.id, { lock, mine, me });
  const button = el('button', {
    type: 'button', class: 'lock-button', 'data-testid': 'lock-button', 'data-resource': node.id,
    disabled: busy || !joined,
  }, state === NodeLock.mine ? 'Unlock' : 'Lock');
  return el('li', {
    class: 'node', 'data-testid': 'node', 'data-resource': node.id, 'data-state': state,
    style: color ? `--holder:${color}` : undefined,
  },
  el('div', { class: 'node-head' }, el('strong', {}, node.title), el('code', {}, node.id)),
  el('div', { class: 'node-kind' }, node.kind),
  el('div', { class: 'node-foot' }, badge, button));
}

function dismissButton() {
  return el('button', { type: 'button', class: 'dismiss', 'data-action': 'dismiss', 'aria-label': 'Dismiss' }, '×');
}

// The lock message's contents: a denial ("Ana is editing node-3" + Request takeover), a
// takeover request to the holder (+ Release now), or a plain notice.
export function lockMessageView(message) {
  const text = (...parts) => el('span', { class: 'message-text', 'data-testid': 'lock-message-text' }, ...parts);
  switch (message.kind) {
    case 'denied':
      return [
        swatch(message.holder.color),
        message.holderIsMe ? text(`You are editing ${message.resource} in another tab`)
          : text(el('strong', {}, displayName(message.holder)), ` is editing ${message.resource}`),
        el('button', { type: 'button', 'data-action': 'takeover', 'data-testid': 'takeover' }, 'Request takeover'),
        dismissButton(),
      ];
    case 'takeover-request': {
      const seconds = Math.round((message.graceMs ?? 0) / 1000);
      return [
        swatch(message.by?.color),
        text(el('strong', {}, displayName(message.by)), ` wants to edit ${message.resource}; it moves to them in ${seconds} s`),
        el('button', { type: 'button', 'data-action': 'release', 'data-testid': 'release' }, 'Release now'),
        dismissButton(),
      ];
    }
    default:
      return [text(message.text), dismissButton()];
  }
}
