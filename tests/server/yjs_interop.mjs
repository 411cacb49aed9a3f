// tests/server/yjs_interop.mjs — the Yjs codec (server/src/yjs/) against the real yjs 13.6,
// y-protocols, y-websocket 3.1 and @hocuspocus/provider 4.8 from node_modules.
//
//   node tests/server/yjs_interop.mjs <tandem_yjs_check>     (ctest: yjs.interop, label unit)
//
// 1. Makes real updates (texts with formats and embeds, maps of every value kind, arrays, XML,
//    subdocuments, GC'd deletions, merged and diffed updates, big docs), state vectors,
//    awareness updates and sync messages, and a few hand-made ones (legacy JSON content).
// 2. Lets real providers talk to a tiny ws server here: it records what they send and plays
//    them what tandem_yjs_check encodes (checking each provider reacts as it should).
// 3. Runs `tandem_yjs_check check` over all of it plus truncated and byte-flipped mutants:
//    every real input must be accepted with the summary yjs itself reads (Y.decodeUpdate,
//    Y.encodeStateVectorFromUpdate); every truncation refused; a mutant the codec accepts must
//    decode in yjs too, to the same summary. Prints a short tally; exits 1 on any mismatch.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import { WebSocket, WebSocketServer } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'

const checker = process.argv[2]
if (!checker) {
  console.error('usage: node yjs_interop.mjs <tandem_yjs_check>')
  process.exit(2)
}
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-yjs-interop-'))
const failures = []
const fail = (what) => failures.push(what)

// A deterministic random source, so a failure reproduces.
let seed = 20260101
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
const pick = (n) => Math.floor(random() * n)

// ---- 1. inputs -------------------------------------------------------------------------------------
const files = new Map()  // file name -> { bytes, expect }
const add = (name, bytes, expect) => {
  assert(!files.has(name), name)
  files.set(name, { bytes: Uint8Array.from(bytes), expect })
}
const addUpdate = (name, update) => add(`update-${name}`, update, { ok: true, update: true })

const doc = (clientID) => {
  const d = new Y.Doc()
  d.clientID = clientID
  return d
}
// Every update event of `d`, as the providers would send them.
const recordUpdates = (d, prefix) => {
  let n = 0
  d.on('update', (update) => addUpdate(`${prefix}-event-${String(n++).padStart(3, '0')}`, update))
}

// Texts: inserts, deletes, formats, embeds, characters outside the BMP.
{
  const d = doc(11)
  recordUpdates(d, 'text')
  const t = d.getText('t')
  t.insert(0, 'hello world')
  t.delete(2, 5)
  t.format(0, 3, { bold: true, link: { href: 'https://example.com' } })
  t.insertEmbed(2, { image: 'cat.png', size: [3, 4] })
  t.insert(1, 'é😀 ünïcode ', { italic: true })
  t.delete(3, 1)  // half of the emoji's surrogate pair
  t.insert(0, '\u2028\u0000 tab\tand "quotes"')
  t.applyDelta([{ retain: 4 }, { delete: 2 }, { insert: 'delta', attributes: { color: null } }])
  addUpdate('text-state', Y.encodeStateAsUpdate(d))
}

// Maps of every value kind, nested types included.
{
  const d = doc(2 ** 31 + 5)  // a client id past 32 bits
  recordUpdates(d, 'map')
  const m = d.getMap('m')
  d.transact(() => {
    m.set('int', 42)
    m.set('negative', -7)
    m.set('large', 2 ** 53 - 1)
    m.set('float', 3.25)
    m.set('tiny', 1e-300)
    m.set('nan', NaN)
    m.set('string', 'text ✓')
    m.set('empty string', '')
    m.set('true', true)
    m.set('false', false)
    m.set('null', null)
    m.set('undefined', undefined)
    m.set('array', [1, 'two', [3, [4, { five: 5 }]], null])
    m.set('object', { a: { b: { c: [true, false] } }, 'key with spaces': 'v' })
    m.set('bytes', new Uint8Array([0, 1, 2, 255]))
    m.set('bigint', 12345678901234567890n)
  })
  const nested = new Y.Map()
  m.set('ymap', nested)
  nested.set('inner', 'value')
  const arr = new Y.Array()
  m.set('yarray', arr)
  arr.insert(0, [1, 2, 3, new Y.Text('in an array')])
  m.set('ytext', new Y.Text('text in a map'))
  m.delete('int')
  m.set('string', 'overwritten')
  addUpdate('map-state', Y.encodeStateAsUpdate(d))
}

