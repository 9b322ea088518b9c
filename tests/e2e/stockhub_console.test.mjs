// The server side of the dashboard: GetMarketSnapshot (open/high/low/last per symbol for a new
// subscriber) and the operator console's GetServerStatistics and GetConnectedUsers (Admin
// only), with the official JS client over JSON and MessagePack.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, delay, signalR, startStockhub, stockhubToken, stopCleanly } from './helpers.mjs';

let sh;
const open = [];

before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100']);
});
after(async () => {
  for (const c of open) await c.stop().catch(() => {});
  await stopCleanly(sh);
});

const token = (email) => stockhubToken(sh, email);

async function hub(email, { transport, msgpack } = {}) {
  const t = await token(email);
  const c = connect(`${sh.url}/hubs/stocks`, { transport, accessTokenFactory: () => t },
    (b) => (msgpack ? b.withHubProtocol(new MessagePackHubProtocol()) : b));
  await c.start();
  open.push(c);
  return c;
}

describe('GetMarketSnapshot', () => {
  it('answers the session so far of the subscribed symbols, consistent with the stream', async () => {
    const c = await hub('trader@stockhub.local');
    await c.invoke('Subscribe', 'MSFT');
    await c.invoke('Subscribe', 'AAPL');
    await delay(300);
    const prices = [];
    const sub = c.stream('StreamStockPrices').subscribe({ next: (e) => prices.push(e), error() {}, complete() {} });
    while (prices.length < 10) await delay(20);
    sub.dispose();
    const snap = await c.invoke('GetMarketSnapshot');
    assert.deepEqual(snap.map((s) => s.symbol).sort(), ['AAPL', 'MSFT']);
    for (const s of snap) {
      assert.deepEqual(Object.keys(s).sort(), ['high', 'last', 'low', 'open', 'symbol', 'timestamp']);
      assert.ok(s.low <= s.open && s.open <= s.high, JSON.stringify(s));
      assert.ok(s.low <= s.last && s.last <= s.high, JSON.stringify(s));
      for (const p of prices.filter((p) => p.symbol === s.symbol))
        assert.ok(p.price >= s.low && p.price <= s.high, `${p.price} within ${s.low}..${s.high}`);
      assert.ok(Date.now() - Date.parse(s.timestamp) < 5000);
    }
    // No subscriptions: every symbol, like the stream.
    const all = await hub('trader@stockhub.local');
    assert.equal((await all.invoke('GetMarketSnapshot')).length, 6);
  });

  it('writes PascalCase keys and decimals as strings over MessagePack, as ASP.NET Core does', async () => {
    const c = await hub('trader@stockhub.local', { msgpack: true });
    await c.invoke('Subscribe', 'NVDA');
    const [s] = await c.invoke('GetMarketSnapshot');
    assert.equal(s.Symbol, 'NVDA');
    for (const k of ['Open', 'High', 'Low', 'Last']) assert.match(s[k], /^\d+(\.\d{1,2})?$/, k);
    assert.ok(s.Timestamp instanceof Date);
  });
});

describe('operator console', () => {
  it('refuses traders', async () => {
    const c = await hub('trader@stockhub.local');
    for (const m of ['GetServerStatistics', 'GetConnectedUsers'])
      await assert.rejects(c.invoke(m), { message: `Failed to invoke '${m}' because user is unauthorized` });
  });

  it('counts connections by transport and protocol, users, and the rates', async () => {
    const admin = await hub('admin@stockhub.local');
    await hub('trader@stockhub.local', { transport: signalR.HttpTransportType.LongPolling });
    await hub('trader@stockhub.local', { transport: signalR.HttpTransportType.ServerSentEvents });
    const mp = await hub('trader@stockhub.local', { msgpack: true });
    const items = [];
    mp.stream('StreamStockPrices').subscribe({ next: (e) => items.push(e), error() {}, complete() {} });
    await admin.invoke('GetServerStatistics');  // starts the rate window
    await delay(1200);
    const s = await admin.invoke('GetServerStatistics');
    assert.equal(s.node, 'local');
    assert.equal(s.clusterUsers, -1);
    assert.equal(s.connections, open.length);
    assert.equal(Object.values(s.connectionsByTransport).reduce((a, b) => a + b, 0), s.connections);
    assert.ok(s.connectionsByTransport.LongPolling >= 1 && s.connectionsByTransport.ServerSentEvents >= 1);
    assert.ok(s.connectionsByTransport.WebSockets >= 2);
    assert.ok(s.connectionsByProtocol.messagepack >= 2 && s.connectionsByProtocol.json >= 3, JSON.stringify(s));
    assert.equal(s.connectedUsers, 2);
    assert.ok(s.ticksPerSecond > 3 && s.ticksPerSecond < 15, `ticks/s ${s.ticksPerSecond}`);
    assert.ok(s.messagesPerSecond > 10, `messages/s ${s.messagesPerSecond}`);
  });

  it('lists users with their connections, never a connection id', async () => {
    const admin = await hub('admin@stockhub.local');
    const users = await admin.invoke('GetConnectedUsers');
    const trader = users.find((u) => u.email === 'trader@stockhub.local');
    assert.ok(trader, JSON.stringify(users));
    assert.deepEqual(Object.keys(trader).sort(), ['connectedSince', 'connections', 'email', 'roles', 'transports']);
    assert.deepEqual(trader.roles, ['Trader']);
    assert.ok(trader.connections >= 3);
    assert.deepEqual(trader.transports, ['LongPolling', 'ServerSentEvents', 'WebSockets']);
    assert.ok(Date.parse(trader.connectedSince) <= Date.now());
    const text = JSON.stringify(users);
    for (const c of open) if (c.connectionId) assert.ok(!text.includes(c.connectionId));
    assert.deepEqual(users.find((u) => u.email === 'admin@stockhub.local').roles, ['Admin', 'Trader']);
  });
});
