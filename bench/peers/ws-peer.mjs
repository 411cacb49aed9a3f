// bench/peers/ws-peer.mjs — a node `ws` server with Tandem's room semantics, for bench/race.sh:
// what a team would write with `ws`. A client sends {"type":"join","room"} (answered
// {"type":"joined","room"}), then {"type":"msg","room","data"}; each msg goes, as the same
// text, to every member of the room, its sender included. A client is in one room at a time.
//
//   node bench/peers/ws-peer.mjs [PORT]     (default 0: any free port) — prints "ws-peer ready on port N"
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 0);
const rooms = new Map(); // room name -> Set of sockets

const wss = new WebSocketServer({ host: "127.0.0.1", port });

function leave(ws) {
  const members = rooms.get(ws.room);
  if (!members) return;
  members.delete(ws);
  if (members.size === 0) rooms.delete(ws.room);
}

wss.on("connection", (ws) => {
  ws.on("message", (raw, isBinary) => {
    if (isBinary) return;
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (message.type === "join" && typeof message.room === "string") {
      leave(ws);
      ws.room = message.room;
      if (!rooms.has(ws.room)) rooms.set(ws.room, new Set());
      rooms.get(ws.room).add(ws);
      ws.send(JSON.stringify({ type: "joined", room: ws.room }));
    } else if (message.type === "msg" && message.room === ws.room) {
      // Relayed as received (ws's README broadcast): the same buffer to each member, as text.
      for (const member of rooms.get(ws.room)) member.send(raw, { binary: false });
    }
  });
  ws.on("close", () => leave(ws));
});

wss.on("listening", () => console.log(`ws-peer ready on port ${wss.address().port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