// Arrays: inserts and deletes in the middle, many small items.
{
  const d = doc(3)
  recordUpdates(d, 'array')
  const a = d.getArray('a')
  a.insert(0, ['a', 'b', 'c', 'd', 'e'])
  a.delete(1, 2)
  a.insert(1, [{ x: 1 }, [1, 2], 'z'])
  a.push([new Uint8Array([9])])
  a.unshift([null])
  addUpdate('array-state', Y.encodeStateAsUpdate(d))
}

// XML: elements with attributes, texts with formats, hooks.
{
  const d = doc(4)
  recordUpdates(d, 'xml')
  const fragment = d.getXmlFragment('prosemirror')
  const paragraph = new Y.XmlElement('paragraph')
  const heading = new Y.XmlElement('heading')
  fragment.insert(0, [paragraph, heading])
  paragraph.setAttribute('align', 'center')
  heading.setAttribute('level', 2)
  const text = new Y.XmlText()
  paragraph.insert(0, [text])
  text.insert(0, 'bold and plain', { bold: {} })
  text.format(0, 4, { bold: null })
  heading.insert(0, [new Y.XmlText('title'), new Y.XmlHook('mention')])
  paragraph.removeAttribute('align')
  addUpdate('xml-state', Y.encodeStateAsUpdate(d))
}

// Subdocuments with options.
{
  const d = doc(5)
  recordUpdates(d, 'subdoc')
  const docs = d.getMap('docs')
  docs.set('plain', new Y.Doc({ guid: 'plain-guid' }))
  docs.set('options', new Y.Doc({ guid: 'options-guid', autoLoad: true, meta: { title: 'T', n: 1 }, gc: false }))
  d.getArray('list').insert(0, [new Y.Doc()])
  addUpdate('subdoc-state', Y.encodeStateAsUpdate(d))
}

// Deletions collected into GC structs; a doc without GC keeps Deleted content.
for (const gc of [true, false]) {
  const d = doc(gc ? 6 : 7)
  d.gc = gc
  const t = d.getText('t')
  const a = d.getArray('a')
  for (let i = 0; i < 50; i++) t.insert(pick(t.length + 1), 'chunk' + i)
  a.insert(0, Array.from({ length: 40 }, (_, i) => i))
  a.insert(0, [new Y.Map(), new Y.Array()])
  t.delete(5, 120)
  a.delete(0, 30)
  addUpdate(`deleted-gc-${gc}`, Y.encodeStateAsUpdate(d))
}

// Several clients, merged and diffed updates (merged updates with gaps hold Skip structs).
{
  const clients = [doc(101), doc(202), doc(303)]
  const updates = []
  for (const d of clients) d.on('update', (u) => updates.push(u))
  for (let round = 0; round < 60; round++) {
    const d = clients[pick(3)]
    const t = d.getText('shared')
    if (t.length > 10 && random() < 0.3) t.delete(pick(t.length - 5), 1 + pick(4))
    else t.insert(pick(t.length + 1), 'r' + round, random() < 0.2 ? { em: true } : undefined)
    if (random() < 0.3) d.getMap('meta').set('k' + pick(5), { round })
    for (const other of clients) if (other !== d && random() < 0.5) Y.applyUpdate(other, Y.encodeStateAsUpdate(d))
  }
  for (const d of clients) for (const o of clients) if (d !== o) Y.applyUpdate(d, Y.encodeStateAsUpdate(o))
  addUpdate('clients-merged-all', Y.mergeUpdates(updates))
  addUpdate('clients-merged-odd', Y.mergeUpdates(updates.filter((_, i) => i % 2 === 1)))
  addUpdate('clients-merged-gaps', Y.mergeUpdates(updates.filter((_, i) => i % 3 !== 1)))
  addUpdate('clients-merged-empty', Y.mergeUpdates([]))
  const half = doc(404)
  Y.applyUpdate(half, Y.mergeUpdates(updates.slice(0, updates.length >> 1)))
  addUpdate('clients-diff-state-vector', Y.encodeStateAsUpdate(clients[0], Y.encodeStateVector(half)))
  addUpdate('clients-diff-update', Y.diffUpdate(Y.encodeStateAsUpdate(clients[1]), Y.encodeStateVector(half)))
  addUpdate('clients-diff-nothing', Y.encodeStateAsUpdate(clients[2], Y.encodeStateVector(clients[2])))
  for (const [i, d] of clients.entries()) {
    add(`sv-client-${i}`, Y.encodeStateVector(d), { ok: true, sv: Y.decodeStateVector(Y.encodeStateVector(d)) })
    addUpdate(`clients-state-${i}`, Y.encodeStateAsUpdate(d))
  }
  add('sv-empty', Y.encodeStateVector(doc(1)), { ok: true, sv: new Map() })
  add('sv-from-update', Y.encodeStateVectorFromUpdate(Y.mergeUpdates(updates)),
    { ok: true, sv: Y.decodeStateVector(Y.encodeStateVectorFromUpdate(Y.mergeUpdates(updates))) })
}

