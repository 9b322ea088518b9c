// The official @microsoft/signalr client (+ @microsoft/signalr-protocol-msgpack) against
// hubcast-conformance: the foundation scenarios over every transport × protocol pair (SSE is
// text only), then what is specific to WebSockets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect as connectWith, delay, once, signalR, startProxy, startServer, stopCleanly, streamToArray } from './helpers.mjs';

let server;
let hub;

before(async () => {
  server = await startServer();
  hub = `${server.url}/testhub`;
});

after(() => stopCleanly(server));

it('runs with the official client it names', () => {
  // 11.0.0 by default; the previous major when HUBCAST_SIGNALR_CLIENT=10 (e2e.hub_matrix.signalr10).
  assert.equal(signalR.VERSION, process.env.HUBCAST_SIGNALR_CLIENT === '10' ? '10.0.11' : '11.0.0');
});

const pairs = [];
for (const [name, transport] of [
  ['WebSockets', signalR.HttpTransportType.WebSockets],
  ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents],
  ['LongPolling', signalR.HttpTransportType.LongPolling],
]) {
  pairs.push([name, transport, 'JSON']);
  if (name !== 'ServerSentEvents') pairs.push([name, transport, 'MessagePack']);
}

for (const [name, transport, protocolName] of pairs) {
const msgpack = protocolName === 'MessagePack';
const connect = (url, options = {}, configure = (b) => b) =>
  connectWith(url, { transport, ...options }, (b) =>
    configure(msgpack ? b.withHubProtocol(new MessagePackHubProtocol()) : b),
  );
const bindingError = (method) =>
  msgpack
    ? `Failed to invoke '${method}' due to an error on the server. InvalidDataException: Error binding argument 1. Make sure that the types of the provided values match the types of the hub method being invoked.`
    : `Failed to invoke '${method}' due to an error on the server. InvalidDataException: Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.`;

describe(`${name} + ${protocolName}`, () => {
describe('invocations', () => {
  it('echoes, sends and receives server-to-client calls', async () => {
    const c = connect(hub);
    await c.start();
    assert.equal(await c.invoke('Echo', 'hello'), 'hello');
    assert.equal(await c.invoke('echo', 'any case'), 'any case', 'method lookup ignores case');
    const message = once(c, 'Message');
    assert.equal(await c.invoke('InvokeWithString', 'hi there'), null, 'void methods answer null');
    assert.deepEqual(await message, ['hi there']);
    const custom = once(c, 'CustomObject');
    await c.send('SendCustomObject', { Name: 'n', Value: 42 });
    assert.deepEqual(await custom, [{ Name: 'n', Value: 42 }]);
    await c.stop();
  });

  it('returns the public connection id, never the token', async () => {
    const c = connect(hub);
    await c.start();
    const id = await c.invoke('GetCallerConnectionId');
    assert.equal(id, c.connectionId);
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    await c.stop();
  });

  it('reports the exact error texts', async () => {
    const c = connect(hub);
    await c.start();
    await assert.rejects(c.invoke('ThrowException', 'An error from the server'), {
      message:
        "An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: An error from the server",
    });
    await assert.rejects(c.invoke('NoSuchMethod'), {
      message: "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist.",
    });
    await assert.rejects(c.invoke('Echo', 1, 2), {
      message:
        "Failed to invoke 'Echo' due to an error on the server. InvalidDataException: Invocation provides 2 argument(s) but target expects 1.",
    });
    await assert.rejects(c.invoke('Echo', 5), { message: bindingError('Echo') });
    await assert.rejects(c.invoke('Stream'), {
      message: "The client attempted to invoke the streaming 'Stream' method with a non-streaming invocation.",
    });
    await assert.rejects(streamToArray(c, 'Echo', 'x'), {
      message: "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.",
    });
    assert.equal(await c.invoke('Echo', 'still open'), 'still open', 'errors keep the connection');
    await c.stop();
  });

  it('sees headers, query, cookies and the transport of its request', async () => {
    const c = connect(`${hub}?numRedirects=3`, { headers: { 'X-Custom': 'abc' } });
    await c.start();
    assert.equal(await c.invoke('GetHeader', 'X-Custom'), 'abc');
    assert.equal(await c.invoke('GetHeader', 'X-Missing'), null);
    assert.equal(await c.invoke('GetNumRedirects'), 3);
    assert.equal(await c.invoke('GetCookie', 'testCookie'), 'testValue', 'negotiate cookies replayed');
    assert.equal(await c.invoke('GetCookie', 'expiredCookie'), null);
    assert.equal(await c.invoke('GetActiveTransportName'), name);
    await c.stop();
  });

  it('round-trips complex objects', async () => {
    const c = connect(hub);
    await c.start();
    const fixed = await c.invoke('SendComplexObject');
    // Protocol-specific types: base64 and ISO 8601 in JSON; `bin` and the timestamp extension
    // in MessagePack.
    assert.deepEqual(fixed, {
      String: 'hello world',
      IntArray: [1, 2, 3],
      ByteArray: msgpack ? new Uint8Array([1, 2, 3]) : 'AQID',
      Guid: '00010203-0405-0607-0706-050403020100',
      DateTime: msgpack ? new Date(Date.UTC(2000, 0, 1)) : '2000-01-01T00:00:00Z',
    });
    assert.deepEqual(await c.invoke('EchoComplexObject', fixed), fixed);
    await c.stop();
  });
});

describe('streaming', () => {
  it('streams server to client and completes', async () => {
    const c = connect(hub);
    await c.start();
    assert.deepEqual(await streamToArray(c, 'Stream'), ['a', 'b', 'c']);
    assert.deepEqual(await streamToArray(c, 'EmptyStream'), []);
    await assert.rejects(streamToArray(c, 'StreamThrowException', 'boom'), {
      message:
        "An unexpected error occurred invoking 'StreamThrowException' on the server. InvalidOperationException: boom",
    });
    await c.stop();
  });

  it('cancels a server stream when the subscriber disposes', async () => {
    const c = connect(hub);
    await c.start();
    const canceled = once(c, 'StreamCanceled');
    const sub = c.stream('InfiniteStream').subscribe({ next() {}, error() {}, complete() {} });
    await delay(100);
    sub.dispose();
    await canceled;
    assert.equal(await c.invoke('Echo', 'after'), 'after');
    await c.stop();
  });

  it('streams client to server, with completion and with an error', async () => {
    const c = connect(hub);
    await c.start();
    const subject = new signalR.Subject();
    const result = c.invoke('StreamingConcat', subject);
    for (const s of ['a', 'b', 'c', 'd']) subject.next(s);
    subject.complete();
    assert.equal(await result, 'abcd');

    const failing = new signalR.Subject();
    const failed = c.invoke('StreamingConcat', failing);
    failing.next('x');
    failing.error(new Error('upload failed'));
    await assert.rejects(failed, /HubException: .*upload failed/);
    await c.stop();
  });

  it('applies back-pressure to big uploads without losing items', async () => {
    const c = connect(hub);
    await c.start();
    const subject = new signalR.Subject();
    const result = c.invoke('StreamingConcat', subject);
    let expected = '';
    for (let i = 0; i < 500; i++) {
      subject.next(String(i % 10));
      expected += String(i % 10);
    }
    subject.complete();
    assert.equal(await result, expected);
    await c.stop();
  });
});

describe('client results', () => {
  async function clientResult(c) {
    const res = await fetch(`${server.url}/clientresult/${c.connectionId}`);
    assert.equal(res.status, 200);
    return res.text();
  }

  it('returns the client value', async () => {
    const c = connect(hub);
    c.on('Result', () => 10);
    await c.start();
    assert.equal(await clientResult(c), '10');
    await c.stop();
  });

  it('returns the client error verbatim', async () => {
    const c = connect(hub);
    c.on('Result', () => {
      throw new Error('from callback');
    });
    await c.start();
    assert.equal(await clientResult(c), 'Error: from callback');
    await c.stop();
  });

  it('reports a missing handler', async () => {
    const c = connect(hub);
    await c.start();
    assert.equal(await clientResult(c), "Client didn't provide a result.");
    await c.stop();
  });
});

describe('connection lifecycle', () => {
  it('restarts after stop', async () => {
    const c = connect(hub);
    await c.start();
    const first = c.connectionId;
    await c.stop();
    await c.start();
    assert.notEqual(c.connectionId, first);
    assert.equal(await c.invoke('Echo', 'again'), 'again');
    await c.stop();
  });

  it('reconnects automatically after the TCP connection drops', async () => {
    const proxy = await startProxy(server.url);
    const c = connect(`${proxy.url}/testhub`, {}, (b) => b.withAutomaticReconnect([0, 100, 200]));
    await c.start();
    const first = c.connectionId;
    const reconnected = new Promise((r) => c.onreconnected(r));
    proxy.cutAll();
    await reconnected;
    assert.notEqual(c.connectionId, first);
    assert.equal(await c.invoke('Echo', 'back'), 'back');
    await c.stop();
    proxy.close();
  });

  it('follows negotiate redirects', async () => {
    const c = connect(`${server.url}/redirect?baseUrl=${encodeURIComponent(server.url)}`);
    await c.start();
    assert.ok((await c.invoke('GetNumRedirects')) >= 1);
    await c.stop();
  });

  it('fails start with the negotiate error body', async () => {
    const c = connect(`${server.url}/bad-negotiate`);
    await assert.rejects(c.start(), /Some response from server: Status code '400'/);
  });

  it('closes with an error when the hub cannot be created', async () => {
    // The Close arrives right behind the handshake response, so start() itself fails.
    const c = connect(`${server.url}/uncreatable`);
    await assert.rejects(c.start(), {
      message:
        'Server returned an error on close: Connection closed with an error. InvalidOperationException: This hub cannot be created.',
    });
  });

  it('closes the connection when a message exceeds 32 KB', async () => {
    const c = connect(hub);
    const closed = new Promise((r) => c.onclose(r));
    await c.start();
    c.invoke('Echo', 'x'.repeat(40 * 1024)).catch(() => {});
    const error = await closed;
    assert.match(
      String(error),
      /Server returned an error on close: Connection closed with an error\. InvalidDataException: The maximum message size of 32768B was exceeded/,
    );
  });
});

});
}

