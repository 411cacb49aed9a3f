// examples/react-app/src/RoomPage.tsx — one workflow room through tandem-client/react only: the
// connection, who is online (and their cursors over the board), the document's nodes each with
// its lock (a node's lock is the resource the server checks edits against: renames go with our
// fencing token while we hold it), and the chat.
import { useState, type CSSProperties, type FormEvent, type PointerEvent } from 'react';
import { TandemError, type DocNode } from 'tandem-client';
import {
  useChat, useConnection, useDocument, useLock, useOthers, usePresence, useRoom,
} from 'tandem-client/react';

// A TandemError as "code: message"; anything else as text.
const failure = (error: unknown): string =>
  error instanceof TandemError ? `${error.code}: ${error.message}` : String(error);

export function RoomPage({ room }: { room: string }) {
  const connection = useConnection();
  const joined = useRoom(room, { presence: { app: 'react' } });
  return (
    <>
      <h1>Tandem from React</h1>
      <p>
        Connection <span id="connection" className="status" data-status={connection.status}>
          {connection.status}{connection.transport ? ` · ${connection.transport}` : ''}
        </span>{' '}
        room <code id="room">{room}</code>{' '}
        <span id="room-status" className="status" data-status={joined.status}>{joined.status}</span>
      </p>
      <p id="error" className="error" role="alert">
        {(connection.error ?? joined.error) ? failure(connection.error ?? joined.error) : ''}
      </p>
      <div className="grid">
        <Presence room={room} />
        <Document room={room} />
        <Chat room={room} />
      </div>
    </>
  );
}

function Presence({ room }: { room: string }) {
  const { members, self, setPresence } = usePresence(room);
  const others = useOthers(room);
  const move = (event: PointerEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const x = Math.round(((event.clientX - box.left) / box.width) * 1000) / 1000;
    const y = Math.round(((event.clientY - box.top) / box.height) * 1000) / 1000;
    setPresence((previous) => ({ ...previous, cursor: { x, y } }));
  };
  return (
    <section>
      <h2>Online</h2>
      <ul id="members">
        {members.map((m) => (
          <li key={m.id} data-user={m.name} data-self={m.id === self?.id ? '' : undefined} data-connections={m.metas.length}
              style={{ '--color': m.color } as CSSProperties}>
            {m.name}
          </li>
        ))}
      </ul>
      <div id="board" onPointerMove={move}>
        <span className="hint">move the pointer here: the others see your cursor</span>
        {others.filter((o) => o.cursor).map((o) => (
          <span key={o.connection} className="cursor" data-user={o.name}
                style={{ left: `${o.cursor!.x * 100}%`, top: `${o.cursor!.y * 100}%`, '--color': o.color } as CSSProperties}>
            {o.name}
          </span>
        ))}
      </div>
    </section>
  );
}

function Document({ room }: { room: string }) {
  const doc = useDocument(room);
  const [label, setLabel] = useState('');
  const [error, setError] = useState('');
  const add = (event: FormEvent) => {
    event.preventDefault();
    const text = label.trim();
    if (!text) return;
    const node: DocNode = { id: `n-${crypto.randomUUID().slice(0, 8)}`, type: 'task', label: text };
    setLabel('');
    doc.createNode(node).then(() => setError(''), (e: unknown) => setError(failure(e)));
  };
  return (
    <section>
      <h2>Document {doc.loaded ? `(${doc.nodes.length} nodes)` : '(loading)'}</h2>
      <ul id="nodes">
        {doc.nodes.map((node) => <NodeRow key={node.id} room={room} node={node} />)}
      </ul>
      <form onSubmit={add}>
        <input id="node-label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="New node label" />
        <button id="add-node" type="submit">Add node</button>
      </form>
      <p className="error">{error}</p>
    </section>
  );
}

function NodeRow({ room, node }: { room: string; node: DocNode }) {
  const lock = useLock(room, node.id);
  const { updateNode } = useDocument(room);
  const [label, setLabel] = useState('');
  const [error, setError] = useState('');
  const holder = lock.status === 'mine' ? `locked by you (fence ${lock.fence})`
    : lock.holder ? `locked by ${lock.holder.name}`
    : lock.status === 'free' ? 'free' : `${lock.status}…`;
  const toggle = () => {
    setError('');
    const action = lock.heldByMe ? lock.release() : lock.acquire();
    action.catch((e: unknown) => setError(failure(e)));
  };
  const rename = (event: FormEvent) => {
    event.preventDefault();
    const text = label.trim();
    if (!text) return;
    updateNode(node.id, { label: text }, { fence: lock.heldByMe ? lock.fence : null })
      .then(() => { setLabel(''); setError(''); }, (e: unknown) => setError(failure(e)));
  };
  return (
    <li data-node={node.id}>
      <span>
        <span className="label">{node.label}</span>{' '}
        <span className="holder" data-status={lock.status}>{holder}</span>
        {lock.denied && <span className="denied"> · denied: {lock.denied.name} holds it</span>}
      </span>
      <button className="lock" type="button" onClick={toggle}
              disabled={lock.status === 'acquiring' || lock.status === 'releasing'}>
        {lock.heldByMe ? 'Unlock' : 'Lock'}
      </button>
      <form onSubmit={rename}>
        <input className="rename" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Rename to…" />
        <button className="rename-button" type="submit">Rename</button>
      </form>
      <span className="error">{error || (lock.error ? failure(lock.error) : '')}</span>
    </li>
  );
}

function Chat({ room }: { room: string }) {
  const chat = useChat(room);
  const [text, setText] = useState('');
  const send = (event: FormEvent) => {
    event.preventDefault();
    if (!text.trim()) return;
    chat.send(text.trim()).catch(() => {});  // a failure shows in chat.pending (state 'failed')
    setText('');
  };
  const typing = chat.typingUsers.map((t) => t.name);
  return (
    <section>
      <h2>Chat</h2>
      <ul id="chat">
        {chat.messages.map((m) => (
          <li key={m.seq} style={{ '--color': m.color } as CSSProperties}>
            <span className="who">{m.name}</span>: <span className="text">{m.text}</span>
          </li>
        ))}
        {chat.pending.map((p) => (
          <li key={`p${p.localId}`} data-pending={p.state}>
            <span className="text">{p.text}</span> ({p.state === 'failed' ? `failed: ${p.code}` : 'sending'})
          </li>
        ))}
      </ul>
      <p id="typing">{typing.length ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : ''}</p>
      <form onSubmit={send}>
        <input id="chat-input" value={text} placeholder="Say something"
               onChange={(e) => { setText(e.target.value); chat.typing(e.target.value !== ''); }} />
        <button id="chat-send" type="submit">Send</button>
      </form>
    </section>
  );
}
