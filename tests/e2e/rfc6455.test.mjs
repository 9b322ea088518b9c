// RFC 6455 conformance of hubcast's WebSocket frame layer, modeled on Autobahn|Testsuite
// sections 1-7 and 9: a raw client sends frames over plain TCP and over TLS, to the bare echo
// endpoint (/echo, no hub protocol) and to a hub (/testhub, after the JSON handshake), and
// checks the bytes the server answers with. Every case runs on all four; the answers are
// Kestrel's (ASP.NET Core's ManagedWebSocket + SignalR's WebSocket transport) unless
// docs/security.md says otherwise. Masks are deterministic (a counter), so a failure replays.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { delay, startListening, stockhubDir } from './helpers.mjs';

const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
const RS = '\x1e';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';  // RFC 6455 §1.3's sample nonce
const LIMIT = 1024 * 1024;  // the frame layer's message limit (1 MiB)
let server;
let urls;

before(async () => {
  const dir = stockhubDir('rfc6455-');
  execFileSync(path.join(binDir, 'stockhub'), ['dev-certs', `--Database:Path=${dir}/u.db`]);
  server = await startListening(path.join(binDir, 'hubcast-conformance'), [
    '--urls', 'https://127.0.0.1:0;http://127.0.0.1:0',
    '--https-cert', `${dir}/stockhub-dev.crt`, '--https-key', `${dir}/stockhub-dev.key`]);
  for (let i = 0; i < 200 && !urls; i++) {
    const https = server.output().match(/Now listening on: (https:\/\/\S+)/)?.[1];
    const http = server.output().match(/Now listening on: (http:\/\/\S+)/)?.[1];
    if (https && http) urls = { plain: new URL(http), tls: new URL(https) };
    else await delay(20);
  }
  assert.ok(urls, server.output());
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0);
});

