// SIGTERM on a node with long-polling clients: a live client gets the Close with
// allowReconnect on its pending poll (its automatic reconnect starts) and the node exits at
// once; a client that vanished without a word (no poll will come) holds the drain about a
// second, not Server:ShutdownTimeout (30 s) nor the disconnect timeout.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, delay, signalR, startStockhub } from './helpers.mjs';

async function token(sh) {
  const res = await fetch(`${sh.url}/api/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'trader@stockhub.local', password: sh.users['trader@stockhub.local'] }),
  });
  return (await res.json()).token;
}

it('a live long-polling client is told to reconnect and the node exits at once', async () => {
  const sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100']);
  const t = await token(sh);
  const c = connect(`${sh.url}/hubs/stocks`, { transport: signalR.HttpTransportType.LongPolling, accessTokenFactory: () => t },
    (b) => b.withAutomaticReconnect([60000]));
  let reconnecting = null;
  c.onreconnecting((e) => (reconnecting = e ?? 'none'));
  await c.start();
  let items = 0;
  c.stream('StreamStockPrices').subscribe({ next: () => items++, error() {}, complete() {} });
  while (items < 3) await delay(20);
  const started = Date.now();
  const { code } = await sh.stop();
  const took = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(took < 3000, `exit after ${took} ms`);
  for (let i = 0; i < 50 && reconnecting === null; i++) await delay(20);
  assert.notEqual(reconnecting, null, 'the Close allowed a reconnect');
  await c.stop();
});

it('a long-polling client that vanished does not hold the drain', async () => {
  const sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100']);
  const t = await token(sh);
  // The client in a process of its own, killed without a word while it streams.
  const client = spawn(process.execPath, ['--input-type=module', '-e', `
    import * as signalR from '@microsoft/signalr';
    const c = new signalR.HubConnectionBuilder().withUrl('${sh.url}/hubs/stocks',
      { transport: signalR.HttpTransportType.LongPolling, accessTokenFactory: () => '${t}' })
      .configureLogging(signalR.LogLevel.None).build();
    await c.start();
    c.stream('StreamStockPrices').subscribe({ next() {}, error() {}, complete() {} });
    console.log('streaming');`], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
  await new Promise((r) => client.stdout.once('data', r));
  await delay(300);
  client.kill('SIGKILL');
  await delay(100);
  const started = Date.now();
  const { code } = await sh.stop();
  const took = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(took < 5000, `exit after ${took} ms (the shutdown timeout is 30 s)`);
});
