// examples/usage.ts — the whole tandem-client API as an app uses it, type-checked against
// tandem.d.ts by `tsc -p examples --noEmit` (ctest types_usage). Not run: it is the contract.
// The @ts-expect-error lines prove that mistakes are caught.
import {
  connect, TandemError, type Member, type MemberPage, type StateSnapshot, type TandemRoom, type TransportName,
} from 'tandem-client';
import { tandemWebSocket } from 'tandem-client/yjs';

export async function demo(serverUrl: string): Promise<void> {
  const { token } = (await (await fetch(`${serverUrl}/api/v1/dev/token?name=Ana`)).json()) as { token: string };
  const newToken = async (): Promise<string | null> =>
    ((await (await fetch(`${serverUrl}/api/v1/dev/token?name=Ana`)).json()) as { token: string }).token;
  const client = await connect(`${serverUrl}/ws`, { token, refreshToken: newToken });

  const off = client.on('state', (s: StateSnapshot) => {
    if (s.state === 'reconnecting') console.log(`retry in ${s.retryInMs ?? 0} ms, ${s.queued} queued`);
    if (s.state === 'open') console.log(`connected as ${s.user?.name} to ${s.serverVersion}`);
    if (s.state === 'closed' && s.refreshError) console.log(`signed out: ${s.refreshError}`);
  });
  client.on('message', (m) => console.log(m.type, m.room));
  // @ts-expect-error: the client has only 'state' and 'message' events
  client.on('presence', () => {});

  const room: TandemRoom = await client.join('workflow:42', { presence: { node: 'n3' } });
  room.on('presence', (members: Member[]) => members.map((m) => `${m.name} (${m.metas.length})`));
  room.on('locks', (locks) => Object.entries(locks).map(([resource, l]) => `${resource}: ${l.name} #${l.fence}`));
  room.on('lockLost', (lost) => console.log(lost.resource, lost.reason));
  room.on('takeover', (req) => console.log(req.by.name, req.graceMs));
  room.on('typing', (users) => users.map((u) => u.name));
  room.on('execution', (u) => console.log(u.execution, u.completed_nodes, u.total_nodes));
  room.on('stream', (e) => console.log(e.event, e.data));
  room.on('streamControl', (c) => console.log(c.action, c.user));
  room.on('broadcast', (b) => console.log(b.event, b.data, b.name, b.connection === client.state.connectionId));
  room.on('chat', (chat) => chat.messages.map((m) => `${m.name}: ${m.text}`));
  room.on('event', (e) => console.log(e.type, e.seq.toFixed(0), e.room));
  room.on('doc', (change) => {
    if (change.kind === 'node' && !change.deleted) console.log(room.doc.node(change.id)?.label);
  });
  // @ts-expect-error: not a room event
  room.on('members', () => {});

  // Presence.
  const status: string = room.setPresence({ cursor: { x: 10, y: 20 } });
  // @ts-expect-error: presence is a JSON object
  room.setPresence('here');

  // Locks and fenced doc edits.
  const answer = await room.lock('n3', { ttlMs: 30_000 });
  if (answer.outcome === 'granted') {
    await room.doc.updateNode('n3', { label: 'Fetch paid' }, { fence: answer.fence });
    await room.unlock('n3');
  } else {
    console.log(`held by ${answer.holder?.name}`);
    await room.takeover('n3');
  }
  await room.doc.createNode({ id: 'n4', type: 'http_request', label: 'Fetch' });
  await room.doc.createEdge({ id: 'e1', from: 'n3', to: 'n4' });
  await room.doc.deleteEdge('e1');
  await room.doc.deleteNode('n4');
  const labels: (string | undefined)[] = room.doc.nodes.map((n) => n.label);
  const loaded: boolean = room.doc.loaded;
  // @ts-expect-error: updateNode needs the node id first
  await room.doc.updateNode({ label: 'x' });

  // Chat.
  room.chat.typing(true);
  await room.chat.send('hello');
  for (const p of room.chat.pending) if (p.state === 'failed') room.chat.dismiss(p.localId);
  await room.chat.clear();

  // Streams.
  const sent: boolean = room.stream.send('token', { text: 'Fetch' });
  await room.stream.control('pause');
  await room.stream.control('resume');
  console.log(room.stream.events.length, room.executions['run-1']?.status);

  // Broadcast: ephemeral app events.
  const dragged: boolean = room.broadcast('dragging', { node: 'n3', x: 10 });
  room.broadcast('wave');
  const acked = await room.broadcast('reaction', '🎉', { self: true, ack: true });
  console.log(dragged, acked.type);
  // @ts-expect-error: with ack it is a promise, not a boolean
  const notSent: boolean = room.broadcast('reaction', '🎉', { ack: true });
  // @ts-expect-error: the event name is a string
  room.broadcast(42, {});

  // Crowds: the count, and the member list page by page.
  if (room.membersPartial) console.log(`${room.memberCount} here`);
  let page: MemberPage = await room.listMembers({ limit: 100 });
  while (page.next) page = await room.listMembers({ after: page.next });
  const everyone: number = page.count;
  // @ts-expect-error: after is a user id
  await room.listMembers({ after: 7 });
  console.log(everyone);

  // Errors carry the server's code.
  try {
    await client.request({ type: 'node_delete', room: 'workflow:42', node: 'missing' });
  } catch (error) {
    if (error instanceof TandemError && error.code === 'forbidden') console.log('not allowed:', error.message);
    else throw error;
  }
  client.send({ type: 'ping' });

  // Transports: WebSocket, then Server-Sent Events (the default), or SSE alone.
  const overSse = await connect(`${serverUrl}/ws`, { token, transports: ['sse'] });
  const carrier: TransportName | null = overSse.transport;
  overSse.on('state', (s) => { if (s.state === 'open') console.log(`connected over ${s.transport === 'sse' ? 'SSE' : 'WebSocket'}`); });
  // @ts-expect-error: only 'websocket' and 'sse'
  await connect(`${serverUrl}/ws`, { token, transports: ['long-polling'] });
  console.log(carrier);
  overSse.close();

  // Yjs documents over the same connection: @hocuspocus/provider's WebSocketPolyfill.
  const YjsSocket = tandemWebSocket(client);
  const yjsSocket: WebSocket = new YjsSocket('tandem:');
  yjsSocket.close();
  // @ts-expect-error: it takes a TandemClient, not a URL
  tandemWebSocket('ws://localhost:8080/ws');

  console.log(status, labels, loaded, sent, client.state.queued);
  off();
  await room.leave();
  client.close();
}