const connect = connectWith;

describe('WebSockets only', () => {
  it('skips negotiation', async () => {
    const c = connect(hub, { skipNegotiation: true });
    await c.start();
    assert.equal(await c.invoke('Echo', 'direct'), 'direct');
    const id = await c.invoke('GetCallerConnectionId');
    assert.match(id, /^[A-Za-z0-9_-]{22}$/, 'the server made a connection id');
    await c.stop();
  });
});

describe('raw connections', () => {
  it('echoes over a bare WebSocket and closes with 1000', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/echo`);
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    const reply = new Promise((r) => ws.once('message', (d, binary) => r([d.toString(), binary])));
    ws.send('ping me');
    assert.deepEqual(await reply, ['ping me', false]);
    const binReply = new Promise((r) => ws.once('message', (d, binary) => r([Buffer.from(d), binary])));
    ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await binReply, [Buffer.from([1, 2, 3]), true]);
    const code = new Promise((r) => ws.on('close', (c) => r(c)));
    ws.close(1000);
    assert.equal(await code, 1000);
  });

  it('echoes after negotiate with the official HttpConnection-level client', async () => {
    const res = await fetch(`${server.url}/echo/negotiate?negotiateVersion=1`, { method: 'POST' });
    const body = await res.json();
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/echo?id=${body.connectionToken}`);
    await new Promise((r) => ws.on('open', r));
    const reply = new Promise((r) => ws.once('message', (d) => r(d.toString())));
    ws.send('negotiated');
    assert.equal(await reply, 'negotiated');
    ws.close(1000);
  });
});

