// wasm-client/browser/tandem-yjs.mjs — Yjs documents over a Tandem connection (PROTOCOL.md §19,
// "Over the Tandem connection"): one socket for an app's rooms and its Yjs documents.
//
//   import { connect } from './tandem.mjs';
//   import { tandemWebSocket } from './tandem-yjs.mjs';
//   import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
//   const client = await connect('ws://host:8080/ws', { token });
//   const websocketProvider = new HocuspocusProviderWebsocket({
//     url: 'tandem:', WebSocketPolyfill: tandemWebSocket(client) });
//   const provider = new HocuspocusProvider({ websocketProvider, name: 'notes', document: ydoc });
//
// tandemWebSocket(client) is a WebSocket look-alike class for the provider's WebSocketPolyfill
// option. Each instance is one connection as the provider sees it: it opens when the Tandem
// connection is open (at once, or once it opens), hands the socket's binary messages to the
// provider and sends the provider's as binary messages on the same socket, and closes when the
// Tandem connection goes down — the provider then makes another, which opens with the next
// connection, authenticates and syncs again (nothing is queued meanwhile; Yjs needs nothing
// queued). Text messages stay the core's. The provider needs no token: its auth message goes
// with an empty one and the connection's own token decides (a token given must be the same
// user's). Outside tandem.mjs on purpose: pages without Yjs do not load it.

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export function tandemWebSocket(client) {
  return class TandemYjsSocket extends EventTarget {
    static CONNECTING = CONNECTING;
    static OPEN = OPEN;
    static CLOSING = 2;
    static CLOSED = CLOSED;

    readyState = CONNECTING;
    binaryType = 'arraybuffer';  // what the provider asks for; it is all this socket gives
    #socket = null;
    #stopFollowing;

    constructor() {
      super();
      this.#stopFollowing = client.on('state', (snapshot) => this.#follow(snapshot.state));
      // Events are the provider's from its next task on (it attaches listeners after new).
      setTimeout(() => this.#follow(client.state.state), 0);
    }

    send(data) {
      // As a browser WebSocket: an error while connecting; the provider only sends when open.
      if (this.readyState === CONNECTING) throw new DOMException('still connecting', 'InvalidStateError');
      if (this.readyState === OPEN && this.#socket.readyState === WebSocket.OPEN) this.#socket.send(data);
    }

    close(code = 1000, reason = '') { this.#end(code, reason); }

    #follow(state) {
      if (this.readyState === CONNECTING && state === 'open') {
        const socket = client.socket;
        if (!socket || socket.readyState !== WebSocket.OPEN) return;
        this.#socket = socket;
        socket.binaryType = 'arraybuffer';
        socket.addEventListener('message', this.#receive);
        this.readyState = OPEN;
        this.dispatchEvent(new Event('open'));
      } else if (this.readyState === OPEN && state !== 'open') {
        this.#end(1006, 'the Tandem connection went down');
      } else if (this.readyState === CONNECTING && state === 'closed') {
        this.#end(1006, 'the Tandem client is closed');
      }
    }

    #receive = (event) => {
      if (typeof event.data !== 'string') this.dispatchEvent(new MessageEvent('message', { data: event.data }));
    };

    #end(code, reason) {
      if (this.readyState === CLOSED) return;
      this.readyState = CLOSED;
      this.#stopFollowing();
      this.#socket?.removeEventListener('message', this.#receive);
      this.#socket = null;
      this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean: code === 1000 }));
    }
  };
}
