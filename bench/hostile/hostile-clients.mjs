// bench/hostile/hostile-clients.mjs — opens many hostile connections to one tandem-server and
// keeps them as they are, for bench/hostile_rss.sh to measure the server's memory. Kinds (an
// equal share each):
//   silent     TCP connected, never a byte
//   slowloris  a request head trickled one header line every 2 s, never finished
//   anonymous  upgraded to WebSocket without a token, never authenticating
//   preauth    upgraded without a token, then a text frame announced at 1 MiB of which just
//              under max_preauth_bytes (16 KiB) is sent: the most an unauthenticated client
//              can make the server buffer
// Usage: node hostile-clients.mjs PORT COUNT. Prints "open N" once every connection is in
// place, then "alive N" every second (connections the server has not closed yet).
import net from 'node:net';
import crypto from 'node:crypto';

const [port, count] = [Number(process.argv[2]), Number(process.argv[3])];
const kinds = ['silent', 'slowloris', 'anonymous', 'preauth'];
const upgrade = 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

// A masked text frame header announcing `length` bytes, then `sent` bytes of its payload.
function partialFrame(length, sent) {
  const head = Buffer.alloc(14);
  head[0] = 0x81;
  head[1] = 0x80 | 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  crypto.randomFillSync(head, 10, 4);
  const payload = Buffer.alloc(sent, 0x20);
  for (let i = 0; i < sent; i++) payload[i] ^= head[10 + (i % 4)];
  return Buffer.concat([head, payload]);
}

let opened = 0;
let alive = 0;
const trickled = [];
function open(i) {
  return new Promise((resolve) => {
    const kind = kinds[i % kinds.length];
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      opened++;
      alive++;
      if (kind === 'slowloris') { socket.write('GET /ws HTTP/1.1\r\n'); trickled.push(socket); }
      if (kind === 'anonymous') socket.write(upgrade);
      if (kind === 'preauth') socket.write(Buffer.concat([Buffer.from(upgrade), partialFrame(1 << 20, 16000)]));
      resolve();
    });
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => { if (opened) alive--; });
    socket.setTimeout(0);
  });
}

for (let i = 0; i < count; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, k) => open(i + k)));
}
console.log(`open ${opened}`);
let line = 0;
setInterval(() => {
  for (const socket of trickled) if (!socket.destroyed) socket.write(`X-Slow-${line}: x\r\n`);
  line++;
  console.log(`alive ${alive}`);
}, 1000);
