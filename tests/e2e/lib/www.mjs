// tests/e2e/lib/www.mjs — the built web root (TANDEM_WWW_DIR) for browser tests: checks that
// the wasm build produced it, and can serve it to a page without any server process.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',  // required by WebAssembly.instantiateStreaming
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

// The web root from the environment, or an Error that says how to build it.
export function requireWebRoot() {
  const dir = process.env.TANDEM_WWW_DIR;
  if (!dir) throw new Error('TANDEM_WWW_DIR is not set (ctest sets it; or export it by hand)');
  for (const file of ['tandem_core.wasm', 'tandem_core.js', 'tandem.mjs', 'index.html']) {
    if (!existsSync(join(dir, file))) {
      throw new Error(
        `${join(dir, file)} is missing: the browser files come from the WebAssembly build, a ` +
        `separate CMake build dir. Build it first:\n` +
        `  cmake --preset wasm -B build/wasm -DTANDEM_WWW_DIR=${dir} && cmake --build build/wasm`);
    }
  }
  return dir;
}

// Answers every request under `origin` from `dir` (404 when absent). `pages` maps extra
// paths to inline HTML, for test pages that are not part of web/.
export async function serveWebRoot(page, origin, dir, pages = {}) {
  await page.route(`${origin}/**`, async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname);
    if (pages[path] !== undefined) {
      return route.fulfill({ status: 200, contentType: contentTypes['.html'], body: pages[path] });
    }
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(normalize(dir))) return route.fulfill({ status: 403, body: 'forbidden' });
    try {
      const body = await readFile(file);
      return route.fulfill({ status: 200, contentType: contentTypes[extname(file)] ?? 'application/octet-stream', body });
    } catch {
      return route.fulfill({ status: 404, body: 'not found' });
    }
  });
}
