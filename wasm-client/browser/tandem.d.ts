// wasm-client/browser/tandem.d.ts — TypeScript declarations for tandem.mjs, written by hand
// from it (keep the two in step). Shapes follow PROTOCOL.md; fields the server may add later
// are allowed through index signatures where the module passes server objects on unchanged.

/** Any JSON value a room may carry (presence state, node fields, stream data). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Wire error codes (PROTOCOL.md §15) plus the module's own (invalid_config); open-ended. */
export type TandemErrorCode =
  | 'invalid_config' | 'closed' | 'timeout' | 'queue_full' | 'internal'
  | 'bad_json' | 'invalid_message' | 'unknown_type' | 'too_big' | 'unauthorized' | 'forbidden'
  | 'not_subscribed' | 'not_found' | 'conflict' | 'locked' | 'stale_fence' | 'limit_exceeded'
  | 'rate_limited'
  | (string & {});

/** A failed request or send: `code` is the server's (or the module's) error code. */
export class TandemError extends Error {
  constructor(code: TandemErrorCode, message?: string);
  readonly name: 'TandemError';
  code: TandemErrorCode;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What carries the connection: the WebSocket, or Server-Sent Events + POSTs (PROTOCOL.md §5.5). */
export type TransportName = 'websocket' | 'sse';

export interface UserInfo {
  id: string;
  name: string;
  color: string;
  [key: string]: Json;
}

/** client.state and every 'state' event: the session and its reconnect countdown. */
export interface StateSnapshot {
  state: ConnectionState;
  previous?: ConnectionState;
  /** Why the state changed (e.g. "stopped", "socket_closed", "heartbeat_timeout"). */
  cause: string;
  closeCode?: number;
  closeReason?: string;
  /** Reconnect attempt number (0 while connected). */
  attempt?: number;
  /** Messages waiting in the offline queue. */
  queued: number;
  /** Requests sent and not yet answered. */
  pending?: number;
  /** While reconnecting: the delay chosen, when it ends and how much of it is left. */
  retryDelayMs?: number;
  retryAt?: number;
  retryInMs?: number;
  /** While open: what the server's `connected` said. */
  connectionId?: string;
  heartbeatMs?: number;
  serverVersion?: string;
  user?: UserInfo;
  /** While open: what carries the connection. */
  transport?: TransportName;
  /** Closed by 4401 and a refreshToken callback is being asked for a new token. */
  refreshing?: boolean;
  /** The refreshToken callback failed or returned no token: the client stays closed. */
  refreshError?: string;
}

/** A server message, parsed. */
export interface ServerMessage {
  type: string;
  room?: string;
  [key: string]: unknown;
}

/** A message to send: an object (serialized with JSON.stringify) or JSON text. */
export type ClientMessage = { type: string; [key: string]: unknown } | string;

export interface Holder {
  user: string;
  name: string;
  color: string;
}

export interface PresenceMeta {
  connection: string;
  state: JsonObject;
}

export interface Member {
  id: string;
  name: string;
  color: string;
  metas: PresenceMeta[];
  [key: string]: unknown;
}

/** One page of room.listMembers(): `next` is absent on the last page. */
export interface MemberPage {
  members: Member[];
  count: number;
  next?: string;
}

export interface LockInfo extends Holder {
  fence: number;
  expiresAt: number;
}

export type Locks = Record<string, LockInfo>;

export interface LockAnswer {
  outcome: 'granted' | 'denied';
  fence: number;
  expiresAt: number;
  holder?: Holder;
}

export interface LockLost {
  room: string;
  resource: string;
  reason: string;
  fence: number;
  holder?: Holder;
  code?: string;
  message?: string;
}

export interface TakeoverRequest {
  room: string;
  resource: string;
  by: Holder;
  graceMs: number;
}

export type PresenceStatus = 'sent' | 'throttled' | 'deferred' | 'not_joined' | (string & {});

/** The server's acknowledgement of a request (its reply message). */
export interface Ack extends ServerMessage {}

export interface ChatMessage {
  user: string;
  name: string;
  color: string;
  text: string;
  seq: number;
  ts: number;
  [key: string]: unknown;
}

export interface PendingChat {
  localId: number;
  text: string;
  state: 'pending' | 'failed';
  code?: string;
  message?: string;
}

export interface TypingUser {
  user: string;
  name: string;
}

export interface RoomChat {
  /** The server's messages, oldest first (history on join, then live). */
  readonly messages: ChatMessage[];
  /** Ours, not yet acknowledged (queued offline or on the wire) or failed. */
  readonly pending: PendingChat[];
  readonly typingUsers: TypingUser[];
  send(text: string): Promise<Ack>;
  /** Forgets a failed pending message. */
  dismiss(localId: number): void;
  typing(active?: boolean): void;
  /** Clears the room's history (needs the chat:clear permission). */
  clear(): Promise<Ack>;
  /** Chat bots turned on in this room (history on join, then bot_toggled; room.on('bots')). */
  readonly bots: string[];
  /** Bot replies still growing, by reply id; a reply leaves when the bot's message carrying it arrives. */
  readonly partials: Map<string, BotPartial>;
  /** Turns a bot on or off for everyone (needs the chat:bots permission; not_found: no such bot). */
  toggleBot(bot: string, enabled: boolean): Promise<Ack>;
  /** Posts the prompt as our message and asks the bot (not_found when it is off here). */
  askBot(bot: string, prompt: string): Promise<Ack>;
  /** Asks the bot to end a growing reply (not_found when it has ended). */
  cancelBot(reply: string): Promise<Ack>;
}

/** A bot reply growing (chat_partial): the whole text so far. */
export interface BotPartial {
  reply: string;
  bot: string;
  text: string;
}

export interface DocNode {
  id: string;
  type?: string;
  label?: string;
  status?: string;
  data?: Json;
  [key: string]: unknown;
}

export interface DocEdge {
  id: string;
  from: string;
  to: string;
  [key: string]: unknown;
}

export interface FenceOption {
  /** The fence of the lock held on the node, when writing under a lock. */
  fence?: number | null;
}

export type DocChange =
  | { kind: 'snapshot' }
  | { kind: 'node'; id: string; user?: string; deleted?: true; published?: true }
  | { kind: 'edge'; id: string; user?: string; deleted?: true };

export interface RoomDoc {
  /** True once the first doc_snapshot arrived. */
  readonly loaded: boolean;
  readonly nodes: DocNode[];
  readonly edges: DocEdge[];
  node(id: string): DocNode | undefined;
  createNode(node: DocNode): Promise<Ack>;
  updateNode(id: string, fields: Partial<DocNode>, options?: FenceOption): Promise<Ack>;
  deleteNode(id: string, options?: FenceOption): Promise<Ack>;
  createEdge(edge: DocEdge): Promise<Ack>;
  deleteEdge(id: string): Promise<Ack>;
}

export interface StreamEvent {
  event: string;
  data?: Json;
  seq?: number;
  user?: string;
  [key: string]: unknown;
}

export type StreamAction = 'pause' | 'resume' | 'cancel' | (string & {});

export interface RoomStream {
  /** The latest stream events (at most 1000), replays after a rejoin included. */
  readonly events: StreamEvent[];
  /** Fire and forget; false when it could not be sent (offline queue full, closed). */
  send(event: string, data?: Json): boolean;
  control(action: StreamAction): Promise<Ack>;
}

export interface ExecutionUpdate {
  execution: string;
  status?: string;
  completed_nodes?: number;
  total_nodes?: number;
  seq?: number;
  [key: string]: unknown;
}

export interface StreamControlEvent {
  action: StreamAction;
  user: string;
}

/** A member's broadcast (PROTOCOL.md §12a) as room.on('broadcast') gets it. */
export interface BroadcastEvent {
  event: string;
  /** Absent when the sender sent none. */
  data?: Json;
  /** The sender, as chat names it. */
  user: string;
  name: string;
  color: string;
  /** The sender's connection id (equal to client.state.connectionId for our own, sent with self). */
  connection: string;
  [key: string]: unknown;
}

export interface BroadcastOptions {
  /** We receive it too (default false). */
  self?: boolean;
}

export interface RoomEvents {
  presence: Member[];
  locks: Locks;
  lockLost: LockLost;
  takeover: TakeoverRequest;
  chat: RoomChat;
  typing: TypingUser[];
  doc: DocChange;
  execution: ExecutionUpdate;
  stream: StreamEvent;
  streamControl: StreamControlEvent;
  broadcast: BroadcastEvent;
  /** Every room event the replica applied (seq-carrying: chat, node_*, edge_*, locked, ...). */
  event: RoomEventMessage;
  /** The bots turned on changed (a history snapshot or a bot_toggled event). */
  bots: string[];
}

/** A room event as the server sent it: in seq order, each once. */
export interface RoomEventMessage extends ServerMessage {
  room: string;
  seq: number;
  ts?: number;
}

export type RoomEventName = keyof RoomEvents;

export class TandemRoom {
  private constructor();
  readonly name: string;
  readonly chat: RoomChat;
  readonly doc: RoomDoc;
  readonly stream: RoomStream;
  /** Subscribes; returns the unsubscribe function. */
  on<E extends RoomEventName>(event: E, fn: (value: RoomEvents[E]) => void): () => void;
  /** In a crowd (membersPartial) only the users listed with listMembers() or known before. */
  readonly members: Member[];
  /** Users in the room (the server's count in a crowd). */
  readonly memberCount: number;
  /** True while the room is a crowd: joins and leaves are counted, not listed (PROTOCOL.md §7). */
  readonly membersPartial: boolean;
  /** One page of the member list in user id order; pass `next` as `after` for the next page. */
  listMembers(options?: { after?: string; limit?: number }): Promise<MemberPage>;
  readonly locks: Locks;
  /** The latest execution_update of each execution, by id. */
  readonly executions: Record<string, ExecutionUpdate>;
  /** Throttled in the core (50 ms, latest wins). Throws TandemError when refused. */
  setPresence(state: JsonObject): PresenceStatus;
  lock(resource: string, options?: { ttlMs?: number }): Promise<LockAnswer>;
  takeover(resource: string): Promise<LockAnswer>;
  unlock(resource: string): Promise<void>;
  /**
   * An ephemeral app event to the room's other members (never stored or replayed). Fire and
   * forget: true when sent, false when it could not go now (offline, rejoining, closed).
   * Throws TandemError for a bad event name or data (not JSON, over 32 KiB).
   */
  broadcast(event: string, data?: Json, options?: BroadcastOptions & { ack?: false }): boolean;
  /** The same, acked: resolves with the ack (queued while offline); rejects with a TandemError. */
  broadcast(event: string, data: Json | undefined, options: BroadcastOptions & { ack: true }): Promise<Ack>;
  leave(): Promise<void>;
}

export interface ClientEvents {
  state: StateSnapshot;
  message: ServerMessage;
}

export class TandemClient {
  private constructor();
  on<E extends keyof ClientEvents>(event: E, fn: (value: ClientEvents[E]) => void): () => void;
  readonly state: StateSnapshot;
  /** The browser WebSocket of the latest connection (undefined before the first, and over SSE); tandem-yjs.mjs carries Yjs documents over it. */
  readonly socket: WebSocket | undefined;
  /** What carries the open connection; null while not open. */
  readonly transport: TransportName | null;
  /** Fire and forget (queued while offline); throws TandemError when refused. */
  send(message: ClientMessage): void;
  /** Resolves with the server's reply; rejects with a TandemError carrying its code. */
  request<T extends ServerMessage = ServerMessage>(message: ClientMessage): Promise<T>;
  join(room: string, options?: { presence?: JsonObject }): Promise<TandemRoom>;
  close(): void;
  /** Called by connect(); only for clients built by hand. */
  start(tickMs?: number): void;
}

export interface ConnectOptions {
  /** A JWT from the server (GET /api/v1/dev/token in --dev, or your backend). */
  token?: string;
  /** How often the core's timers run, in ms (default 50). */
  tickMs?: number;
  /**
   * Asked for a new token when the server refuses the current one (close 4401); the client
   * then connects again with it (rooms rejoined, queued requests sent). At most 3 refreshes
   * in a row without an open connection between them; resolve null (or throw) to give up.
   */
  refreshToken?: () => Promise<string | null> | string | null;
  /**
   * The carriers to try, in order, each at most once (default ['websocket', 'sse']): the
   * next one is tried at once when one cannot connect; ['sse'] forces Server-Sent Events.
   * The URL is the WebSocket's either way. Anything else: TandemError 'invalid_config'.
   */
  transports?: TransportName[];
}

/**
 * Loads the wasm (once per page, from beside tandem.mjs) and starts a client for `url`
 * (ws://, wss://, http(s):// or a path such as "/ws"). Rejects with TandemError
 * 'invalid_config' for a bad URL, token or transports list.
 */
export function connect(url: string, options?: ConnectOptions): Promise<TandemClient>;

/** The instantiated WebAssembly core (shared by every client of the page). */
export function loadCore(): Promise<unknown>;
