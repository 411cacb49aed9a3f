// examples/vue-app/vite.config.js — single-file components through @vitejs/plugin-vue. Relative
// asset URLs, so the build works under any path (the wasm is emitted into assets/). `npm run
// dev` proxies /ws and /api to a tandem-server in --dev (TANDEM_SERVER, default
// http://localhost:8080).
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const server = process.env.TANDEM_SERVER ?? 'http://localhost:8080';

export default defineConfig({
  base: './',
  build: { target: 'es2022' },
  plugins: [vue()],
  // tandem-client/vue imports vue from beside the package (build/tandem-pkg): one copy.
  resolve: { dedupe: ['vue'] },
  server: {
    proxy: {
      '/api': server,
      '/ws': { target: server, ws: true },
    },
  },
});
