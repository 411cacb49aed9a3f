// examples/react-app/vite.config.js — JSX through Vite's built-in esbuild transform (the
// automatic runtime: no @vitejs/plugin-react, so no Babel; Fast Refresh is the only thing that
// plugin would add, `npm run dev` reloads the page instead). Relative asset URLs, so the build
// works under any path (the wasm is emitted into assets/). `npm run dev` proxies /ws and /api to
// a tandem-server in --dev (TANDEM_SERVER, default http://localhost:8080).
import { defineConfig } from 'vite';

const server = process.env.TANDEM_SERVER ?? 'http://localhost:8080';

export default defineConfig({
  base: './',
  build: { target: 'es2022' },
  esbuild: { jsx: 'automatic' },
  // tandem-client/react imports react from beside the package (build/tandem-pkg): one copy.
  resolve: { dedupe: ['react', 'react-dom'] },
  server: {
    proxy: {
      '/api': server,
      '/ws': { target: server, ws: true },
    },
  },
});
