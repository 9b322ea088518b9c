// Keep-alive, client timeout and handshake timeout at the wire level (signalr-protocol.md §9),
// with short intervals configured on the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, delay, startServer, stopCleanly } from './helpers.mjs';

const RS = '\x1e';
let server;

before(async () => {
  server = await startServer([
    '--keep-alive-ms', '500', '--client-timeout-ms', '1500', '--handshake-timeout-ms', '500',
  ]);
});
after(() => stopCleanly(server));

function open(path = '/testhub') {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}`);
  const records = [];
  let waiters = [];
  ws.on('message', (d) => {
    for (const r of d.toString().split(RS).filter(Boolean)) records.push(JSON.parse(r));
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
  });
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  return {
    ws,
    records,
    closed,
    opened: new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    }),
    async next(pred, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const i = records.findIndex(pred);
        if (i >= 0) return records.splice(i, 1)[0];
        if (Date.now() > end) throw new Error('timed out waiting for a record');
        await Promise.race([new Promise((r) => waiters.push(r)), delay(50)]);
      }
    },
  };
}

describe('timeouts', () => {
  it('sends nothing before the handshake response, then pings when idle', async () => {
    const c = open();
    await c.opened;
    c.ws.send(`{"protocol":"json","version":1}${RS}`);
    const first = await c.next(() => true);
    assert.deepEqual(first, {}, 'the handshake response comes first');
    const ping = await c.next((r) => r.type === 6, 3000);
    assert.deepEqual(ping, { type: 6 });
    c.ws.close(1000);
  });

  it('closes a client that stops pinging, allowing reconnect', async () => {
    const c = open();
    await c.opened;
    c.ws.send(`{"protocol":"json","version":1}${RS}{"type":6}${RS}`);
    const close = await c.next((r) => r.type === 7, 5000);
    assert.deepEqual(close, {
      type: 7,
      error:
        "Connection closed with an error. OperationCanceledException: Client hasn't sent a message/ping within the configured ClientTimeoutInterval.",
      allowReconnect: true,
    });
    assert.equal(await c.closed, 1000);
  });

  it('keeps a pinging client open past the timeout', async () => {
    const c = open();
    await c.opened;
    c.ws.send(`{"protocol":"json","version":1}${RS}{"type":6}${RS}`);
    for (let i = 0; i < 6; i++) {
      await delay(400);
      c.ws.send(`{"type":6}${RS}`);
    }
    assert.equal(c.records.filter((r) => r.type === 7).length, 0);
    c.ws.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":["alive"]}${RS}`);
    assert.deepEqual(await c.next((r) => r.type === 3), { type: 3, invocationId: '1', result: 'alive' });
    c.ws.close(1000);
  });

  it('cancels a handshake that never comes', async () => {
    const c = open();
    await c.opened;
    const r = await c.next(() => true, 3000);
    assert.deepEqual(r, { error: 'Handshake was canceled.' });
    assert.equal(await c.closed, 1000);
  });

  it('the official client stays connected with server pings', async () => {
    const conn = connect(`${server.url}/testhub`, {}, (b) => b.withServerTimeout(1500).withKeepAliveInterval(400));
    await conn.start();
    await delay(2500);
    assert.equal(conn.state, 'Connected');
    assert.equal(await conn.invoke('Echo', 'ok'), 'ok');
    await conn.stop();
  });
});
