// examples/vite-app/src/main.ts — signs in with a development token (tandem-server --dev),
// connects, joins a room (?room=, default vite:demo) and shows the connection state and the
// members. The page is served from the tandem-server it talks to (same origin: /ws, /api).
import { connect, TandemError, type Member, type StateSnapshot } from 'tandem-client';

declare global {
  interface Window {
    // For tests: ms from navigation start to the first `open`, and the joined room.
    tandemExample?: { connectedMs?: number; joined?: string; user?: string };
  }
}

const params = new URLSearchParams(location.search);
const name = params.get('name') ?? 'Vite';
const roomName = params.get('room') ?? 'vite:demo';
const stateEl = document.querySelector<HTMLElement>('#state')!;
const membersEl = document.querySelector<HTMLUListElement>('#members')!;
const errorEl = document.querySelector<HTMLElement>('#error')!;
document.querySelector('#room')!.textContent = roomName;
const info: NonNullable<Window['tandemExample']> = (window.tandemExample = {});

function showState(s: StateSnapshot): void {
  if (s.state === 'open' && info.connectedMs === undefined) info.connectedMs = performance.now();
  if (s.user) info.user = s.user.id;
  stateEl.dataset.state = s.state;
  stateEl.textContent = s.state === 'reconnecting'
    ? `reconnecting in ${Math.ceil((s.retryInMs ?? 0) / 1000)} s (${s.queued} queued)`
    : s.state;
}

function showMembers(members: Member[]): void {
  membersEl.replaceChildren(...members.map((m) => {
    const li = document.createElement('li');
    li.textContent = m.name;
    li.dataset.user = m.id;
    li.style.setProperty('--color', m.color);
    return li;
  }));
}

async function main(): Promise<void> {
  const reply = await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}`);
  if (!reply.ok) throw new Error(`dev token: HTTP ${reply.status} (is the server in --dev?)`);
  const { token } = (await reply.json()) as { token: string };
  const client = await connect('/ws', { token });
  client.on('state', showState);
  showState(client.state);
  const room = await client.join(roomName, { presence: { page: 'vite-example' } });
  room.on('presence', showMembers);
  showMembers(room.members);
  info.joined = room.name;
}

main().catch((error: unknown) => {
  errorEl.textContent = error instanceof TandemError ? `${error.code}: ${error.message}` : String(error);
});
