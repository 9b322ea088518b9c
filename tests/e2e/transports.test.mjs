// Server-Sent Events and long polling at the wire level (signalr-protocol.md §3.3, §3.4), transport
// fallback, and one broadcast reaching clients on every transport.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, delay, signalR, startServer, stopCleanly } from './helpers.mjs';

const RS = '\x1e';
let server;
before(async () => {
  server = await startServer(['--long-poll-timeout-ms', '1000', '--disconnect-timeout-ms', '1500']);
});
after(() => stopCleanly(server));

async function negotiate(path = '/testhub') {
  const res = await fetch(`${server.url}${path}/negotiate?negotiateVersion=1`, { method: 'POST' });
  return (await res.json()).connectionToken;
}

describe('long polling', () => {
  it('answers the first poll at once, then delivers, times out, and ends with DELETE', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    let res = await fetch(`${url}&_=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '', 'the first poll only starts the connection');
    res = await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
    assert.equal(res.status, 200);
    res = await fetch(`${url}&_=2`);
    assert.equal(await res.text(), `{}${RS}`);
    // Several records in one poll body.
    await fetch(url, {
      method: 'POST',
      body: `{"type":1,"invocationId":"1","target":"Echo","arguments":["a"]}${RS}{"type":1,"invocationId":"2","target":"Echo","arguments":["b"]}${RS}`,
    });
    await delay(50);
    res = await fetch(`${url}&_=3`);
    assert.equal(
      await res.text(),
      `{"type":3,"invocationId":"1","result":"a"}${RS}{"type":3,"invocationId":"2","result":"b"}${RS}`,
    );
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    // Nothing to send: 200 empty after the poll timeout (1 s here), no pings on long polling.
    const t0 = Date.now();
    res = await fetch(`${url}&_=4`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    assert.ok(Date.now() - t0 >= 900);
    // DELETE releases the pending poll with 204 and disposes the connection.
    const pending = fetch(`${url}&_=5`);
    await delay(100);
    res = await fetch(url, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal((await pending).status, 204);
    res = await fetch(url, { method: 'POST', body: `{"type":6}${RS}` });
    assert.equal(res.status, 404);
  });

  it('a newer poll supersedes the pending one with 204', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    await fetch(url);
    const first = fetch(`${url}&_=a`);
    await delay(100);
    const second = fetch(`${url}&_=b`);
    assert.equal((await first).status, 204);
    await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
    assert.equal(await (await second).text(), `{}${RS}`);
    await fetch(url, { method: 'DELETE' });
  });

  it('disposes a connection whose client stopped polling', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    await fetch(url);
    await delay(3000);
    const res = await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
    assert.equal(res.status, 404);
  });

  it('refuses to change transports and DELETE on other transports', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    await fetch(url);
    const sse = await fetch(url, { headers: { Accept: 'text/event-stream' } });
    assert.equal(sse.status, 400);
    assert.equal(await sse.text(), 'Cannot change transports mid-connection');
    await fetch(url, { method: 'DELETE' });
  });
});

describe('server-sent events', () => {
  it('flushes the preamble at once and sends one event per drain', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    const controller = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-cache,no-store');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pred) => {
      while (!pred(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    };
    await readUntil((t) => t.startsWith(':\r\n'));
    await fetch(url, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` });
    await readUntil((t) => t.includes(`data: {}${RS}\r\n\r\n`));
    await fetch(url, { method: 'POST', body: `{"type":1,"invocationId":"1","target":"Echo","arguments":["x"]}${RS}` });
    await readUntil((t) => t.includes('"result":"x"'));
    assert.ok(text.includes(`data: {"type":3,"invocationId":"1","result":"x"}${RS}\r\n\r\n`));
    const del = await fetch(url, { method: 'DELETE' });
    assert.equal(del.status, 400);
    assert.equal(await del.text(), 'Cannot terminate this connection using the DELETE endpoint.');
    controller.abort();
  });

  it('refuses MessagePack over SSE in the handshake', async () => {
    const id = await negotiate();
    const url = `${server.url}/testhub?id=${id}`;
    const controller = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    const reader = res.body.getReader();
    await reader.read();
    await fetch(url, { method: 'POST', body: `{"protocol":"messagepack","version":1}${RS}` });
    let text = '';
    while (!text.includes('error')) text += new TextDecoder().decode((await reader.read()).value);
    assert.ok(
      text.includes(
        "Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format.",
      ) || text.includes("The protocol 'messagepack' is not supported."),
    );
    controller.abort();
  });
});

describe('fallback and mixing', () => {
  it('falls back when the endpoint refuses WebSockets', async () => {
    const c = connect(`${server.url}/testhub-nowebsockets`, {
      transport: signalR.HttpTransportType.WebSockets | signalR.HttpTransportType.LongPolling,
    });
    await c.start();
    assert.equal(await c.invoke('GetActiveTransportName'), 'LongPolling');
    await c.stop();
    const d = connect(`${server.url}/testhub-nowebsockets`, { transport: undefined });
    await d.start();
    assert.equal(await d.invoke('GetActiveTransportName'), 'ServerSentEvents');
    await d.stop();
    const ws = await fetch(`${server.url}/testhub-nowebsockets/negotiate?negotiateVersion=1`, { method: 'POST' });
    assert.deepEqual(
      (await ws.json()).availableTransports.map((t) => t.transport),
      ['ServerSentEvents', 'LongPolling'],
    );
  });

  it('one broadcast reaches every transport and both protocols alike', async () => {
    const kinds = [
      [signalR.HttpTransportType.WebSockets, false],
      [signalR.HttpTransportType.ServerSentEvents, false],
      [signalR.HttpTransportType.LongPolling, false],
      [signalR.HttpTransportType.WebSockets, true],
      [signalR.HttpTransportType.LongPolling, true],
    ];
    const clients = kinds.map(([transport, mp]) =>
      connect(`${server.url}/testhub`, { transport }, (b) => (mp ? b.withHubProtocol(new MessagePackHubProtocol()) : b)),
    );
    const got = clients.map(() => []);
    clients.forEach((c, i) => c.on('Broadcast', (m) => got[i].push(m)));
    await Promise.all(clients.map((c) => c.start()));
    for (let m = 0; m < 20; m++) await clients[m % clients.length].invoke('SendToAll', `m${m}`);
    const want = Array.from({ length: 20 }, (_, m) => `m${m}`);
    for (let i = 0; i < 50 && !got.every((g) => g.length === 20); i++) await delay(50);
    got.forEach((g) => assert.deepEqual(g, want));
    await Promise.all(clients.map((c) => c.stop()));
  });

  it('raw /echo works over SSE and long polling through the official HttpConnection flow', async () => {
    for (const accept of ['text/event-stream', undefined]) {
      const id = await negotiate('/echo');
      const url = `${server.url}/echo?id=${id}`;
      if (accept) {
        const controller = new AbortController();
        const res = await fetch(url, { headers: { Accept: accept }, signal: controller.signal });
        const reader = res.body.getReader();
        await reader.read();
        await fetch(url, { method: 'POST', body: 'hello raw' });
        let text = '';
        while (!text.includes('hello raw')) text += new TextDecoder().decode((await reader.read()).value);
        assert.ok(text.includes('data: hello raw\r\n\r\n'));
        controller.abort();
      } else {
        await fetch(url);
        await fetch(url, { method: 'POST', body: 'hello poll' });
        const res = await fetch(url);
        assert.equal(await res.text(), 'hello poll');
        await fetch(url, { method: 'DELETE' });
      }
    }
  });
});
