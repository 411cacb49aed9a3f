// wasm-client/browser/tandem-vue.d.ts — types of tandem-vue.mjs (`tandem-client/vue`), written by
// hand from it (keep the two in step). Vue >= 3.3.
import type { ComputedRef, InjectionKey, MaybeRefOrGetter } from 'vue';
import type {
  ConnectOptions, JsonObject, ServerMessage, StateSnapshot, TandemClient, TandemRoom, TransportName, UserInfo,
} from './tandem';
import type {
  ChatActions, ChatView, ConnectionStatus, DocumentActions, DocumentView, LockActions, LockView, Other,
  PresenceView, RoomStatus, SetPresence, StreamActions, StreamFilter, StreamView,
} from './tandem-store';

export type {
  ChatActions, ChatView, ConnectionStatus, ConnectionView, DocumentActions, DocumentView, LockActions, LockStatus,
  LockView, Other, PresenceView, RoomStatus, RoomView, SetPresence, StreamActions, StreamFilter, StreamView,
} from './tandem-store';

/** Each field of T as a read-only ref. */
export type Refs<T> = { readonly [K in keyof T]: ComputedRef<T[K]> };

export interface UseTandemOptions extends ConnectOptions {
  /** The WebSocket URL or path (default "/ws"; tandem.mjs connect). */
  url?: string;
  /** The app's own client instead (never closed here). */
  client?: TandemClient;
  /** Connect at once (default: when url, token or client is given); else call connect(). */
  autoConnect?: boolean;
}

/** A handler of server messages (tandem.mjs client.on('message')), by message type. */
export type MessageHandler = (message: ServerMessage) => void;

export interface UseTandemReturn {
  // Connection
  status: ComputedRef<ConnectionStatus>;
  state: ComputedRef<StateSnapshot>;
  transport: ComputedRef<TransportName | null>;
  /** connect() failed, or the token was refused. */
  error: ComputedRef<Error | null>;
  user: ComputedRef<UserInfo | null>;
  client: ComputedRef<TandemClient | null>;
  isConnected: ComputedRef<boolean>;
  /** Connects (options merged over useTandem's; a new url or token makes a new connection). */
  connect(options?: Partial<UseTandemOptions>): void;
  /** Closes the connection (an app's own client is only let go). */
  disconnect(): void;

  // Messaging (the raw protocol, PROTOCOL.md; the room composables cover rooms)
  /** Fire and forget {type, ...data}; false when not connected. Throws TandemError for a refused message. */
  send(type: string, data?: Record<string, unknown>): boolean;
  /** {type, ...data} as a request: resolves with the reply; rejects with a TandemError. */
  request<T extends ServerMessage = ServerMessage>(type: string, data?: Record<string, unknown>): Promise<T>;
  /** handler for every server message of `type` ('*': every message), across reconnects, until off(). */
  on(type: string, handler: MessageHandler): void;
  off(type: string, handler: MessageHandler): void;
}

/** What useTandem() provides to its descendants (app.provide(TANDEM_KEY, tandem) works too). */
export const TANDEM_KEY: InjectionKey<UseTandemReturn>;

/**
 * The connection, provided to the component's descendants (and usable by the room composables
 * of the same component). Closed when the component's scope is disposed.
 */
export function useTandem(options?: UseTandemOptions): UseTandemReturn;

export interface RoomComposableOptions {
  /** A useTandem() that is neither provided above nor called in this component. */
  tandem?: UseTandemReturn;
}

export interface UseRoomOptions extends RoomComposableOptions {
  /** The first presence state, sent with the join (the first composable to join the room decides). */
  presence?: JsonObject;
}

/** A room name: a string, a ref or a getter; null or '': none. */
export type RoomName = MaybeRefOrGetter<string | null | undefined>;

export interface UseRoomReturn {
  name: ComputedRef<string>;
  status: ComputedRef<RoomStatus>;
  error: ComputedRef<Error | null>;
  room: ComputedRef<TandemRoom | null>;
}

/** Holds `room` joined while the scope lives (one join per room and useTandem). */
export function useRoom(room: RoomName, options?: UseRoomOptions): UseRoomReturn;

export function usePresence<P extends JsonObject = JsonObject>(
  room: RoomName, options?: UseRoomOptions,
): Refs<PresenceView<P>> & { setPresence: SetPresence<P> };

export function useOthers(room: RoomName, options?: UseRoomOptions): ComputedRef<Other[]>;

export function useLock(
  room: RoomName, resource: MaybeRefOrGetter<string | null | undefined>, options?: UseRoomOptions,
): Refs<LockView> & LockActions;

export function useDocument(room: RoomName, options?: UseRoomOptions): Refs<DocumentView> & DocumentActions;

export function useChat(room: RoomName, options?: UseRoomOptions): Refs<ChatView> & ChatActions;

export function useStream(
  room: RoomName, stream?: MaybeRefOrGetter<StreamFilter | undefined>, options?: UseRoomOptions,
): Refs<StreamView> & StreamActions;
