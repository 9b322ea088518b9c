// Attacks on hubcast itself (issue 11), at the wire level against hubcast-conformance: transport
// requests by another user, HTTP requests Kestrel refuses, ambiguous credentials, MessagePack and
// JSON bombs, values .NET cannot hold, a negotiate flood, running out of file descriptors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { encode, ExtData } from '@msgpack/msgpack';
import { connect, delay, raw, signalR, startServer, stopCleanly } from './helpers.mjs';

const RS = '\x1e';
let server;
before(async () => {
  server = await startServer(['--disconnect-timeout-ms', '3000']);
});
after(() => stopCleanly(server));

async function token(user) {
  const res = await fetch(`${server.url}/generateJwtToken?user=${user}&lifetime=120`);
  return res.text();
}

async function negotiate(t, extra = '') {
  const res = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1${extra}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${t}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).connectionToken;
}

function wsStatus(url, headers = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res) => resolve({ status: res.statusCode }));
    ws.on('open', () => resolve({ status: 101, ws }));
    ws.on('error', () => resolve({ status: 0 }));
  });
}

describe('a connection token is a capability of one user', () => {
  it('refuses long polling, sends and DELETE by another user with 403', async () => {
    const alice = await token('alice');
    const bob = await token('bob');
    const id = await negotiate(alice);
    const url = `${server.url}/authorizedhub?id=${encodeURIComponent(id)}`;
    const as = (t, init = {}) => fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${t}` } });
    assert.equal((await as(bob)).status, 403, "bob's first poll");
    assert.equal((await as(alice)).status, 200, "alice's first poll starts it");
    assert.equal((await as(bob, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` })).status, 403);
    assert.equal((await as(alice, { method: 'POST', body: `{"protocol":"json","version":1}${RS}` })).status, 200);
    assert.equal(await (await as(alice)).text(), `{}${RS}`);
    assert.equal((await as(bob)).status, 403, "bob's poll");
    assert.equal((await as(bob, { method: 'DELETE' })).status, 403);
    assert.equal((await as(alice, { method: 'DELETE' })).status, 202);
  });

  it('refuses the SSE stream and a WebSocket with an id by another user', async () => {
    const alice = await token('alice');
    const bob = await token('bob');
    let id = await negotiate(alice);
    const sse = await fetch(`${server.url}/authorizedhub?id=${encodeURIComponent(id)}`, {
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${bob}` },
    });
    assert.equal(sse.status, 403);
    id = await negotiate(alice);
    const base = `${server.url.replace('http', 'ws')}/authorizedhub?id=${encodeURIComponent(id)}`;
    assert.equal((await wsStatus(`${base}&access_token=${bob}`)).status, 403);
    const ok = await wsStatus(`${base}&access_token=${alice}`);
    assert.equal(ok.status, 101);
    ok.ws.close();
  });

  it('refuses a stateful reconnect by another user', async () => {
    const alice = await token('alice');
    const bob = await token('bob');
    const id = await negotiate(alice, '&useStatefulReconnect=true');
    const base = `${server.url.replace('http', 'ws')}/authorizedhub?id=${encodeURIComponent(id)}`;
    const first = await wsStatus(`${base}&access_token=${alice}`);
    assert.equal(first.status, 101);
    const handshook = new Promise((r) => first.ws.once('message', r));
    first.ws.send(`{"protocol":"json","version":2}${RS}`);
    assert.equal(String(await handshook), `{}${RS}`);
    first.ws.terminate(); // dropped without a close frame: the connection waits for a reconnect
    await delay(200);
    assert.equal((await wsStatus(`${base}&access_token=${bob}`)).status, 403);
    const again = await wsStatus(`${base}&access_token=${alice}`);
    assert.equal(again.status, 101, 'the owner still can');
    again.ws.close();
  });

  it('lets the official client of the same user refresh its token across transports', async () => {
    for (const transport of [signalR.HttpTransportType.LongPolling, signalR.HttpTransportType.ServerSentEvents]) {
      let n = 0;
      const c = connect(`${server.url}/authorizedhub`, { transport, accessTokenFactory: () => token(`carol`).finally(() => n++) });
      await c.start();
      assert.equal(await c.invoke('Echo', 'x'), 'x');
      assert.ok(n >= 1);
      await c.stop();
    }
  });
});

describe('HTTP requests Kestrel answers with 400', () => {
  const cases = {
    'no Host on HTTP/1.1': 'GET /testhub/negotiate HTTP/1.1\r\n\r\n',
    'two Host headers': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'an obs-fold line': 'GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n',
    'two differing Content-Length': 'POST /testhub/negotiate HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nxxxxx',
    'an encoded NUL in the path': 'GET /index.html%00.js HTTP/1.1\r\nHost: a\r\n\r\n',
    'an encoded CR LF in the path': 'GET /a%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: a\r\n\r\n',
    'a bad request line': 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
    'a Host with a space': 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
  };
  // Request smuggling: a final coding that is not chunked leaves the body's length unknown; the
  // Content-Length must not frame it (a request hidden in the "chunk" ran before).
  const hidden = 'GET /testhub/negotiate HTTP/1.1\r\nHost: a\r\n\r\n';
  for (const te of ['chunked, identity', 'identity', 'xchunked', 'gzip']) {
    cases[`smuggling: Transfer-Encoding ${te} beside a Content-Length`] =
      `POST /testhub/negotiate HTTP/1.1\r\nHost: a\r\nContent-Length: ${hidden.length}\r\n` +
      `Transfer-Encoding: ${te}\r\n\r\n${hidden}`;
  }
  for (const [name, bytes] of Object.entries(cases)) {
    it(`${name}: 400 and close`, async () => {
      const r = await raw(server.url, bytes);
      assert.equal(r.status, 400, r.data);
      assert.match(r.data, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.ok(r.closed, 'the connection is closed');
    });
  }
  it('smuggling: HTTP/1.0 with Transfer-Encoding is answered once, then the connection closes', async () => {
    const body = '0\r\n\r\n';
    const r = await raw(server.url, `POST /testhub/negotiate?negotiateVersion=1 HTTP/1.0\r\nConnection: keep-alive\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n${body}GET /testhub/negotiate HTTP/1.1\r\nHost: a\r\n\r\n`);
    assert.ok(r.closed, 'the connection is closed');
    assert.equal(r.data.match(/HTTP\/1\.[01] \d\d\d/g)?.length, 1, r.data);
  });
  it('an ordinary request on the same server still works', async () => {
    const r = await raw(server.url, 'POST /testhub/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200, r.data);
  });
});

describe('credentials', () => {
  it('refuses two Authorization headers (valid first, garbage second) with 401', async () => {
    const t = await token('alice');
    const auth = `Authorization: Bearer ${t}\r\n`;
    const req = (headers) =>
      `POST /authorizedhub/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: a\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`;
    assert.equal((await raw(server.url, req(auth))).status, 200, 'one header works');
    assert.equal((await raw(server.url, req(`${auth}Authorization: Bearer garbage\r\n`))).status, 401);
    assert.equal((await raw(server.url, req(`${auth}${auth}`))).status, 401);
    // Chunked trailer fields are not headers: a trailer Authorization authenticates nothing.
    const trailer = `POST /authorizedhub/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n${auth}Host: b\r\n\r\n`;
    assert.equal((await raw(server.url, trailer)).status, 401, 'a token in a trailer');
    const twice = `/authorizedhub/negotiate?negotiateVersion=1&access_token=${t}&access_token=x`;
    assert.equal((await fetch(`${server.url}${twice}`, { method: 'POST' })).status, 401);
  });
});

// A raw WebSocket hub connection (skip negotiation) with the given protocol.
async function rawHub(protocol) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/testhub`);
  await new Promise((r) => ws.on('open', r));
  const messages = [];
  const closed = new Promise((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => messages.push(Buffer.from(d)));
  ws.send(`{"protocol":"${protocol}","version":1}${RS}`);
  await new Promise((r) => {
    const poll = () => (messages.length ? r() : setTimeout(poll, 10));
    poll();
  });
  messages.shift(); // the handshake answer
  return { ws, messages, closed };
}

function varintFrame(body) {
  const len = [];
  let n = body.length;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    len.push(b);
  } while (n);
  return Buffer.concat([Buffer.from(len), Buffer.from(body)]);
}

describe('hub protocol input', () => {
  it('closes a MessagePack connection that declares 2^32-1 elements; nothing else is affected', async () => {
    const bystander = connect(`${server.url}/testhub`);
    await bystander.start();
    for (const bomb of [[0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff],
      [0x96, 0x01, 0x80, 0xc0, 0xa4, 0x45, 0x63, 0x68, 0x6f, 0xdd, 0xff, 0xff, 0xff, 0xff]]) {
      const h = await rawHub('messagepack');
      h.ws.send(varintFrame(bomb));
      assert.equal(await h.closed, 1000);
      const close = h.messages.find((m) => m.includes(0x07));
      assert.ok(close && close.toString('latin1').includes('Connection closed with an error.'), 'a Close message');
      assert.ok(close.toString('latin1').includes('InvalidDataException'), 'with the detail');
    }
    assert.equal(await bystander.invoke('Echo', 'still here'), 'still here');
    assert.equal(server.proc.exitCode, null);
    await bystander.stop();
  });

  it('closes a JSON connection nested deeper than System.Text.Json reads (64)', async () => {
    const deep = (n) => `{"type":1,"invocationId":"1","target":"Echo","arguments":[${'['.repeat(n)}${']'.repeat(n)}]}${RS}`;
    let h = await rawHub('json');
    h.ws.send(deep(62));
    await delay(200);
    assert.match(h.messages.map(String).join(''), /"type":3/, '64 levels: a binding error, not a close');
    h.ws.close();
    h = await rawHub('json');
    h.ws.send(deep(100000));
    assert.equal(await h.closed, 1000);
    assert.match(h.messages.map(String).join(''), /Connection closed with an error\. InvalidDataException/);
  });

  const complex = { String: 'x', IntArray: [1], ByteArray: 'AQID', Guid: '00010203-0405-0607-0706-050403020100', DateTime: '2000-01-01T00:00:00Z' };
  it('refuses invalid base64 and dates outside DateTime as binding errors (JSON)', async () => {
    const c = connect(`${server.url}/testhub`);
    await c.start();
    const back = await c.invoke('EchoComplexObject', complex);
    assert.equal(back.ByteArray, 'AQID');
    for (const bad of [{ ByteArray: 'AQ=' }, { ByteArray: '====' }, { ByteArray: 'AQ-_' },
      { DateTime: '0000-01-01T00:00:00Z' }, { DateTime: '2023-02-30T00:00:00Z' }]) {
      await assert.rejects(c.invoke('EchoComplexObject', { ...complex, ...bad }), /Error binding arguments|InvalidDataException/, JSON.stringify(bad));
    }
    assert.equal(await c.invoke('Echo', 'connection intact'), 'connection intact');
    await c.stop();
  });

  it('refuses MessagePack timestamps outside DateTime as binding errors', async () => {
    const ts96 = (sec) => {
      const b = Buffer.alloc(12);
      b.writeUInt32BE(0, 0);
      b.writeBigInt64BE(sec, 4);
      return new ExtData(-1, b);
    };
    for (const sec of [1n << 62n, -(1n << 63n), 253402300800000n, 253402300800n]) {
      const h = await rawHub('messagepack');
      const obj = { String: 'x', IntArray: [1], ByteArray: new Uint8Array([1]), Guid: complex.Guid, DateTime: ts96(sec) };
      h.ws.send(varintFrame(encode([1, {}, '7', 'EchoComplexObject', [obj], []])));
      await delay(150);
      const text = h.messages.map((m) => m.toString('latin1')).join('');
      assert.match(text, /Error binding argument/, `sec=${sec}`);
      h.ws.close();
    }
  });
});

describe('a negotiate flood', () => {
  it('caps negotiated connections waiting for a transport: 503 with Retry-After', async () => {
    const s = await startServer(['--max-pending-connections', '5', '--disconnect-timeout-ms', '1000']);
    try {
      const neg = () => fetch(`${s.url}/testhub/negotiate?negotiateVersion=1`, { method: 'POST' });
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await (await neg()).json()).connectionToken);
      const refused = await neg();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      // Starting one frees its place.
      assert.equal((await fetch(`${s.url}/testhub?id=${encodeURIComponent(ids[0])}`)).status, 200);
      assert.equal((await neg()).status, 200);
      assert.equal((await neg()).status, 503);
      // Unused ones go after the disconnect timeout, and with them the cap.
      await delay(2500);
      assert.equal((await neg()).status, 200);
      // The official client gets a clear error, not a hang.
      for (let i = 0; i < 5; i++) await neg();
      const c = connect(`${s.url}/testhub`);
      await assert.rejects(c.start(), /503/);
      assert.match(s.output(), /negotiate refused \(503\)/);
    } finally {
      await s.stop();
    }
  });
});