let maskCounter = 0;
// A client frame: `first` is the first header byte (FIN, RSV, opcode); masked unless told.
function frame(first, payload = Buffer.alloc(0), { masked = true } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = body.length;
  const bit = masked ? 0x80 : 0;
  let head;
  if (n < 126) head = Buffer.from([first, bit | n]);
  else if (n <= 0xffff) head = Buffer.from([first, bit | 126, n >> 8, n & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = bit | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  if (!masked) return Buffer.concat([head, body]);
  const key = Buffer.alloc(4);
  key.writeUInt32BE((++maskCounter * 2654435761) >>> 0);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = body[i] ^ key[i & 3];
  return Buffer.concat([head, key, out]);
}
const closeFrame = (code, reason = Buffer.alloc(0)) => {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code);
  return frame(0x88, Buffer.concat([p, Buffer.from(reason)]));
};

// A raw WebSocket: the server's frames as they arrive, and whether the connection closed.
async function open(scheme, target) {
  const url = urls[scheme];
  const sock = scheme === 'tls'
    ? tls.connect({ host: '127.0.0.1', port: Number(url.port), rejectUnauthorized: false })
    : net.connect(Number(url.port), '127.0.0.1');
  await new Promise((r, j) => sock.once(scheme === 'tls' ? 'secureConnect' : 'connect', r).once('error', j));
  sock.setNoDelay(true);
  sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const c = { sock, frames: [], ended: false, buf: Buffer.alloc(0), head: null };
  sock.on('data', (d) => {
    c.buf = Buffer.concat([c.buf, d]);
    if (!c.head) {
      const end = c.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      c.head = c.buf.subarray(0, end).toString();
      c.buf = c.buf.subarray(end + 4);
    }
    for (;;) {
      if (c.buf.length < 2) return;
      let len = c.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (c.buf.length < 4) return;
        len = c.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (c.buf.length < 10) return;
        len = Number(c.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (c.buf.length < off + len) return;
      c.frames.push({ first: c.buf[0], masked: !!(c.buf[1] & 0x80), opcode: c.buf[0] & 0x0f,
        payload: Buffer.from(c.buf.subarray(off, off + len)) });
      c.buf = c.buf.subarray(off + len);
    }
  });
  sock.on('close', () => (c.ended = true));
  sock.on('error', () => {});
  await until(() => c.head);
  assert.match(c.head, /^HTTP\/1.1 101/);
  assert.match(c.head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  return c;
}

async function until(pred, ms = 8000, what = 'condition') {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
}

const dataFrames = (c) => c.frames.filter((f) => f.opcode === 1 || f.opcode === 2);
const records = (c) => dataFrames(c)
  .flatMap((f) => f.payload.toString().split(RS).filter(Boolean).map((r) => JSON.parse(r)));
const completions = (c) => records(c).filter((r) => r.type === 3);

// The two endpoints: how to start, how to send a message and see it come back.
const endpoints = {
  echo: {
    target: '/echo',
    async start(c) {},
    // The payload as one frame (or the given frames); it comes back whole, same opcode.
    async roundTrip(c, bytes, { binary = false, frames } = {}) {
      const before = dataFrames(c).length;
      c.sock.write(frames ?? frame(binary ? 0x82 : 0x81, bytes));
      await until(() => dataFrames(c).length > before, 10000, 'the echo');
      const got = dataFrames(c)[before];
      assert.equal(got.opcode, binary ? 2 : 1);
      assert.equal(got.first & 0xf0, 0x80, 'FIN set, no reserved bits');
      assert.equal(got.masked, false, 'server frames are not masked');
      assert.ok(got.payload.equals(Buffer.from(bytes)), 'echoed unchanged');
    },
  },
  hub: {
    target: '/testhub',
    async start(c) {
      c.sock.write(frame(0x81, `{"protocol":"json","version":1}${RS}`));
      await until(() => records(c).length >= 1, 8000, 'the handshake');
      assert.deepEqual(records(c)[0], {});
    },
    // `bytes` is a string sent as the argument of Echo; it comes back in the completion.
    async roundTrip(c, arg, { frames } = {}) {
      const before = completions(c).length;
      c.sock.write(frames ?? frame(0x81, invocation(arg)));
      await until(() => completions(c).length > before, 10000, 'the completion');
      assert.equal(completions(c)[before].result, arg);
    },
  },
};
const invocation = (arg) => `{"type":1,"invocationId":"${++maskCounter}","target":"Echo","arguments":["${arg}"]}${RS}`;

async function ready(scheme, ep) {
  const c = await open(scheme, endpoints[ep].target);
  await endpoints[ep].start(c);
  return c;
}

// The one close frame the server sent (its code), then the end of the connection.
async function closedWith(c, code) {
  await until(() => c.frames.some((f) => f.opcode === 8), 8000, `close ${code}`);
  const close = c.frames.find((f) => f.opcode === 8);
  assert.equal(close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 0, code);
  assert.equal(close.first, 0x88);
  await until(() => c.ended, 8000, 'the TCP close');
  assert.equal(c.frames.filter((f) => f.opcode === 8).length, 1, 'one close frame');
  const afterClose = c.frames.slice(c.frames.findIndex((f) => f.opcode === 8) + 1);
  assert.equal(afterClose.length, 0, 'nothing after the close frame');
  return close;
}

// A violation: the close code the server answers with, then it keeps serving others.
async function refused(scheme, ep, bytes, code) {
  const c = await ready(scheme, ep);
  c.sock.write(bytes);
  await closedWith(c, code);
  const d = await ready(scheme, ep);
  await endpoints[ep].roundTrip(d, ep === 'echo' ? 'still here' : 'still here');
  d.sock.destroy();
}

const bad = (bytes) => Buffer.from(bytes);

for (const scheme of ['plain', 'tls']) {
  for (const ep of ['echo', 'hub']) {
    describe(`RFC 6455 over ${scheme === 'tls' ? 'TLS' : 'plain TCP'}, ${endpoints[ep].target}`, () => {
      // 1.1, 1.2: payload sizes (the hub's messages are bounded by its 32 KB receive limit).
      const sizes = ep === 'echo' ? [0, 1, 125, 126, 127, 65535, 65536, LIMIT] : [0, 125, 126, 30000];
      it(`text and binary payloads of ${sizes.join(', ')} bytes`, { timeout: 60000 }, async () => {
        const c = await ready(scheme, ep);
        for (const n of sizes) {
          if (ep === 'echo') {
            if (n > 0) await endpoints.echo.roundTrip(c, Buffer.alloc(n, 'a'));  // an empty echo sends nothing
            await endpoints.echo.roundTrip(c, Buffer.alloc(Math.max(n, 1), 0xfe), { binary: true });
          } else {
            await endpoints.hub.roundTrip(c, 'x'.repeat(n));
          }
        }
        c.sock.destroy();
      });

      // 5.x: fragmentation.
      it('a message in fragments, with a ping and an unsolicited pong between them', async () => {
        const c = await ready(scheme, ep);
        const whole = ep === 'echo' ? Buffer.from('fragmented message, whole again') : Buffer.from(invocation('frag'));
        const frames = Buffer.concat([
          frame(0x01, whole.subarray(0, 5)), frame(0x89, 'between'), frame(0x00, whole.subarray(5, 9)),
          frame(0x8a, 'unsolicited'), frame(0x00, Buffer.alloc(0)), frame(0x80, whole.subarray(9)),
        ]);
        if (ep === 'echo') await endpoints.echo.roundTrip(c, whole, { frames });
        else await endpoints.hub.roundTrip(c, 'frag', { frames });
        const pongs = c.frames.filter((f) => f.opcode === 0xa);
        assert.equal(pongs.length, 1, 'the ping is answered once, the pong is not');
        assert.equal(pongs[0].payload.toString(), 'between');
        c.sock.destroy();
      });

      it('a message in single-byte fragments, and a frame written one byte at a time', async () => {
        const c = await ready(scheme, ep);
        const whole = ep === 'echo' ? Buffer.from('abcdefghij') : Buffer.from(invocation('bytes'));
        const parts = [];
        for (let i = 0; i < whole.length; i++)
          parts.push(frame((i === 0 ? 0x01 : 0x00) | (i === whole.length - 1 ? 0x80 : 0), whole.subarray(i, i + 1)));
        if (ep === 'echo') await endpoints.echo.roundTrip(c, whole, { frames: Buffer.concat(parts) });
        else await endpoints.hub.roundTrip(c, 'bytes', { frames: Buffer.concat(parts) });
        const one = ep === 'echo' ? frame(0x81, 'y'.repeat(300)) : frame(0x81, invocation('y'.repeat(300)));
        const before = ep === 'echo' ? dataFrames(c).length : completions(c).length;
        for (const b of one) {
          c.sock.write(Buffer.from([b]));
          await delay(0);
        }
        await until(() => (ep === 'echo' ? dataFrames(c).length : completions(c).length) > before);
        c.sock.destroy();
      });

      // 2.x: pings and pongs.
      it('pings of 0 and 125 bytes are answered with their payload; a pong needs no answer', async () => {
        const c = await ready(scheme, ep);
        // One at a time: pings that arrive together may get one pong, for the latest (RFC 6455
        // §5.5.3 allows it; it bounds what a ping flood costs).
        c.sock.write(frame(0x89));
        await until(() => c.frames.filter((f) => f.opcode === 0xa).length === 1);
        c.sock.write(Buffer.concat([frame(0x8a, 'x'), frame(0x89, Buffer.alloc(125, 0xfe))]));
        await until(() => c.frames.filter((f) => f.opcode === 0xa).length === 2);
        const [p0, p125] = c.frames.filter((f) => f.opcode === 0xa);
        assert.equal(p0.payload.length, 0);
        assert.ok(p125.payload.equals(Buffer.alloc(125, 0xfe)));
        assert.equal(p0.first, 0x8a);
        await endpoints[ep].roundTrip(c, ep === 'echo' ? 'after pings' : 'after pings');
        c.sock.destroy();
      });

      // 6.x: UTF-8, split across fragments.
      it('valid UTF-8 split inside a character across fragments is one message', async () => {
        const c = await ready(scheme, ep);
        const text = ep === 'echo' ? 'κόσμε € 𝄞' : invocation('κόσμε € 𝄞');
        const bytes = Buffer.from(text);
        const at = bytes.indexOf(0xf0) + 2;  // inside the four-byte 𝄞
        const frames = Buffer.concat([frame(0x01, bytes.subarray(0, at)), frame(0x80, bytes.subarray(at))]);
        if (ep === 'echo') await endpoints.echo.roundTrip(c, bytes, { frames });
        else await endpoints.hub.roundTrip(c, 'κόσμε € 𝄞', { frames });
        c.sock.destroy();
      });

      // 7.x: closing.
      for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
        it(`a close with code ${code} is answered with ${code}`, async () => {
          const c = await ready(scheme, ep);
          c.sock.write(closeFrame(code, 'bye'));
          await closedWith(c, code);
        });
      }
      it('a close without a code is answered with 1000 (what browsers expect)', async () => {
        const c = await ready(scheme, ep);
        c.sock.write(frame(0x88));
        const close = await closedWith(c, 1000);
        assert.equal(close.payload.length, 2);
      });
      it('a close with a 123-byte reason is answered with its code', async () => {
        const c = await ready(scheme, ep);
        c.sock.write(closeFrame(1000, Buffer.alloc(123, 'r')));
        await closedWith(c, 1000);
      });
      it('nothing is read after the client\'s close', async () => {
        const c = await ready(scheme, ep);
        const after = ep === 'echo' ? frame(0x81, 'after close') : frame(0x81, invocation('after close'));
        c.sock.write(Buffer.concat([closeFrame(1000), after]));
        await closedWith(c, 1000);
        assert.equal(ep === 'echo' ? dataFrames(c).length : completions(c).length, 0);
      });

      // Violations: 1002 (protocol), 1007 (invalid payload), 1009 (too big).
      const cases = [
        ['an unmasked frame', frame(0x81, 'hi', { masked: false }), 1002],
        ...[1, 2, 3, 4, 5, 6, 7].map((rsv) => [`reserved bits ${rsv}`, frame(0x81 | (rsv << 4), 'hi'), 1002]),
        ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((op) => [`opcode ${op}`, frame(0x80 | op, 'hi'), 1002]),
        ['a fragmented ping', frame(0x09, 'hi'), 1002],
        ['a ping of 126 bytes', frame(0x89, Buffer.alloc(126)), 1002],
        ['a continuation without a message', frame(0x80, 'hi'), 1002],
        ['a new message inside a fragmented one', Buffer.concat([frame(0x01, 'a'), frame(0x81, 'b')]), 1002],
        ['a close of one byte', frame(0x88, bad([0x03])), 1002],
        ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) =>
          [`close code ${code}`, closeFrame(code), 1002]),
        ['text that is not UTF-8', frame(0x81, bad([0x7b, 0xc3, 0x28])), 1007],
        ['text ending inside a character', frame(0x81, bad([0x61, 0xe2, 0x82])), 1007],
        ['invalid UTF-8 split across fragments', Buffer.concat([frame(0x01, bad([0x61, 0xe2])), frame(0x80, bad([0x28, 0x61]))]), 1007],
        ['a surrogate in text (U+D800)', frame(0x81, bad([0xed, 0xa0, 0x80])), 1007],
        ['a close reason that is not UTF-8', closeFrame(1000, bad([0xc3, 0x28])), 1007],
        ['a message over the limit (only its header)', frame(0x82, Buffer.alloc(LIMIT + 1)).subarray(0, 14), 1009],
        ['fragments adding up past the limit',
          Buffer.concat([frame(0x02, Buffer.alloc(LIMIT - 10)), frame(0x80, Buffer.alloc(11)).subarray(0, 6)]), 1009],
      ];
      for (const [name, bytes, code] of cases) {
        it(`${name}: close ${code}, and the server keeps serving`, async () => {
          await refused(scheme, ep, bytes, code);
        });
      }
    });
  }
}

