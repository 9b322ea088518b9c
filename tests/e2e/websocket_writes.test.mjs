// The WebSocket write path under pressure (docs/architecture.md, "Write path"): the server frames
// its messages itself and writes them straight to the socket, while its reader answers pings and
// closes. A client that stops reading, pings in the middle of a flood, or closes mid-flood must
// see every frame whole and in order.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, delay, startServer, stopCleanly } from './helpers.mjs';

const RS = '\x1e';
let server;
before(async () => {
  server = await startServer();
});
after(() => stopCleanly(server));

function open() {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/testhub`);
  const records = [];
  ws.on('message', (d) => {
    for (const r of d.toString().split(RS).filter(Boolean)) records.push(JSON.parse(r));
  });
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  const opened = new Promise((r, j) => {
    ws.on('open', r);
    ws.on('error', j);
  });
  return { ws, records, closed, opened };
}

async function until(pred, ms = 10000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await delay(10);
  }
}

describe('WebSocket writes', () => {
  it('a client that stops reading gets every completion, in order, with its pong in between', async () => {
    const c = open();
    await c.opened;
    c.ws.send(`{"protocol":"json","version":1}${RS}`);
    await until(() => c.records.length === 1);
    c.records.length = 0;
    let pongs = 0;
    c.ws.on('pong', (d) => {
      assert.equal(d.toString(), 'mid-flood');
      pongs++;
    });
    // Stop reading: the server's kernel buffer fills and its writer must wait for writability.
    c.ws._socket.pause();
    const payload = 'x'.repeat(2000);
    const n = 1500;
    let batch = '';
    for (let i = 1; i <= n; i++) {
      batch += `{"type":1,"invocationId":"${i}","target":"Echo","arguments":["${i}:${payload}"]}${RS}`;
      if (i % 100 === 0) {
        c.ws.send(batch);
        batch = '';
      }
      if (i === 700) c.ws.ping('mid-flood');
    }
    await delay(300);
    c.ws._socket.resume();
    await until(() => c.records.length >= n && pongs === 1);
    assert.equal(c.records.length, n);
    c.records.forEach((r, k) => {
      assert.equal(r.type, 3);
      assert.equal(r.invocationId, String(k + 1));
      assert.equal(r.result, `${k + 1}:${payload}`);
    });
    c.ws.close(1000);
    assert.equal(await c.closed, 1000);
  });

  it('a client that closes mid-flood gets the close handshake and the server keeps serving', async () => {
    const c = open();
    await c.opened;
    c.ws.send(`{"protocol":"json","version":1}${RS}`);
    await until(() => c.records.length === 1);
    let batch = '';
    for (let i = 1; i <= 2000; i++) {
      batch += `{"type":1,"invocationId":"${i}","target":"Echo","arguments":["${'y'.repeat(500)}"]}${RS}`;
      if (i % 40 === 0) {
        c.ws.send(batch);  // under the 32 KB maximum receive message size
        batch = '';
      }
    }
    c.ws.close(1000, 'bye');
    assert.equal(await c.closed, 1000);
    const conn = connect(`${server.url}/testhub`);
    await conn.start();
    assert.equal(await conn.invoke('Echo', 'still here'), 'still here');
    await conn.stop();
  });

  it('a broadcast reaches every client as whole frames', async () => {
    const clients = [];
    for (let i = 0; i < 20; i++) {
      const conn = connect(`${server.url}/testhub`);
      const got = [];
      conn.on('Broadcast', (m) => got.push(m));
      await conn.start();
      clients.push({ conn, got });
    }
    const sender = clients[0].conn;
    for (let i = 0; i < 200; i++) sender.send('SendToAll', `m${i}`);
    await until(() => clients.every((c) => c.got.length === 200));
    for (const c of clients) {
      assert.deepEqual(c.got, Array.from({ length: 200 }, (_, i) => `m${i}`));
      await c.conn.stop();
    }
  });
});