describe('running out of file descriptors', () => {
  // Not in the sanitizer build: with every descriptor in use, UBSan cannot open the pipe it
  // probes memory with and reports each virtual call as an "invalid vptr" (its own false
  // positive). The normal suite runs it.
  const sanitized = process.env.HUBCAST_SANITIZED === '1';
  it('warns once per second while accept fails with EMFILE, and accepts again afterwards', {
    timeout: 30000,
    skip: sanitized && 'the sanitizers themselves need free descriptors',
  }, async () => {
    const bin = path.join(process.env.HUBCAST_BIN ?? path.resolve('build/bin'), 'hubcast-conformance');
    const proc = spawn('bash', ['-c', `ulimit -n 48 && exec "${bin}" --urls http://127.0.0.1:0 --threads 1`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r(code ?? signal)));
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const url = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start: ${err}`)), 10000);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/Now listening on: (http:\/\/\S+)/);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
    const u = new URL(url);
    const sockets = [];
    try {
      for (let i = 0; i < 80; i++) {
        const s = net.connect(Number(u.port), u.hostname);
        s.on('error', () => {});
        sockets.push(s);
      }
      await delay(2600);
      const log = out + err;
      const warnings = log.match(/\[warning\] cannot accept connections: Too many open files/g) ?? [];
      assert.ok(warnings.length >= 2 && warnings.length <= 4, `${warnings.length} warnings in 2.6 s:\n${log}`);
      for (const s of sockets) s.destroy();
      sockets.length = 0;
      await delay(500);
      const res = await fetch(`${url}/testhub/negotiate?negotiateVersion=1`, { method: 'POST' });
      assert.equal(res.status, 200, 'accepting again once descriptors are free');
    } finally {
      for (const s of sockets) s.destroy();
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `graceful shutdown exits 0:\n${out}${err}`);
  });
});