// A big document: thousands of operations.
{
  const d = doc(909)
  const t = d.getText('big')
  const m = d.getMap('bigmap')
  for (let i = 0; i < 3000; i++) {
    if (t.length > 100 && random() < 0.25) t.delete(pick(t.length - 10), 1 + pick(8))
    else t.insert(pick(t.length + 1), 'word' + i + ' ', random() < 0.1 ? { b: true } : undefined)
    if (i % 10 === 0) m.set('key' + pick(50), { i, list: [i, String(i)] })
  }
  addUpdate('big-state', Y.encodeStateAsUpdate(d))
}

// Legacy JSON content (content ref 2; yjs still reads it): JSON.parse is the judge.
const jsonTexts = [
  '0', '-0', '1.5e-3', '1E+2', '0e0', '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', ' [1, {"a": null}] ', '"é\\n"',
  'true', 'null', '[]', '{}', '"\\/"', '"\u2028"', '"\x7f"', '{"a":{"b":[[]]}}', '"' + 'x'.repeat(300) + '"', 'undefined',
  '01', '1.', '.5', '-', '+1', '1e', '0x10', 'NaN', 'Infinity', '[1,]', '{"a":1,}', '"a\tb"', '"\\x"', '"\\u00"',
  'nul', '[', '1 2', '', '{a:1}', "'a'", '\ufeff1', '\u00a01', '[1,,2]', '{"a":}', 'tRue', '1.0e+', '- 1',
  '"\\u00zz"', '{"a" 1}', '[1]]', '"unterminated', 'undefined ', 'Undefined',
]
const legacyJsonUpdate = (texts) => {
  const e = encoding.createEncoder()
  for (const n of [1, 1, 77, 0]) encoding.writeVarUint(e, n)  // 1 client: 1 struct, client 77, clock 0
  encoding.writeUint8(e, 2)                                    // info: JSON content, parent named
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, 'legacy')
  encoding.writeVarUint(e, texts.length)
  for (const text of texts) encoding.writeVarString(e, text)
  encoding.writeVarUint(e, 0)                                  // no deletions
  return encoding.toUint8Array(e)
}
const yjsReads = (update) => {
  try {
    Y.decodeUpdate(update)
    return true
  } catch {
    return false
  }
}
for (const [i, text] of jsonTexts.entries()) {
  const update = legacyJsonUpdate(['1', text])
  add(`update-json-${String(i).padStart(2, '0')}`, update, { ok: yjsReads(update), update: yjsReads(update), json: text })
}