describe('HTTP status codes (signalr-protocol.md §3.1)', () => {
  it('answers the connection endpoints like the reference server', async () => {
    let res = await fetch(`${hub}/negotiate`, { method: 'GET' });
    assert.equal(res.status, 405);
    res = await fetch(`${hub}/negotiate?negotiateVersion=abc`, { method: 'POST' });
    assert.deepEqual(await res.json(), { error: 'The client requested a non-integer protocol version.' });
    res = await fetch(`${hub}/negotiate`, { method: 'POST' });
    const v0 = await res.json();
    assert.equal(v0.negotiateVersion, 0);
    assert.equal(v0.connectionToken, undefined);
    res = await fetch(hub, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'Connection ID required');
    res = await fetch(`${hub}?id=nope`, { method: 'POST' });
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'No Connection with that ID');
    res = await fetch(hub, { method: 'PUT' });
    assert.equal(res.status, 405);
    res = await fetch(`${server.url}/nothing-here`);
    assert.equal(res.status, 404);
    assert.equal(res.statusText, 'Not Found');
  });

  it('refuses a second WebSocket for the same connection with 409', async () => {
    const res = await fetch(`${hub}/negotiate?negotiateVersion=1`, { method: 'POST' });
    const { connectionToken } = await res.json();
    const wsUrl = `${hub.replace('http', 'ws')}?id=${connectionToken}`;
    const first = new WebSocket(wsUrl);
    await new Promise((r) => first.on('open', r));
    const second = new WebSocket(wsUrl);
    const status = await new Promise((r) => second.on('unexpected-response', (req, res) => r(res.statusCode)));
    assert.equal(status, 409);
    first.close(1000);
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${hub}/negotiate`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://example.com');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });
});
