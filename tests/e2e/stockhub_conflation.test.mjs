// A stalled subscriber (a WebSocket client that stops reading) on a fast market (100 symbols, a
// tick every millisecond): its stream conflates to the latest price per symbol once its
// connection's output passes the stream back-pressure mark, nobody else waits (an official
// client's stream keeps its pace), and when it reads again it catches up on current prices
// instead of an unbounded backlog. stockhub_ticks_conflated_total counts the dropped prices.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, delay, startStockhub, stockhubToken, stopCleanly } from './helpers.mjs';

const symbols = Array.from({ length: 100 }, (_, i) => `S${String(i).padStart(3, '0')}`);
let sh;

before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.001', `--Stocks:Symbols=${symbols.join(',')}`]);
});
after(async () => {
  await stopCleanly(sh);
});

const token = (email) => stockhubToken(sh, email);

async function conflated() {
  const text = await (await fetch(`${sh.url}/metrics`)).text();
  const m = text.match(/^stockhub_ticks_conflated_total (\d+)/m);
  assert.ok(m, 'the counter is exported');
  return Number(m[1]);
}

describe('a stalled subscriber', () => {
  it('conflates to the latest prices, delays nobody, and catches up when it reads again', { timeout: 60000 }, async () => {
    const t = await token('trader@stockhub.local');
    // The stalled one: raw WebSocket + JSON, every symbol, then its socket stops reading.
    const { default: WebSocket } = await import('ws');
    const neg = await (await fetch(`${sh.url}/hubs/stocks/negotiate?negotiateVersion=1`, {
      method: 'POST', headers: { Authorization: `Bearer ${t}` },
    })).json();
    const ws = new WebSocket(`${sh.url.replace('http', 'ws')}/hubs/stocks?id=${neg.connectionToken}`,
      { headers: { Authorization: `Bearer ${t}` } });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    let received = 0;
    let latest = 0;  // the newest event timestamp it has read
    let text = '';
    ws.on('message', (data) => {
      text += data.toString();
      let end;
      while ((end = text.indexOf('\x1e')) >= 0) {
        const m = JSON.parse(text.slice(0, end));
        text = text.slice(end + 1);
        if (m.type === 2) {
          received++;
          latest = Math.max(latest, Date.parse(m.item.timestamp));
        }
      }
    });
    ws.send('{"protocol":"json","version":1}\x1e');
    ws.send('{"type":4,"invocationId":"0","target":"StreamStockPrices","arguments":[]}\x1e');
    while (received < 1000) await delay(20);

    // The official client: one symbol, a stream that must keep its pace.
    const c = connect(`${sh.url}/hubs/stocks`, { accessTokenFactory: () => t });
    await c.start();
    await c.invoke('Subscribe', 'S042');
    const ids = [];
    const sub = c.stream('StreamStockPrices').subscribe({ next: (e) => ids.push(Number(e.id)), error() {}, complete() {} });

    const before = await conflated();
    ws._socket.pause();  // stop reading: the kernel buffers fill, then the server's queue
    let more = 0;
    for (let i = 0; i < 150 && more === 0; i++) {
      await delay(100);
      more = (await conflated()) - before;
    }
    assert.ok(more > 0, 'prices were conflated for the stalled stream');
    // Nobody else waits: over one more second of the stall, the official client's stream keeps
    // getting S042's prices (a tick every ms: hundreds; a stream held up behind the stalled one
    // would get none; 50 leaves room for a slow sanitizer build).
    const from = ids.length;
    await delay(1000);
    assert.ok(ids.length - from >= 50, `the other stream kept its pace: ${ids.length - from} prices in 1 s`);
    assert.equal(ws.readyState, WebSocket.OPEN, 'the stalled connection is kept');

    // Reading again: it catches up on current prices (what is queued is bounded).
    ws._socket.resume();
    const resumed = Date.now();
    while (latest < resumed - 500 && Date.now() - resumed < 20000) await delay(50);
    assert.ok(latest >= resumed - 500, `caught up: the newest price read is ${resumed - latest} ms old`);
    sub.dispose();
    await c.stop();
    ws.close();
  });
});
