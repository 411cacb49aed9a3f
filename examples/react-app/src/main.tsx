// examples/react-app/src/main.tsx — signs in with a development token (tandem-server --dev:
// GET /api/v1/dev/token), then renders the room page under a <TandemProvider> that connects to
// /ws with it. ?name= (default React) and ?room= (default workflow:react-demo). StrictMode on:
// its double mount in development must neither join twice nor connect twice.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TandemProvider } from 'tandem-client/react';
import { RoomPage } from './RoomPage';
import './style.css';

const params = new URLSearchParams(location.search);
const name = params.get('name') ?? 'React';
const room = params.get('room') ?? 'workflow:react-demo';
const root = createRoot(document.getElementById('app')!);

async function devToken(): Promise<string> {
  const reply = await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}`);
  if (!reply.ok) throw new Error(`dev token: HTTP ${reply.status} (is the server in --dev?)`);
  return ((await reply.json()) as { token: string }).token;
}

devToken().then(
  (token) => root.render(
    <StrictMode>
      <TandemProvider url="/ws" options={{ token }}>
        <RoomPage room={room} />
      </TandemProvider>
    </StrictMode>),
  (error: unknown) => root.render(<p className="error" role="alert">{String(error)}</p>));
