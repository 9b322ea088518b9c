// The Node floor of the broadcast benchmark: a raw `ws` server; every text frame a client sends
// is sent to every client (the sender included). No protocol, no auth.
//   node bench/peers/node/ws-server.mjs --port 0   (prints "Now listening on: http://127.0.0.1:PORT")
import { WebSocketServer, WebSocket } from 'ws';

const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
wss.on('listening', () => console.log(`Now listening on: http://127.0.0.1:${wss.address().port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