// Awareness updates (y-protocols/awareness), in y-websocket and Hocuspocus messages.
const ywsMessage = (write) => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}
const hpMessage = (address, write) => ywsMessage((e) => {
  encoding.writeVarString(e, address)
  write(e)
})
{
  const d = doc(31)
  const awareness = new awarenessProtocol.Awareness(d)
  awareness.setLocalState({ user: { name: 'Ada', color: '#ff0000' }, cursor: { anchor: 3, head: 7 } })
  const peers = new awarenessProtocol.Awareness(doc(32))
  peers.setLocalState({ emoji: '😀', nested: { deep: [1, [2, [3]]] }, text: 'quote " and \\ and \n' })
  awarenessProtocol.applyAwarenessUpdate(awareness, awarenessProtocol.encodeAwarenessUpdate(peers, [32]), 'test')
  const states = (clients) => awarenessProtocol.encodeAwarenessUpdate(awareness, clients)
  const cases = { one: states([31]), two: states([31, 32]), none: states([]) }
  awareness.setLocalState(null)  // removed: state "null"
  cases.removed = states([31])
  for (const [name, update] of Object.entries(cases)) {
    add(`yws-awareness-${name}`, ywsMessage((e) => {
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint8Array(e, update)
    }), { ok: true, kind: 'awareness' })
    add(`hp-awareness-${name}`, hpMessage('doc', (e) => {
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint8Array(e, update)
    }), { ok: true, kind: 'awareness' })
  }
  awareness.destroy()
  peers.destroy()
}
// Awareness states: JSON.parse (applyAwarenessUpdate) is the judge again.
for (const [i, text] of jsonTexts.entries()) {
  const update = ywsMessage((e) => {
    for (const n of [1, 5, 1]) encoding.writeVarUint(e, n)  // 1 state: client 5, clock 1
    encoding.writeVarString(e, text)
  })
  let accepted = true
  try {
    awarenessProtocol.applyAwarenessUpdate(new awarenessProtocol.Awareness(doc(6)), update, 'test')
  } catch {
    accepted = false
  }
  add(`yws-awareness-json-${String(i).padStart(2, '0')}`, ywsMessage((e) => {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint8Array(e, update)
  }), { ok: accepted, json: text })
}

// Sync messages, as y-protocols writes them; Hocuspocus's are the same after the address.
{
  const d = doc(41)
  d.getText('t').insert(0, 'sync me')
  const other = doc(42)
  other.getText('t').insert(0, 'other')
  const bodies = {
    'sync-step1': (e) => syncProtocol.writeSyncStep1(e, d),
    'sync-step1-empty': (e) => syncProtocol.writeSyncStep1(e, doc(43)),
    'sync-step2': (e) => syncProtocol.writeSyncStep2(e, d, Y.encodeStateVector(other)),
    'sync-step2-empty': (e) => syncProtocol.writeSyncStep2(e, d, Y.encodeStateVector(d)),
    'sync-update': (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(d)),
  }
  const kinds = { 'sync-step1': 'sync_step1', 'sync-step1-empty': 'sync_step1', 'sync-step2': 'sync_step2',
    'sync-step2-empty': 'sync_step2', 'sync-update': 'sync_update' }
  for (const [name, body] of Object.entries(bodies)) {
    add(`yws-${name}`, ywsMessage((e) => { encoding.writeVarUint(e, 0); body(e) }), { ok: true, kind: kinds[name] })
    add(`hp-${name}`, hpMessage('interop/doc', (e) => { encoding.writeVarUint(e, 0); body(e) }), { ok: true, kind: kinds[name] })
    add(`hp-session-${name}`, hpMessage('interop/doc\0s3ss10n', (e) => { encoding.writeVarUint(e, 0); body(e) }),
      { ok: true, kind: kinds[name], document: 'interop/doc', session: 's3ss10n' })
  }
  add('yws-query-awareness', [3], { ok: true, kind: 'query_awareness' })
  add('hp-query-awareness', hpMessage('doc', (e) => encoding.writeVarUint(e, 3)), { ok: true, kind: 'query_awareness' })
  add('hp-pong', [10], { ok: true, kind: 'pong' })
  add('hp-stateless', hpMessage('doc', (e) => { encoding.writeVarUint(e, 5); encoding.writeVarString(e, '{"a":1}') }),
    { ok: true, kind: 'stateless', payload: '{"a":1}' })
}

