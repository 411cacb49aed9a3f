// wasm-client/browser/tandem-react.d.ts — types of tandem-react.mjs (`tandem-client/react`),
// written by hand from it (keep the two in step). React >= 18.
import type { ReactElement, ReactNode } from 'react';
import type { ConnectOptions, JsonObject, TandemClient } from './tandem';
import type {
  ChatActions, ChatView, ConnectionView, DocumentActions, DocumentView, LockActions, LockView, Other,
  PresenceView, RoomView, SetPresence, StreamActions, StreamFilter, StreamView,
} from './tandem-store';

export type {
  ChatActions, ChatView, ConnectionStatus, ConnectionView, DocumentActions, DocumentView, LockActions, LockStatus,
  LockView, Other, PresenceView, RoomStatus, RoomView, SetPresence, StreamActions, StreamFilter, StreamView,
} from './tandem-store';

export type TandemProviderProps = { children?: ReactNode } & (
  /** The app's own client (from connect()); the provider never closes it. */
  | { client: TandemClient; url?: never; options?: never }
  /**
   * Connect to `url` (tandem.mjs connect(url, options)); a new url, token, transports or tickMs
   * makes a new connection; closed when the provider unmounts. refreshToken is always the
   * latest one given.
   */
  | { client?: never; url: string | null | undefined; options?: ConnectOptions }
);

/** The connection for the tree below it. */
export function TandemProvider(props: TandemProviderProps): ReactElement;

/** The connection: status, transport, error, the client. Re-renders on every state change. */
export function useConnection(): ConnectionView;

export interface UseRoomOptions {
  /** The first presence state, sent with the join (the first hook to join the room decides). */
  presence?: JsonObject;
}

/**
 * Holds `room` joined from mount to unmount (every hook naming it shares one join; left a task
 * after the last one unmounts). null or '': no room.
 */
export function useRoom(room: string | null | undefined, options?: UseRoomOptions): RoomView;

/** The room's members, the other connections and our own presence state with its setter. */
export function usePresence<P extends JsonObject = JsonObject>(
  room: string | null | undefined,
): PresenceView<P> & { setPresence: SetPresence<P> };

/** The room's other connections with their presence state and cursor. */
export function useOthers(room: string | null | undefined): Other[];

/** One lock of the room: its state and holder, our fencing token, acquire / release / takeover. */
export function useLock(room: string | null | undefined, resource: string | null | undefined): LockView & LockActions;

/** The workflow document of a workflow: room (tandem.mjs room.doc) and its edits. */
export function useDocument(room: string | null | undefined): DocumentView & DocumentActions;

/** The room's chat: history then live messages, ours pending, who is typing; send and typing. */
export function useChat(room: string | null | undefined): ChatView & ChatActions;

/** The event stream of an agent: room, only the events named `stream` when given, and paused. */
export function useStream(room: string | null | undefined, stream?: StreamFilter): StreamView & StreamActions;
