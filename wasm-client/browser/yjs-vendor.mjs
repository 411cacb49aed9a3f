// wasm-client/browser/yjs-vendor.mjs — what the demo's shared notes panel (web/notes.js) takes
// from npm: Yjs and @hocuspocus/provider (over the page's Tandem connection: tandem-yjs.mjs;
// y-websocket stays for apps that connect to /yjs/{doc}, as the interop tests do). The wasm build bundles this entry with esbuild from
// the repo's node_modules into the web root as vendor/yjs.mjs (one ES module, minified), so the
// page loads Yjs from the server itself and shares one copy between the provider and the panel
// (two copies of yjs in one page break its instanceof checks).
export * as Y from 'yjs';
export { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