describe('the upgrade request (RFC 6455 §4.2.1)', () => {
  const raw = async (head) => {
    const sock = net.connect(Number(urls.plain.port), '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(head);
    await until(() => got.includes('\r\n\r\n'));
    sock.destroy();
    return got;
  };
  const upgrade = (extra) => `GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
  for (const [name, extra] of [
    ['a key that is not base64 of 16 bytes', 'Sec-WebSocket-Key: abc\r\n'],
    ['a key of 24 characters that is not base64', 'Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n'],
    ['a key of 20 bytes', `Sec-WebSocket-Key: ${Buffer.alloc(20, 7).toString('base64')}\r\n`],
    ['two keys', `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Key: ${KEY}\r\n`],
    ['no key', ''],
  ]) {
    it(`${name} is not an upgrade (400, as ASP.NET Core)`, async () => {
      assert.match(await raw(upgrade(extra)), /^HTTP\/1.1 400/);
    });
  }
  it('a valid key is upgraded', async () => {
    assert.match(await raw(upgrade(`Sec-WebSocket-Key: ${KEY}\r\n`)), /^HTTP\/1.1 101/);
  });
});

// What the official functional suite's "WebSockets can be used to connect to SignalR" checks: a
// close the client starts without a code (ws.close(), a browser's WebSocket.close()) ends with
// 1000 on the client's side, not 1005.
describe('a clean close started by the client', () => {
  for (const scheme of ['plain', 'tls']) {
    it(`Node's ws over ${scheme === 'tls' ? 'wss' : 'ws'}: echo, then close() gives 1000`, async () => {
      const { default: WebSocket } = await import('ws');
      const base = urls[scheme].href.replace(/^http/, 'ws');
      const ws = new WebSocket(`${base}echo`, { rejectUnauthorized: false });
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      const echoed = new Promise((r) => ws.once('message', (d) => r(String(d))));
      ws.send('hello');
      assert.equal(await echoed, 'hello');
      const closed = new Promise((r) => ws.once('close', (code) => r(code)));
      ws.close();
      assert.equal(await closed, 1000);
    });
  }

  const chromiumPath = '/usr/bin/chromium';
  it('Chromium over ws and wss: echo, then close() gives 1000', {
    skip: !fs.existsSync(chromiumPath) && 'Debian chromium is not installed',
  }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--ignore-certificate-errors',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      for (const scheme of ['plain', 'tls']) {
        const url = `${urls[scheme].href.replace(/^http/, 'ws')}echo`;
        const result = await page.evaluate((u) => new Promise((resolve) => {
          const ws = new WebSocket(u);
          ws.onerror = () => resolve({ error: 'error' });
          ws.onopen = () => ws.send('hello');
          ws.onmessage = (e) => {
            const echoed = e.data;
            ws.onclose = (c) => resolve({ echoed, code: c.code, wasClean: c.wasClean });
            ws.close();
          };
        }), url);
        assert.deepEqual(result, { echoed: 'hello', code: 1000, wasClean: true }, scheme);
      }
    } finally {
      await browser.close();
    }
  });
});