// ---- 2. real providers against a recording ws server --------------------------------------------
const waitFor = async (label, predicate, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
// The server messages tandem_yjs_check encodes, for the given address.
const encoded = (address) => {
  const dir = fs.mkdtempSync(path.join(workDir, 'encoded-'))
  const run = spawnSync(checker, ['encode', dir, Buffer.from(address).toString('hex')], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  return Object.fromEntries(fs.readdirSync(dir).map((name) => [name, fs.readFileSync(path.join(dir, name))]))
}
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
await new Promise((resolve) => server.once('listening', resolve))
const url = `ws://127.0.0.1:${server.address().port}`
const sockets = []  // { path, received: [Uint8Array], socket }
server.on('connection', (socket, request) => {
  const entry = { path: request.url, received: [], socket }
  sockets.push(entry)
  socket.on('message', (data) => entry.received.push(new Uint8Array(data)))
})
const socketFor = async (urlPath) => {
  await waitFor(`a connection to ${urlPath}`, () => sockets.some((s) => s.path === urlPath))
  return sockets.find((s) => s.path === urlPath)
}
const captured = (prefix, entry, expectKind) => entry.received.forEach((bytes, i) =>
  add(`${prefix}-captured-${String(i).padStart(2, '0')}`, bytes, { ok: true, kindOneOf: expectKind }))

async function talkToYWebsocket () {
  const ydoc = doc(51)
  ydoc.getText('t').insert(0, 'offline edit ')
  const warnings = []
  const warn = console.warn
  console.warn = (...args) => warnings.push(args.join(' '))
  const provider = new WebsocketProvider(url, 'yws-room', ydoc, { WebSocketPolyfill: WebSocket, disableBc: true })
  provider.awareness.setLocalState({ user: { name: 'y-websocket' } })
  try {
    const entry = await socketFor('/yws-room')
    const play = encoded('')
    await waitFor('y-websocket sends sync step 1', () => entry.received.length >= 1)
    entry.socket.send(play['yws-sync-step1-empty'])
    await waitFor('y-websocket answers with its state (sync step 2)', () => entry.received.some((m) => m[0] === 0 && m[1] === 1))
    entry.socket.send(play['yws-sync-step2-empty'])
    await waitFor('y-websocket synced', () => provider.synced)
    entry.socket.send(play['yws-sync-update-hi'])
    await waitFor('the update applied', () => ydoc.getText('t').toString().includes('hi'))
    entry.socket.send(play['yws-awareness'])
    await waitFor('the awareness state applied', () => provider.awareness.getStates().get(777)?.user?.name === 'tandem')
    const before = entry.received.length
    entry.socket.send(play['yws-query-awareness'])
    await waitFor('y-websocket answers a query with its awareness', () => entry.received.slice(before).some((m) => m[0] === 1))
    entry.socket.send(play['yws-permission-denied'])
    await waitFor('y-websocket reports permission denied', () => warnings.some((w) => w.includes('no way')))
    ydoc.getText('t').insert(0, 'live edit ')
    await waitFor('y-websocket sends a live update', () => entry.received.some((m) => m[0] === 0 && m[1] === 2))
    provider.awareness.setLocalState(null)
    await waitFor('y-websocket sends its awareness removal',
      () => entry.received.some((m) => m[0] === 1 && Buffer.from(m).toString('latin1').endsWith('null')))
    captured('yws', entry, ['sync_step1', 'sync_step2', 'sync_update', 'awareness'])
  } finally {
    console.warn = warn
    provider.destroy()
  }
}

async function talkToHocuspocus (sessionAwareness) {
  const name = 'interop/doc'
  const ydoc = doc(sessionAwareness ? 62 : 61)
  ydoc.getText('t').insert(0, 'offline edit ')
  const events = []
  const provider = new HocuspocusProvider({
    url: `${url}/hp-${sessionAwareness}`,
    name,
    document: ydoc,
    token: 'secret-token',
    sessionAwareness,
    WebSocketPolyfill: WebSocket,
    onAuthenticated: ({ scope }) => events.push(['authenticated', scope]),
    onAuthenticationFailed: ({ reason }) => events.push(['denied', reason]),
    onStateless: ({ payload }) => events.push(['stateless', payload]),
    onSynced: () => events.push(['synced']),
    onClose: ({ event }) => events.push(['close', event.reason]),
  })
  provider.setAwarenessField('user', { name: 'hocuspocus' })
  const address = sessionAwareness ? `${name}\0${provider.sessionId}` : name
  const has = (kind, value) => events.some(([k, v]) => k === kind && (value === undefined || v === value))
  const prefix = `hp-${sessionAwareness ? 'session' : 'plain'}`
  try {
    const entry = await socketFor(`/hp-${sessionAwareness}`)
    const play = encoded(address)
    const sent = () => entry.received.length
    const typeAt = Buffer.from(address).length + 1  // after the address (its length fits one byte)
    const isAuth = (m) => m.length > typeAt && m[typeAt] === 2
    const isSync = (m, syncType) => m[typeAt] === 0 && m[typeAt + 1] === syncType
    await waitFor('the provider sends its token', () => entry.received.some(isAuth))
    entry.socket.send(play['hp-authenticated-read-write'])
    await waitFor('authenticated read-write', () => has('authenticated', 'read-write'))
    entry.socket.send(play['hp-sync-step1-empty'])
    await waitFor('the provider answers with its state (step 2)', () => entry.received.some((m) => isSync(m, 1)))
    entry.socket.send(play['hp-sync-step2-empty'])
    await waitFor('synced', () => has('synced'))
    entry.socket.send(play['hp-sync-update-hi'])
    await waitFor('the update applied', () => ydoc.getText('t').toString().includes('hi'))
    const unsynced = provider.unsyncedChanges
    assert(unsynced > 0)
    entry.socket.send(play['hp-sync-status-applied'])
    await waitFor('SyncStatus applied counted', () => provider.unsyncedChanges === unsynced - 1)
    entry.socket.send(play['hp-stateless'])
    await waitFor('the stateless payload', () => has('stateless', '{"hello":"world"}'))
    entry.socket.send(play['hp-awareness'])
    await waitFor('the awareness state applied', () => provider.awareness.getStates().get(777)?.user?.name === 'tandem')
    let before = sent()
    entry.socket.send(play['hp-query-awareness'])
    await waitFor('an awareness answer', () => entry.received.slice(before).length > 0)
    before = sent()
    entry.socket.send(play['hp-ping'])
    await waitFor('a pong', () => entry.received.slice(before).some((m) => m.length === 1 && m[0] === 10))
    before = sent()
    entry.socket.send(play['hp-token-request'])
    await waitFor('the token again', () => entry.received.slice(before).some(isAuth))
    entry.socket.send(play['hp-authenticated-readonly'])
    await waitFor('authenticated readonly', () => has('authenticated', 'readonly'))
    entry.socket.send(play['hp-permission-denied'])
    await waitFor('permission denied', () => has('denied', 'no way'))
    before = sent()
    ydoc.getText('t').insert(0, 'live edit ')
    await waitFor('a live update', () => entry.received.slice(before).some((m) => isSync(m, 2)))
    entry.socket.send(play['hp-close'])
    await waitFor('the close reason', () => has('close', 'bye'))
    before = sent()
    provider.destroy()
    await waitFor('CLOSE from the provider', () => entry.received.slice(before).some((m) => m.length === typeAt + 1 && m[typeAt] === 7))
    const kinds = ['token', 'sync_step1', 'sync_step2', 'sync_update', 'awareness', 'pong', 'close']
    entry.received.forEach((bytes, i) => add(`${prefix}-captured-${String(i).padStart(2, '0')}`, bytes,
      { ok: true, kindOneOf: kinds, document: name, session: sessionAwareness ? provider.sessionId : '' }))
    add(`${prefix}-token-check`, entry.received.find(isAuth), { ok: true, kind: 'token', token: 'secret-token', version: '4.8.0' })
  } finally {
    provider.destroy()
  }
}

try {
  await talkToYWebsocket()
  await talkToHocuspocus(false)
  await talkToHocuspocus(true)
} catch (error) {
  fail(`live providers: ${error.message}`)
}
for (const client of server.clients) client.terminate()
server.close()

// ---- 3. mutants ---------------------------------------------------------------------------------
seed = 4242  // the same mutants whatever the live providers sent
const bases = [...files.entries()].filter(([, f]) => f.expect.ok)
for (const [name, { bytes }] of bases) {
  const prefix = name.slice(0, name.indexOf('-') + 1)
  const mutant = `${prefix}mut-${name.slice(prefix.length)}`
  // Truncations: every one for small inputs, 40 for big ones.
  const cuts = bytes.length <= 300 ? [...Array(bytes.length).keys()] : Array.from({ length: 40 }, () => pick(bytes.length))
  for (const cut of new Set(cuts)) add(`${mutant}-cut-${cut}`, bytes.subarray(0, cut), { truncationOf: name })
  for (let i = 0; i < (bytes.length <= 300 ? 24 : 12); i++) {
    const copy = Uint8Array.from(bytes)
    const at = pick(copy.length)
    copy[at] = random() < 0.5 ? copy[at] ^ (1 << pick(8)) : pick(256)
    add(`${mutant}-flip-${i}-${at}`, copy, { mutantOf: name })
  }
  add(`${mutant}-trailing`, [...bytes, 0], { trailingOf: name })
}

// ---- 4. check -----------------------------------------------------------------------------------
const checkDir = path.join(workDir, 'check')
fs.mkdirSync(checkDir)
for (const [name, { bytes }] of files) fs.writeFileSync(path.join(checkDir, name), bytes)
const run = spawnSync(checker, ['check', checkDir], { encoding: 'utf8', maxBuffer: 1 << 28 })
if (run.status !== 0) {
  console.error(run.stderr)
  process.exit(1)
}
const results = new Map(run.stdout.trim().split('\n').map((line) => {
  const result = JSON.parse(line)
  return [result.file, result]
}))

// yjs's own reading of an update: struct ranges (Skips left out) and delete ranges, merged.
const merged = (byClient) => Object.fromEntries([...byClient.entries()].sort((a, b) => a[0] - b[0]).map(([client, ranges]) => {
  ranges.sort((a, b) => a[0] - b[0])
  const out = []
  for (const [clock, length] of ranges) {
    const last = out[out.length - 1]
    if (last && clock <= last[0] + last[1]) last[1] = Math.max(last[0] + last[1], clock + length) - last[0]
    else out.push([clock, length])
  }
  return [String(client), out]
}))
const yjsSummary = (update) => {
  const { structs, ds } = Y.decodeUpdate(update)
  const structRanges = new Map()
  const deleteRanges = new Map()
  const push = (map, client, clock, length) => map.set(client, [...(map.get(client) ?? []), [clock, length]])
  for (const s of structs) if (!(s instanceof Y.Skip)) push(structRanges, s.id.client, s.id.clock, s.length)
  for (const [client, items] of ds.clients) for (const item of items) push(deleteRanges, client, item.clock, item.len)
  return { structs: merged(structRanges), deletes: merged(deleteRanges) }
}
const canonical = (ranges) => JSON.stringify(Object.entries(ranges).sort((a, b) => Number(a[0]) - Number(b[0])))
const sameSummary = (name, ours, update) => {
  let theirs
  try {
    theirs = yjsSummary(update)
  } catch (error) {
    return fail(`${name}: accepted, but yjs throws reading it: ${error.message}`)
  }
  if (canonical(ours.structs) !== canonical(theirs.structs) || canonical(ours.deletes) !== canonical(theirs.deletes))
    fail(`${name}: summary ${JSON.stringify(ours)} but yjs reads ${JSON.stringify(theirs)}`)
}
// The state vector yjs derives from an update: the end of each client's first range when it
// starts at 0.
const sameStateVector = (name, ours, update) => {
  const theirs = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update))
  const expected = new Map(Object.entries(ours.structs).filter(([, r]) => r[0][0] === 0).map(([c, r]) => [Number(c), r[0][1]]))
  if (JSON.stringify([...theirs].sort()) !== JSON.stringify([...expected].sort()))
    fail(`${name}: state vector from update ${JSON.stringify([...theirs])}, ours ${JSON.stringify([...expected])}`)
}
// The update inside a sync message (after the address, the message type and the sync type).
const payloadOf = (file, bytes) => {
  let at = 0
  const varUint = () => {
    let n = 0
    for (let mult = 1; ; mult *= 128) {
      const b = bytes[at++]
      n += (b & 127) * mult
      if (b < 128) return n
    }
  }
  if (file.startsWith('hp-')) {
    const addressLength = varUint()  // (not `at += varUint()`: that reads `at` before the call moves it)
    at += addressLength
  }
  varUint()
  varUint()
  const length = varUint()
  return bytes.subarray(at, at + length)
}

