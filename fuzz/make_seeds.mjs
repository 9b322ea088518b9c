// Regenerates the seed corpora under fuzz/corpus/ from what the official clients write: every
// hub message type through @microsoft/signalr's JsonHubProtocol and
// @microsoft/signalr-protocol-msgpack's MessagePackHubProtocol, the handshakes, the HTTP
// requests the client sends, JWTs, stockhub bodies and settings.
//   node fuzz/make_seeds.mjs
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonHubProtocol, MessageType } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, 'corpus');
function put(target, name, data) {
  const dir = path.join(root, target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data));
}

const complex = {
  String: 'hello world', IntArray: [1, 2, 3], ByteArray: new Uint8Array([1, 2, 3]),
  Guid: '00010203-0405-0607-0706-050403020100', DateTime: new Date(Date.UTC(2000, 0, 1)),
  Price: 12.5, Extra: { a: 1.5 },
};
const messages = {
  invocation: { type: MessageType.Invocation, invocationId: '1', target: 'Echo', arguments: ['hi'], streamIds: [] },
  nonblocking: { type: MessageType.Invocation, target: 'Subscribe', arguments: ['MSFT'], streamIds: [] },
  complex: { type: MessageType.Invocation, invocationId: '2', target: 'EchoComplexObject', arguments: [complex], streamIds: [] },
  headers: { type: MessageType.Invocation, invocationId: '3', target: 'Echo', arguments: ['x'], headers: { a: 'b' }, streamIds: [] },
  upload: { type: MessageType.Invocation, invocationId: '4', target: 'StreamingConcat', arguments: [], streamIds: ['5'] },
  stream_invocation: { type: MessageType.StreamInvocation, invocationId: '6', target: 'StreamStockPrices', arguments: [], streamIds: [] },
  stream_item: { type: MessageType.StreamItem, invocationId: '5', item: 'chunk' },
  completion_result: { type: MessageType.Completion, invocationId: '7', result: 42 },
  completion_error: { type: MessageType.Completion, invocationId: '8', error: 'Error: from callback' },
  completion_void: { type: MessageType.Completion, invocationId: '5' },
  cancel: { type: MessageType.CancelInvocation, invocationId: '6' },
  ping: { type: MessageType.Ping },
  close: { type: MessageType.Close, error: 'bye', allowReconnect: true },
  ack: { type: MessageType.Ack, sequenceId: 3 },
  sequence: { type: MessageType.Sequence, sequenceId: 1 },
};
const json = new JsonHubProtocol();
const msgpack = new MessagePackHubProtocol();
for (const [name, m] of Object.entries(messages)) {
  const jm = name === 'complex'
    ? { ...m, arguments: [{ ...complex, ByteArray: 'AQID', DateTime: '2000-01-01T00:00:00Z' }] }
    : m;
  put('json_protocol', name, json.writeMessage(jm));
  put('msgpack_protocol', name, new Uint8Array(msgpack.writeMessage(m)));
}
put('json_protocol', 'pipelined', Object.values(messages).slice(0, 6).map((m) => json.writeMessage(m.arguments?.[0] === complex ? messages.invocation : m)).join(''));
put('msgpack_protocol', 'pipelined', Buffer.concat(Object.values(messages).slice(6).map((m) => Buffer.from(msgpack.writeMessage(m)))));

for (const [name, text] of Object.entries({
  json: '{"protocol":"json","version":1}\x1e',
  messagepack: '{"protocol":"messagepack","version":1}\x1e',
  stateful: '{"protocol":"json","version":2}\x1e',
  extra: '{"version":1,"protocol":"json","extra":[1,{"a":null}]}\x1e',
})) put('handshake', name, text);

