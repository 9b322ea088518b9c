// The Socket.IO peer: the same workload as the SignalR bench hub over Socket.IO (Engine.IO v4,
// WebSocket transport): `broadcast` is emitted to every socket (io.emit), `echo` is acknowledged
// with its payload. An HS256 JWT (issuer/audience "bench") is required in the handshake's auth
// payload, checked like the other peers check theirs.
//   node bench/peers/node/socketio-server.mjs --port 0 --hs256-key KEY
import crypto from 'node:crypto';
import http from 'node:http';
import { Server } from 'socket.io';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const port = Number(arg('--port') ?? 0);
const key = arg('--hs256-key');

function verify(token) {
  const parts = String(token ?? '').split('.');
  if (parts.length !== 3) return false;
  const mac = crypto.createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const sig = Buffer.from(parts[2], 'base64url');
  if (sig.length !== mac.length || !crypto.timingSafeEqual(sig, mac)) return false;
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  return header.alg === 'HS256' && claims.iss === 'bench' && claims.aud === 'bench' &&
    typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
}

const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
if (key) io.use((socket, next) => (verify(socket.handshake.auth?.token) ? next() : next(new Error('unauthorized'))));
io.on('connection', (socket) => {
  socket.on('broadcast', (payload) => io.emit('broadcast', payload));
  socket.on('echo', (payload, ack) => ack?.(payload));
});
server.listen(port, '127.0.0.1', () => console.log(`Now listening on: http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
