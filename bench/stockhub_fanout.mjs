// Tick fan-out of stockhub: N official-client connections (WebSockets + MessagePack, no
// subscriptions, so every symbol) stream prices for a while; reports ticks/s, deliveries/s and
// the server's CPU time. The clients run in this one Node process, so a high N is client-bound.
//   node bench/stockhub_fanout.mjs [connections=1000] [seconds=10] [tickMs=100]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';

const [N = 1000, SECONDS = 10, TICK = 100] = process.argv.slice(2).map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockhub-bench-'));
const proc = spawn(path.resolve('build/bin/stockhub'), [
  '--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/u.db`,
  `--Stocks:TickInterval=${TICK / 1000}`, '--Logging:LogLevel:Default=Warning',
], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
const users = {};
const url = await new Promise((resolve) => proc.stdout.on('data', (d) => {
  out += d;
  for (const m of out.matchAll(/Development user: (\S+) \/ (\S+)/g)) users[m[1]] = m[2];
  const l = out.match(/Now listening on: (http:\/\/\S+)/);
  if (l) resolve(l[1]);
}));
const login = await (await fetch(`${url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'trader@stockhub.local', password: users['trader@stockhub.local'] }) })).json();
const cpu = () => {
  const f = fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (100 Hz)
};
const rss = () => Number(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
let received = 0;
const conns = [];
for (let i = 0; i < N; i += 100) {
  const batch = [];
  for (let k = i; k < Math.min(N, i + 100); k++) {
    const c = new signalR.HubConnectionBuilder()
      .withUrl(`${url}/hubs/stocks`, { transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => login.token })
      .withHubProtocol(new MessagePackHubProtocol()).configureLogging(signalR.LogLevel.None).build();
    conns.push(c);
    batch.push(c.start().then(() => c.stream('StreamStockPrices').subscribe({ next: () => received++, error() {}, complete() {} })));
  }
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 1000));
const r0 = received, c0 = cpu(), t0 = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const deliveries = received - r0, secs = (Date.now() - t0) / 1000, cpuSecs = cpu() - c0;
const result = {
  connections: N, tick_ms: TICK, symbols: 6, seconds: secs,
  deliveries_per_s: Math.round(deliveries / secs),
  expected_per_s: Math.round((N * 6 * 1000) / TICK),
  server_cpu_s_per_million: Number(((cpuSecs / deliveries) * 1e6).toFixed(2)),
  server_cpu_utilisation: Number((cpuSecs / secs).toFixed(2)),
  server_rss_mib: Math.round(rss() / 1024),
};
console.log(JSON.stringify(result));
await Promise.all(conns.map((c) => c.stop()));
proc.kill('SIGTERM');
