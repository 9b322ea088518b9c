// hubcast reads WebSocket frames itself on plain TCP (http/websocket_frames.cpp): a raw client
// sends frames as a browser, a slow network or an attacker would, and checks the bytes the
// server answers with (RFC 6455: masking, fragments, control frames between fragments, close
// codes, UTF-8, size limits). After each violation the server answers with the close code the
// RFC asks for, closes the TCP connection, and keeps serving others.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { delay, startServer, stopCleanly } from './helpers.mjs';

const RS = '\x1e';
let server;
before(async () => {
  server = await startServer();
});
after(() => stopCleanly(server));

let maskCounter = 0;
// A client frame, masked unless told otherwise.
function frame(first, payload, { masked = true } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = body.length;
  const head = [first];
  const bit = masked ? 0x80 : 0;
  if (n < 126) head.push(bit | n);
  else if (n <= 0xffff) head.push(bit | 126, n >> 8, n & 0xff);
  else {
    head.push(bit | 127, 0, 0, 0, 0);
    head.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), body]);
  const key = Buffer.alloc(4);
  key.writeUInt32BE((++maskCounter * 2654435761) >>> 0);  // deterministic masks: a failure replays
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = body[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, out]);
}

const text = (s) => frame(0x81, s);

// A raw WebSocket on /testhub: the server's frames as they arrive, and whether TCP closed.
async function open() {
  const sock = net.connect(new URL(server.url).port, '127.0.0.1');
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  const key = Buffer.from(`hubcast-key-${++maskCounter}`.padEnd(16, '.').slice(0, 16)).toString('base64');
  sock.write(
    `GET /testhub HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
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
      assert.equal(c.buf[1] & 0x80, 0, 'server frames are not masked');
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
      c.frames.push({ opcode: c.buf[0] & 0x0f, fin: !!(c.buf[0] & 0x80), payload: c.buf.subarray(off, off + len) });
      c.buf = c.buf.subarray(off + len);
    }
  });
  const ended = new Promise((r) => sock.on('close', () => r((c.ended = true))));
  sock.on('error', () => {});
  c.ended_ = ended;
  await until(() => c.head);
  assert.match(c.head, /^HTTP\/1.1 101/);
  const expected = crypto
    .createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  assert.match(c.head, new RegExp(`Sec-WebSocket-Accept: ${expected.replace(/[+/]/g, '\\$&')}`, 'i'));
  return c;
}

async function until(pred, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await delay(5);
  }
}

const records = (c) =>
  c.frames
    .filter((f) => f.opcode === 1)
    .flatMap((f) => f.payload.toString().split(RS).filter(Boolean).map((r) => JSON.parse(r)));

async function handshaken() {
  const c = await open();
  c.sock.write(text(`{"protocol":"json","version":1}${RS}`));
  await until(() => records(c).length === 1);
  assert.deepEqual(records(c)[0], {});
  return c;
}

const echo = (id, arg) => `{"type":1,"invocationId":"${id}","target":"Echo","arguments":["${arg}"]}${RS}`;
const completions = (c) => records(c).filter((r) => r.type === 3);

// The close frame the server sent, then the TCP close.
async function closedWith(c, code) {
  await until(() => c.frames.some((f) => f.opcode === 8), 8000);
  const close = c.frames.find((f) => f.opcode === 8);
  assert.equal(close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 0, code);
  await until(() => c.ended, 8000);
  assert.equal(c.frames.filter((f) => f.opcode === 8).length, 1, 'one close frame');
}

describe('WebSocket frames read by hubcast', () => {
  it('joins fragments with a ping between them, and answers the ping with its payload', async () => {
    const c = await open();
    const hs = Buffer.from(`{"protocol":"json","version":1}${RS}`);
    c.sock.write(
      Buffer.concat([
        frame(0x01, hs.subarray(0, 5)),
        frame(0x89, 'between'),
        frame(0x00, hs.subarray(5, 20)),
        frame(0x80, hs.subarray(20)),
      ]),
    );
    await until(() => records(c).length === 1 && c.frames.some((f) => f.opcode === 0xa));
    assert.equal(c.frames.find((f) => f.opcode === 0xa).payload.toString(), 'between');
    c.sock.destroy();
  });

  it('reads many frames in one TCP segment, and one frame split into single bytes', async () => {
    const c = await handshaken();
    const many = [];
    for (let i = 1; i <= 50; i++) many.push(text(echo(i, `m${i}`)));
    c.sock.write(Buffer.concat(many));
    await until(() => completions(c).length === 50);
    assert.deepEqual(
      completions(c).map((r) => r.result),
      Array.from({ length: 50 }, (_, k) => `m${k + 1}`),
    );
    const one = text(echo('split', 'x'.repeat(300)));  // a 16-bit length, 4-byte mask
    for (const b of one) {
      c.sock.write(Buffer.from([b]));
      await delay(1);
    }
    await until(() => completions(c).length === 51);
    assert.equal(completions(c)[50].result, 'x'.repeat(300));
    c.sock.write(frame(0x88, Buffer.from([0x03, 0xe8])));
    await closedWith(c, 1000);
  });

  it('a message arriving in many pieces (30 KB, one frame, written in 1 KB parts) arrives whole', async () => {
    const c = await handshaken();
    const big = 'y'.repeat(30000);  // under the hub's 32 KB MaximumReceiveMessageSize
    const bytes = frame(0x81, echo('big', big));
    for (let i = 0; i < bytes.length; i += 1000) {
      c.sock.write(bytes.subarray(i, i + 1000));
      await delay(2);
    }
    await until(() => completions(c).length === 1);
    assert.equal(completions(c)[0].result, big);
    c.sock.destroy();
  });

  it('echoes the close code of a client close (4000) and closes TCP', async () => {
    const c = await handshaken();
    c.sock.write(frame(0x88, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')])));
    await closedWith(c, 4000);
  });

  for (const [name, bytes, code] of [
    ['an unmasked frame', frame(0x81, 'hi', { masked: false }), 1002],
    ['a reserved bit', frame(0xc1, 'hi'), 1002],
    ['an unknown opcode', frame(0x83, 'hi'), 1002],
    ['a fragmented ping', frame(0x09, 'hi'), 1002],
    ['a continuation without a message', frame(0x80, 'hi'), 1002],
    ['an invalid close code (1005)', frame(0x88, Buffer.from([0x03, 0xed])), 1002],
    ['text that is not UTF-8', frame(0x81, Buffer.from([0x7b, 0xc3, 0x28])), 1007],
    // Only the header of a 2 MiB frame: refused before its payload arrives.
    ['a message over 1 MiB', frame(0x82, Buffer.alloc(2 * 1024 * 1024)).subarray(0, 14), 1009],
  ]) {
    it(`answers ${name} with close ${code}, closes TCP, and keeps serving`, async () => {
      const c = await handshaken();
      c.sock.write(bytes);
      await closedWith(c, code);
      const d = await handshaken();  // the server is fine
      d.sock.write(text(echo(1, 'still here')));
      await until(() => completions(d).length === 1);
      d.sock.destroy();
    });
  }

  it('a flood of pings gets a bounded answer and the connection keeps working', async () => {
    const c = await handshaken();
    c.sock.pause();  // stop reading: pongs cannot be written
    const pings = [];
    for (let i = 0; i < 20000; i++) pings.push(frame(0x89, `p${i}`));
    c.sock.write(Buffer.concat(pings));
    await delay(300);
    c.sock.resume();
    c.sock.write(text(echo(1, 'after')));
    await until(() => completions(c).length === 1);
    const pongs = c.frames.filter((f) => f.opcode === 0xa);
    assert.ok(pongs.length >= 1 && pongs.length <= 20000);
    assert.equal(pongs.at(-1).payload.toString(), 'p19999', 'the last ping is answered');
    c.sock.destroy();
  });
});