const token = (() => {
  const b64 = (s) => Buffer.from(s).toString('base64url');
  const input = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64('{"sub":"1","email":"admin@stockhub.local","role":["Admin","Trader"],"iss":"stockhub","aud":"stockhub-clients","iat":1700000000,"nbf":1700000000,"exp":9999999999,"jti":"x"}')}`;
  return `${input}.${crypto.createHmac('sha256', 'fuzzing-secret-fuzzing-secret-0123456789').update(input).digest('base64url')}`;
})();
put('jwt', 'token', `\x00${token}`);
put('jwt', 'payload', '\x01{"sub":"1","role":"Admin","iss":"stockhub","aud":["x","stockhub-clients"],"exp":9999999999,"nbf":1,"iat":1}');
put('jwt', 'header', '\x02{"alg":"HS256","kid":"k1","typ":"JWT"}');
put('jwt', 'bearer', `\x03Bearer ${token}\nBearer garbage\nid=x&access_token=${token}`);

const requests = {
  negotiate: 'POST /hubs/stocks/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: localhost:5000\r\nAuthorization: Bearer eyJ.x.y\r\nX-Requested-With: XMLHttpRequest\r\nX-SignalR-User-Agent: Microsoft SignalR/10.0 (10.0.11; Linux; NodeJS; 20)\r\nContent-Length: 0\r\n\r\n',
  websocket: 'GET /hubs/stocks?id=AAAAAAAAAAAAAAAAAAAAAA&access_token=eyJ.x.y HTTP/1.1\r\nHost: localhost:5000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://localhost:5000\r\n\r\n',
  sse: 'GET /hubs/stocks?id=AAAA HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n',
  poll: 'GET /hubs/stocks?id=AAAA&_=1700000000000 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n',
  send: 'POST /hubs/stocks?id=AAAA HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 32\r\n\r\n{"protocol":"json","version":1}\x1e',
  chunked: 'POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n',
  delete: 'DELETE /hubs/stocks?id=AAAA HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n',
};
for (const [name, text] of Object.entries(requests)) put('http_head', name, text);

for (const [name, text] of Object.entries({
  negotiate: '/hubs/stocks/negotiate?negotiateVersion=1&useStatefulReconnect=true',
  connect: '/hubs/stocks?id=AAAAAAAAAAAAAAAAAAAAAA&access_token=eyJ.x.y&_=1',
  encoded: '/hubs/st%6Fcks?access%5Ftoken=a%2Bb&id=x+y&ID=z\nhttp://localhost:5000',
  cookies: '/x?a=1\ntestCookie=testValue; a=b; =c; d',
})) put('url', name, text);

for (const [name, text] of Object.entries({
  login: '{"email":"trader@stockhub.local","password":"RfPRqqTIfmhM-nrHZETY"}',
  casing: '{"email":"  Trader@StockHub.LOCAL ","password":"x","extra":[1,2]}',
  refresh: '{"refreshToken":"abc_DEF-123"}',
  content_type: 'application/json; charset=utf-8',
})) put('login_body', name, text);

put('config', 'appsettings', fs.readFileSync(path.join(here, '..', 'apps', 'stockhub', 'appsettings.json')));
put('config', 'durations', '{"Stocks":{"TickInterval":"00:00:00.500","Symbols":["MSFT","AAPL"]},"Auth":{"AccessTokenLifetime":"1.02:03:04","ClockSkew":"30"},"Server":{"Threads":"2"},"SignalR":{"EnableDetailedErrors":"true"},"Cors":{"AllowedOrigins":"http://a,http://b"},"Logging":{"LogLevel":{"Default":"Warning"}}}');
// WebSocket client frames as the official clients send them (masked; the first byte of each seed
// picks the piece size the target feeds them in): a handshake, an invocation split in
// fragments with a ping between them, a binary message, a close.
function wsFrame(first, payload) {
  const body = Buffer.from(payload, 'latin1');
  const n = body.length;
  const head = n < 126 ? [first, 0x80 | n] : [first, 0x80 | 126, n >> 8, n & 0xff];
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  return Buffer.concat([Buffer.from(head), key, Buffer.from(body.map((b, i) => b ^ key[i & 3]))]);
}
const invocation = '{"type":1,"invocationId":"1","target":"Echo","arguments":["hi"]}\x1e';
put('websocket_frames', 'handshake', Buffer.concat([Buffer.from([0]), wsFrame(0x81, '{"protocol":"json","version":1}\x1e')]));
put('websocket_frames', 'fragments', Buffer.concat([Buffer.from([3]), wsFrame(0x01, invocation.slice(0, 10)),
  wsFrame(0x89, 'ping'), wsFrame(0x00, invocation.slice(10, 30)), wsFrame(0x80, invocation.slice(30))]));
put('websocket_frames', 'binary_close', Buffer.concat([Buffer.from([63]), wsFrame(0x82, '\x96\x01\x80\xa1\x31\xa4Echo\x91\xa2hi\x90'.repeat(20)),
  wsFrame(0x8a, ''), wsFrame(0x88, '\x03\xe8bye')]));
put('websocket_frames', 'utf8', Buffer.concat([Buffer.from([1]), wsFrame(0x01, 'caf\xc3'), wsFrame(0x80, '\xa9 \xe2\x82\xac')]));
// Redis backplane payloads as ASP.NET Core 10 publishes them (design/redis-backplane.md); the
// first byte picks the reader (0 invocation, 1 group command, 2 ack, 3 completion).
const fixstr = (t) => Buffer.concat([Buffer.from([0xa0 | t.length]), Buffer.from(t, 'latin1')]);
const str8 = (t) => (t.length < 32 ? fixstr(t) : Buffer.concat([Buffer.from([0xd9, t.length]), Buffer.from(t, 'latin1')]));
const bin8 = (b) => Buffer.concat([Buffer.from([0xc4, b.length]), b]);
const cid = 'KbUtgqxPVcHmTRU1G1_kgA';
const server = 'vm_1e903923a6d844e985bb70585974333d';
const rjson = Buffer.from('{"type":1,"target":"Message","arguments":["others#3-ebee33"]}\x1e', 'latin1');
const rmp = Buffer.concat([Buffer.from([0x1e, 0x96, 0x01, 0x80, 0xc0]), fixstr('Message'), Buffer.from([0x91]), fixstr('others#3-ebee33'), Buffer.from([0x90])]);
put('redis_payload', 'invocation', Buffer.concat([Buffer.from([0, 0x92, 0x91]), str8(cid), Buffer.from([0x82]), fixstr('json'), bin8(rjson), fixstr('messagepack'), bin8(rmp)]));
put('redis_payload', 'invocation_result', Buffer.concat([Buffer.from([0, 0x94, 0x90, 0x81]), fixstr('json'), bin8(rjson), str8('jawJ7eiTwUmgDLAfsYfALQ'), str8(`Hub:internal:return:${server}`)]));
put('redis_payload', 'group_command', Buffer.concat([Buffer.from([1, 0x95, 0x01]), str8(server), Buffer.from([0x01]), fixstr('remote-AB-0'), str8(cid)]));
put('redis_payload', 'ack', Buffer.from([2, 0x91, 0x01]));
put('redis_payload', 'completion', Buffer.concat([Buffer.from([3, 0x92]), fixstr('messagepack'), bin8(Buffer.concat([Buffer.from([0x1c, 0x95, 0x03, 0x80]), str8('jawJ7eiTwUmgDLAfsYfALQ'), Buffer.from([0x03, 0x2d])]))]));
// RESP as a subscriber connection reads it (first byte: piece size).
put('resp', 'subscriber', '\x05+OK\r\n*3\r\n$9\r\nsubscribe\r\n$7\r\nHub:all\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$7\r\nHub:all\r\n$3\r\n\x92\x90\x80\r\n');
put('resp', 'replies', '\x1f:1\r\n-ERR unknown command\r\n$-1\r\n*-1\r\n*2\r\n*1\r\n:2\r\n$0\r\n\r\n');
// stockhub's ticks between nodes, as a leader publishes them.
put('stockhub_tick', 'tick', JSON.stringify({ node: 'host_0123456789abcdef0123456789abcdef', term: 3, prices: [
  { s: 'MSFT', id: 1231, c: 41237, t: 1764705600123456 }, { s: 'AAPL', id: 1232, c: 19001, t: 1764705600123456 }] }));
put('stockhub_tick', 'edges', '{"node":"n","term":9223372036854775807,"prices":[{"s":"A","id":18446744073709551615,"c":1,"t":-62135596800000000}],"x":null}');
// stockhub's node figures, as each presence beat writes them.
put('stockhub_tick', 'node_figures', JSON.stringify({ node: 'host_0123456789abcdef0123456789abcdef', connections: 3,
  connectionsByTransport: { WebSockets: 2, LongPolling: 1 }, connectionsByProtocol: { json: 2, messagepack: 1 },
  connectedUsers: 2, messagesPerSecond: 12.5, ticksPerSecond: 2 }));
console.log(`seeds written under ${root}`);
