// examples/vite-app/vite.config.js — relative asset URLs, so the build works under any path
// (the wasm is emitted into assets/ beside the bundle). `npm run dev` proxies /ws and /api to
// a tandem-server in --dev (TANDEM_SERVER, default http://localhost:8080).
import { defineConfig } from 'vite';

const server = process.env.TANDEM_SERVER ?? 'http://localhost:8080';

export default defineConfig({
  base: './',
  build: { target: 'es2022' },
  server: {
    proxy: {
      '/api': server,
      '/ws': { target: server, ws: true },
    },
  },
});
