// Types of tandem-yjs.mjs: Yjs documents over a Tandem connection (PROTOCOL.md §19).
import type { TandemClient } from './tandem';

/**
 * A WebSocket look-alike class riding on `client`'s socket, for @hocuspocus/provider's
 * `HocuspocusProviderWebsocket({ url: 'tandem:', WebSocketPolyfill: tandemWebSocket(client) })`.
 * Each instance opens with the Tandem connection and closes when it goes down.
 */
export function tandemWebSocket(client: TandemClient): { new (url?: string | URL): WebSocket };
