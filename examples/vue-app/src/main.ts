// examples/vue-app/src/main.ts — signs in with a development token (tandem-server --dev:
// GET /api/v1/dev/token), then mounts the app, whose root connects to /ws with it (useTandem).
// ?name= (default Vue) and ?room= (default workflow:vue-demo).
import { createApp, h } from 'vue';
import App from './App.vue';
import './style.css';

const params = new URLSearchParams(location.search);
const name = params.get('name') ?? 'Vue';
const room = params.get('room') ?? 'workflow:vue-demo';

async function devToken(): Promise<string> {
  const reply = await fetch(`/api/v1/dev/token?name=${encodeURIComponent(name)}`);
  if (!reply.ok) throw new Error(`dev token: HTTP ${reply.status} (is the server in --dev?)`);
  return ((await reply.json()) as { token: string }).token;
}

devToken().then(
  (token) => createApp(App, { token, room }).mount('#app'),
  (error: unknown) => createApp({ render: () => h('p', { class: 'error', role: 'alert' }, String(error)) }).mount('#app'));
