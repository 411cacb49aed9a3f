// bench/peers/socketio-peer.mjs — a Socket.IO server with Tandem's room semantics, for
// bench/race.sh: what a team would write with Socket.IO. A client emits "join" (room) and gets
// "joined" (room) back, then emits "msg" (room, data); the server sends "msg" (data) to the
// room with io.to(room), so every member gets it, its sender included. WebSocket transport
// only (no long-polling), so a plain WebSocket client speaking engine.io v4 can drive it.
//
//   node bench/peers/socketio-peer.mjs [PORT]   (default 0: any free port) — prints "socketio-peer ready on port N"
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] ?? 0);
const http = createServer();
const io = new Server(http, { transports: ["websocket"], serveClient: false });

io.on("connection", (socket) => {
  socket.on("join", (room) => {
    if (typeof room !== "string") return;
    for (const joined of socket.rooms) if (joined !== socket.id) socket.leave(joined);
    socket.join(room);
    socket.emit("joined", room);
  });
  socket.on("msg", (room, data) => {
    if (socket.rooms.has(room)) io.to(room).emit("msg", data);
  });
});

http.listen(port, "127.0.0.1", () => console.log(`socketio-peer ready on port ${http.address().port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
