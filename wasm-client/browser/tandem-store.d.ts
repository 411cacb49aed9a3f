// wasm-client/browser/tandem-store.d.ts — the shapes the React hooks (tandem-react.d.ts) and the
// Vue composables (tandem-vue.d.ts) share: what tandem-store.mjs's snapshots hold. Written by
// hand from tandem-store.mjs (keep the two in step).
import type {
  Ack, ChatMessage, ConnectionState, DocEdge, DocNode, FenceOption, Holder, Json, JsonObject, LockAnswer,
  Locks, Member, PendingChat, PresenceStatus, StateSnapshot, StreamAction, StreamControlEvent, StreamEvent,
  TakeoverRequest, TandemClient, TandemRoom, TransportName, TypingUser, UserInfo,
} from './tandem';

/** tandem.mjs's connection states, and 'idle' before any connect. */
export type ConnectionStatus = ConnectionState | 'idle';

/** The connection as useConnection() / useTandem() show it. */
export interface ConnectionView {
  status: ConnectionStatus;
  /** What carries the open connection; null while not open. */
  transport: TransportName | null;
  /** Why there is no connection: connect() failed (invalid_config), or the token was refused (unauthorized). */
  error: Error | null;
  /** The latest client.state (a placeholder before the client exists). */
  state: StateSnapshot;
  client: TandemClient | null;
  /** Who we are, once connected. */
  user: UserInfo | null;
  connectionId: string | null;
}

export type RoomStatus = 'idle' | 'joining' | 'joined' | 'error';

export interface RoomView {
  name: string;
  status: RoomStatus;
  /** The join's failure (a TandemError: forbidden, ...), while status is 'error'. */
  error: Error | null;
  /** The joined TandemRoom (for anything the hooks do not cover), else null. */
  room: TandemRoom | null;
}

/** Another connection in the room (ours left out; a user with two tabs is two). */
export interface Other {
  connection: string;
  /** The user's id, name and colour. */
  id: string;
  name: string;
  color: string;
  /** That connection's presence state. */
  state: JsonObject;
  /** state.cursor when it holds numeric x and y, else null. */
  cursor: { x: number; y: number } | null;
}

export interface PresenceView<P extends JsonObject = JsonObject> {
  /** Every user in the room, ours included (tandem.mjs room.members). */
  members: Member[];
  memberCount: number;
  membersPartial: boolean;
  /** Our own user among the members, once it shows. */
  self: Member | undefined;
  others: Other[];
  /** Our presence state: the last one set (or given to the join). */
  presence: P;
}

/** Replaces our presence state (or maps the current one); before the join it is sent with it. */
export type SetPresence<P extends JsonObject = JsonObject> = (next: P | ((previous: P) => P)) => PresenceStatus;

/**
 * free: nobody holds it; acquiring / releasing: our request is on its way; mine: this
 * connection holds it; held: another connection does (`holder` says whose).
 */
export type LockStatus = 'free' | 'acquiring' | 'mine' | 'releasing' | 'held';

export interface LockView {
  status: LockStatus;
  heldByMe: boolean;
  holder: Holder | null;
  /** The fencing token of the lock in force (ours when heldByMe: pass it to document edits). */
  fence: number | null;
  expiresAt: number | null;
  /** Who held it when our last acquire was denied (cleared once it is free). */
  denied: Holder | null;
  /** The last acquire / release / takeover failure (a TandemError). */
  error: Error | null;
  /** Someone asked to take our lock over (we keep it for graceMs to save our work). */
  takeoverRequest: TakeoverRequest | null;
}

export interface LockActions {
  /** tandem.mjs room.lock: resolves granted or denied (renewed while held); rejects with a TandemError. */
  acquire(options?: { ttlMs?: number }): Promise<LockAnswer>;
  release(): Promise<void>;
  takeover(): Promise<LockAnswer>;
}

export interface DocumentActions {
  createNode(node: DocNode): Promise<Ack>;
  updateNode(id: string, fields: Partial<DocNode>, options?: FenceOption): Promise<Ack>;
  deleteNode(id: string, options?: FenceOption): Promise<Ack>;
  createEdge(edge: DocEdge): Promise<Ack>;
  deleteEdge(id: string): Promise<Ack>;
  node(id: string): DocNode | undefined;
}

export interface DocumentView {
  /** True once the document's snapshot arrived (workflow: rooms only). */
  loaded: boolean;
  nodes: DocNode[];
  edges: DocEdge[];
}

export interface ChatView {
  /** The server's messages, oldest first: the history sent on join, then live. */
  messages: ChatMessage[];
  /** Ours not yet acknowledged, or failed. */
  pending: PendingChat[];
  typingUsers: TypingUser[];
}

export interface ChatActions {
  send(text: string): Promise<Ack>;
  /** Call on every keystroke (sent at most once a second); typing(false) stops at once. */
  typing(active?: boolean): void;
  dismiss(localId: number): void;
  clear(): Promise<Ack>;
}

export interface StreamView {
  events: StreamEvent[];
  /**
   * The producer is paused: after our pause() was routed to it, or its own `paused` event, or
   * (as the producer) a pause it received; until a resume, cancel, `resumed`, `started`,
   * `cancelled` or `done`.
   */
  paused: boolean;
  /** As the producer: the last stream_control a consumer sent us. */
  lastControl: StreamControlEvent | null;
}

export interface StreamActions {
  /** As the producer: one stream event, fire and forget (false when it could not go). */
  send(event: string, data?: Json): boolean;
  control(action: StreamAction): Promise<Ack>;
  pause(): Promise<Ack>;
  resume(): Promise<Ack>;
  cancel(): Promise<Ack>;
}

/** Which stream events to keep: one event name or several (all when absent). */
export type StreamFilter = string | readonly string[];