const tally = { accepted: 0, refused: 0, truncationsRefused: 0, mutantsRefused: 0, mutantsAccepted: 0 }
for (const [name, { bytes, expect }] of files) {
  const result = results.get(name)
  if (!result) {
    fail(`${name}: no result`)
    continue
  }
  result.ok ? tally.accepted++ : tally.refused++
  if (expect.ok !== undefined && result.ok !== expect.ok) {
    fail(`${name}: ${result.ok ? 'accepted' : `refused (${result.code}: ${result.message})`}, expected ${expect.ok ? 'accepted' : 'refused'}` +
      (expect.json !== undefined ? ` — JSON text ${JSON.stringify(expect.json)}` : ''))
    continue
  }
  if (expect.truncationOf || expect.trailingOf) {
    // Two truncations are whole messages: a Hocuspocus token without the provider version
    // (what providers before v4 send), and the first byte of an address 10 bytes long (0a, a Pong).
    const base = results.get(expect.truncationOf)
    const whole = result.ok && ((result.kind === 'token' && result.version === '' && base?.kind === 'token') ||
      (result.kind === 'pong' && bytes.length === 1))
    if (result.ok && !whole) fail(`${name}: a ${expect.truncationOf ? 'truncation' : 'trailing byte'} was accepted`)
    else if (!result.ok) tally.truncationsRefused++
    continue
  }
  if (expect.mutantOf) {
    if (!result.ok) {
      tally.mutantsRefused++
      continue
    }
    tally.mutantsAccepted++
    // Accepted: yjs must read it as well, to the same summary.
    try {
      if (name.startsWith('update-')) sameSummary(name, result, bytes)
      else if (name.startsWith('sv-')) Y.decodeStateVector(bytes)
      else if (result.kind === 'sync_step2' || result.kind === 'sync_update') sameSummary(name, result, payloadOf(name, bytes))
    } catch (error) {
      fail(`${name}: accepted, but yjs throws: ${error.message}`)
    }
    continue
  }
  if (!result.ok) continue
  if (expect.update) {
    sameSummary(name, result, bytes)
    sameStateVector(name, result, bytes)
  }
  if (expect.sv) {
    const ours = new Map(Object.entries(result.clocks).map(([c, clock]) => [Number(c), clock]))
    if (JSON.stringify([...ours].sort()) !== JSON.stringify([...expect.sv].sort())) fail(`${name}: state vector ${JSON.stringify([...ours])}`)
  }
  if (expect.kind && result.kind !== expect.kind) fail(`${name}: kind ${result.kind}, expected ${expect.kind}`)
  if (expect.kindOneOf && !expect.kindOneOf.includes(result.kind)) fail(`${name}: kind ${result.kind}`)
  for (const field of ['document', 'session', 'payload', 'token', 'version']) {
    if (expect[field] !== undefined && result.kind !== 'pong' && result[field] !== expect[field])
      fail(`${name}: ${field} ${JSON.stringify(result[field])}, expected ${JSON.stringify(expect[field])}`)
  }
  if (result.kind === 'sync_step2' || result.kind === 'sync_update') sameSummary(name, result, payloadOf(name, bytes))
}

fs.rmSync(workDir, { recursive: true, force: true })
console.log(`yjs interop: ${files.size} inputs (${bases.length} valid), ${tally.accepted} accepted, ${tally.refused} refused; ` +
  `${tally.truncationsRefused} truncations/trailing refused; mutants: ${tally.mutantsRefused} refused, ` +
  `${tally.mutantsAccepted} accepted and read alike by yjs`)
if (failures.length) {
  console.error(`${failures.length} failure(s):\n  ` + failures.slice(0, 40).join('\n  '))
  process.exit(1)
}
process.exit(0)
