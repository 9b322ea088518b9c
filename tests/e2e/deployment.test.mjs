// The deployment files in deploy/, tested as shipped: the systemd unit passes
// `systemd-analyze verify`; nginx (Debian's, started here on a free port with
// deploy/nginx/stockhub.conf) in front of two stockhub nodes on one Redis carries the official
// client on every transport and protocol; SIGTERM on the node 200 streaming clients use drains
// it: every client is streaming again through the other node, no error reaches onclose, and the
// drained node exits 0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, delay, freePort, redisServerPath, signalR, startRedis, startStockhub, stopCleanly } from './helpers.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
const nginxPath = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));
const key = 'deployment-test-signing-key-0123456789abcdef';

describe('systemd unit', () => {
  it('passes systemd-analyze verify', { skip: analyze ? false : 'systemd-analyze not installed (Debian package systemd)' }, () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'hubcast-unit-'));
    try {
      // The unit as shipped, with ExecStart pointing at the binary just built.
      const unit = fs.readFileSync(path.join(root, 'deploy/systemd/stockhub.service'), 'utf8')
        .replaceAll('/usr/local/bin/stockhub', path.join(binDir, 'stockhub'));
      fs.writeFileSync(path.join(dir, 'stockhub.service'), unit);
      const r = spawnSync(analyze, ['verify', path.join(dir, 'stockhub.service')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal((r.stdout + r.stderr).trim(), '', 'no warnings');
      for (const option of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'SystemCallFilter=@system-service'])
        assert.ok(unit.includes(option), option);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skipCluster = !nginxPath ? 'nginx not installed (Debian package nginx-light)'
  : !redisServerPath() ? 'redis-server not installed' : false;

describe('nginx in front of two nodes', { skip: skipCluster }, () => {
  let redis;
  const nodes = [];
  let nginx;
  let url;
  let nginxDir;

  before(async () => {
    redis = await startRedis();
    for (const name of ['a', 'b'])
      nodes.push(await startStockhub([`--Auth:Key=${key}`, `--Redis:Configuration=${redis.config}`,
        '--Stocks:TickInterval=00:00:00.100', '--Server:KnownProxies:0=127.0.0.1'], `stockhub-nginx-${name}-`));
    nginxDir = fs.mkdtempSync(path.join(nodes[0].dir, 'nginx-'));
    const port = await freePort();
    const ports = nodes.map((n) => new URL(n.url).port);
    let site = fs.readFileSync(path.join(root, 'deploy/nginx/stockhub.conf'), 'utf8');
    site = site.replace('server 127.0.0.1:5000', `server 127.0.0.1:${ports[0]}`)
      .replace('server 127.0.0.1:5001', `server 127.0.0.1:${ports[1]}`)
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
      .replace('/var/log/nginx/', `${nginxDir}/`)
      // The test's client is 127.0.0.1: the metrics allowlist is another address here.
      .replace('allow 127.0.0.1;', 'allow 10.255.255.1;');
    assert.ok(site.includes(ports[0]) && site.includes(ports[1]) && site.includes(String(port)));
    fs.writeFileSync(path.join(nginxDir, 'stockhub.conf'), site);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `  ${t}_temp_path ${nginxDir}/${t};`).join('\n');
    fs.writeFileSync(path.join(nginxDir, 'nginx.conf'), [
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;', `pid ${nginxDir}/nginx.pid;`, `error_log ${nginxDir}/error.log warn;`,
      'events { worker_connections 4096; }', 'http {', '  access_log off;', temp,
      `  include ${nginxDir}/stockhub.conf;`, '}', ''].join('\n'));
    nginx = spawn(nginxPath, ['-p', nginxDir, '-c', `${nginxDir}/nginx.conf`, '-g', 'daemon off;'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    nginx.stderr.on('data', (d) => (out += d));
    url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch { /* not up yet */ }
      if (i > 100) throw new Error(`nginx did not start: ${out}`);
      await delay(50);
    }
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM');
      await new Promise((r) => nginx.on('exit', r));
    }
    for (const n of nodes) if (n.proc.exitCode === null) await stopCleanly(n);
    await redis?.close();
  });

  async function token(email = 'trader@stockhub.local') {
    // Through nginx; both nodes know the user (each Development node made its own), so the
    // password of whichever node answers is tried.
    for (const n of nodes) {
      const res = await fetch(`${url}/api/login`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: n.users[email] }),
      });
      if (res.status === 200) return (await res.json()).token;
    }
    assert.fail('no node took the login');
  }

  it('refuses the scrape in every spelling the nodes route to /metrics', async () => {
    for (const p of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/metrics%2F', '//metrics', '/metrics/x']) {
      const res = await fetch(`${url}${p}`);
      assert.equal(res.status, 403, p);
    }
    // The nodes do serve it (Development: on the public port), so the 403 is nginx's.
    assert.equal((await fetch(`${nodes[0].url}/METRICS`)).status, 200);
  });

  it('keeps access tokens out of its access log', async () => {
    const t = await token();
    for (const transport of ['WebSockets', 'ServerSentEvents']) {
      const c = connect(`${url}/hubs/stocks`, { transport: signalR.HttpTransportType[transport], accessTokenFactory: () => t });
      await c.start();
      await c.invoke('GetAvailableSymbols');
      await c.stop();
    }
    let log = '';
    for (let i = 0; i < 100 && !log.includes('/hubs/stocks'); i++) {
      await delay(20);
      log = fs.existsSync(`${nginxDir}/stockhub-access.log`) ? fs.readFileSync(`${nginxDir}/stockhub-access.log`, 'utf8') : '';
    }
    assert.match(log, /GET \/hubs\/stocks /);
    assert.doesNotMatch(log, /access_token|eyJ/);
  });

  it('carries every transport and protocol', async () => {
    const t = await token();
    const cases = [
      ['WebSockets', false], ['WebSockets', true], ['ServerSentEvents', false],
      ['LongPolling', false], ['LongPolling', true],
    ];
    for (const [transport, msgpack] of cases) {
      const c = connect(`${url}/hubs/stocks`, { transport: signalR.HttpTransportType[transport], accessTokenFactory: () => t },
        (b) => (msgpack ? b.withHubProtocol(new MessagePackHubProtocol()) : b));
      await c.start();
      const symbols = await c.invoke('GetAvailableSymbols');
      assert.ok(symbols.length > 0, transport);
      await c.invoke('Subscribe', symbols[0]);
      const got = [];
      const sub = c.stream('StreamStockPrices').subscribe({ next: (e) => got.push(e), error() {}, complete() {} });
      for (let i = 0; i < 100 && got.length < 2; i++) await delay(50);
      assert.ok(got.length >= 2, `${transport}${msgpack ? ' msgpack' : ''}: streamed ${got.length}`);
      sub.dispose();
      await c.stop();
    }
  });

  it('drains a node under 200 streaming clients onto the other', async () => {
    const t = await token();
    const clients = [];
    for (let i = 0; i < 200; i++) {
      const client = { items: 0, closedWith: null, reconnected: 0 };
      const c = connect(`${url}/hubs/stocks`, { transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => t },
        (b) => b.withAutomaticReconnect([0, 250, 500, 1000, 2000, 2000, 2000]));
      const stream = () => c.stream('StreamStockPrices').subscribe({ next: () => client.items++, error() {}, complete() {} });
      c.onreconnected(() => {
        client.reconnected++;
        stream();
      });
      c.onclose((e) => (client.closedWith = e ?? 'closed'));
      client.connection = c;
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.connection.start()));
    for (const c of clients) c.connection.stream('StreamStockPrices').subscribe({ next: () => c.items++, error() {}, complete() {} });
    for (let i = 0; i < 100 && clients.some((c) => c.items === 0); i++) await delay(50);
    assert.ok(clients.every((c) => c.items > 0), 'every client streams');

    // ip_hash: every loopback client is on one node. Find it and drain it.
    const counts = await Promise.all(nodes.map(async (n) => {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      const m = text.match(/signalr_server_active_connections\{signalr_transport="web_sockets"\} (\d+)/);
      return Number(m?.[1] ?? 0);
    }));
    const busy = counts[0] >= counts[1] ? 0 : 1;
    assert.equal(counts[busy], 200, `connections per node: ${counts}`);
    const started = Date.now();
    const mark = clients.map((c) => c.items);
    const exited = nodes[busy].stop();
    for (let i = 0; i < 300 && clients.some((c, k) => c.reconnected === 0 || c.items <= mark[k]); i++) await delay(50);
    const back = Date.now() - started;
    const { code } = await exited;
    const drained = Date.now() - started;
    assert.equal(code, 0, `the drained node exits 0:\n${nodes[busy].output.slice(-4000)}`);
    assert.deepEqual(clients.filter((c) => c.closedWith !== null).map((c) => String(c.closedWith)), [], 'no onclose');
    assert.equal(clients.filter((c) => c.reconnected === 0).length, 0, 'every client reconnected');
    const stalled = clients.filter((c, k) => c.items <= mark[k]).length;
    assert.equal(stalled, 0, 'every client streams again');
    const other = await (await fetch(`${nodes[1 - busy].url}/metrics`)).text();
    assert.match(other, /signalr_server_active_connections\{signalr_transport="web_sockets"\} 200/);
    console.log(`drain: 200 clients streaming again on the other node after ${back} ms; the drained node exited after ${drained} ms`);
    await Promise.all(clients.map((c) => c.connection.stop()));
  });
});
