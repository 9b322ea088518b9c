// /metrics: ASP.NET Core's meter names and hubcast's own, driven by the official client over
// every transport; the exposition passes `promtool check metrics`, and a real Prometheus server
// scrapes stockhub and answers a query.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { connect, delay, freePort, signalR, startStockhub, stopCleanly } from './helpers.mjs';

let sh;

before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.050']);
});
after(() => stopCleanly(sh));

async function token(email = 'trader@stockhub.local') {
  const res = await fetch(`${sh.url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: sh.users[email] }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).token;
}

async function scrape(url = `${sh.url}/metrics`) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return res.text();
}

// The value of one series: `name{a="b",...}` with the labels given (others ignored).
function value(text, name, labels = {}) {
  let total = null;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

function promtool() {
  for (const p of ['/usr/bin/promtool', '/usr/local/bin/promtool']) if (fs.existsSync(p)) return p;
  return null;
}

describe('/metrics', () => {
  it('counts connections per transport, messages, invocations, logins, refused tokens', async () => {
    const t = await token();
    const transports = {
      web_sockets: signalR.HttpTransportType.WebSockets,
      server_sent_events: signalR.HttpTransportType.ServerSentEvents,
      long_polling: signalR.HttpTransportType.LongPolling,
    };
    const before = await scrape();
    const conns = [];
    for (const [, transport] of Object.entries(transports)) {
      const c = connect(`${sh.url}/hubs/stocks`, { transport, accessTokenFactory: () => t });
      await c.start();
      await c.invoke('Subscribe', 'MSFT');
      conns.push(c);
    }
    const items = [];
    const sub = conns[0].stream('StreamStockPrices').subscribe({ next: (e) => items.push(e), error() {}, complete() {} });
    while (items.length < 3) await delay(20);
    await fetch(`${sh.url}/api/me`, { headers: { Authorization: 'Bearer not.a.token' } });

    const during = await scrape();
    for (const label of Object.keys(transports))
      assert.equal(value(during, 'signalr_server_active_connections', { signalr_transport: label }) -
        (value(before, 'signalr_server_active_connections', { signalr_transport: label }) ?? 0), 1, label);
    assert.equal(value(during, 'hubcast_hub_invocations_total', { hub: '/hubs/stocks', method: 'Subscribe' }) -
      (value(before, 'hubcast_hub_invocations_total', { hub: '/hubs/stocks', method: 'Subscribe' }) ?? 0), 3);
    assert.ok(value(during, 'hubcast_hub_invocation_duration_seconds_count', { method: 'Subscribe' }) >= 3);
    assert.ok(value(during, 'hubcast_hub_messages_sent_total', { hub: '/hubs/stocks' }) >= 6, 'handshakes, completions, items');
    assert.ok(value(during, 'hubcast_hub_sent_bytes_total', { hub: '/hubs/stocks' }) > 100);
    assert.ok(value(during, 'hubcast_hub_messages_received_total', { hub: '/hubs/stocks' }) >= 4);
    assert.ok(value(during, 'stockhub_logins_total', { outcome: 'success' }) >= 1);
    assert.ok(value(during, 'hubcast_jwt_validation_failures_total', { reason: 'malformed' }) >= 1);
    assert.ok(value(during, 'http_server_request_duration_seconds_count',
      { http_request_method: 'POST', http_route: '/hubs/stocks/negotiate', http_response_status_code: '200' }) >= 3);

    sub.dispose();
    for (const c of conns) await c.stop();
    let after;
    for (let i = 0; i < 100; i++) {
      after = await scrape();
      if (value(after, 'signalr_server_active_connections') === value(before, 'signalr_server_active_connections')) break;
      await delay(50);
    }
    assert.equal(value(after, 'signalr_server_active_connections'), value(before, 'signalr_server_active_connections'));
    for (const label of Object.keys(transports))
      assert.ok(value(after, 'signalr_server_connection_duration_seconds_count',
        { signalr_transport: label, signalr_connection_status: 'normal_closure' }) >= 1, label);
  });

  it('passes promtool check metrics', { skip: promtool() ? false : 'promtool not installed (Debian package prometheus)' }, async () => {
    const text = await scrape();
    const r = spawnSync(promtool(), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no lint warnings');
  });

  it('answers only GET and HEAD', async () => {
    const res = await fetch(`${sh.url}/metrics`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });

  it('is scraped by a real Prometheus server that answers a query', { skip: fs.existsSync('/usr/bin/prometheus') ? false : 'prometheus not installed (Debian package prometheus)' }, async () => {
    const dir = fs.mkdtempSync(path.join(sh.dir, 'prometheus-'));
    const port = await freePort();
    const target = new URL(sh.url).host;
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: stockhub',
      `    static_configs: [{ targets: ['${target}'] }]`, ''].join('\n'));
    const prom = spawn('/usr/bin/prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prom.stderr.on('data', (d) => (log += d));
    try {
      let result = [];
      for (let i = 0; i < 150 && result.length === 0; i++) {
        await delay(200);
        try {
          const q = encodeURIComponent('sum by (hub) (hubcast_hub_invocations_total)');
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${q}`);
          if (res.ok) result = (await res.json()).data.result;
        } catch { /* not up yet */ }
      }
      assert.ok(result.length > 0, `no answer from Prometheus: ${log.slice(-2000)}`);
      assert.equal(result[0].metric.hub, '/hubs/stocks');
      const up = await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json();
      assert.equal(up.data.result[0].value[1], '1', 'the target is up');
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.on('exit', r));
    }
  });
});

describe('Metrics configuration', () => {
  it('serves on a listener of its own with Metrics:Urls, and not at all when disabled', async () => {
    const own = await startStockhub(['--Metrics:Urls=http://127.0.0.1:0', '--Metrics:Path=/internal/metrics']);
    try {
      for (let i = 0; i < 50 && !/Metrics listening on:/.test(own.output); i++) await delay(20);
      const m = own.output.match(/Metrics listening on: (http:\/\/\S+)/);
      assert.ok(m, own.output);
      const text = await scrape(`${m[1]}/internal/metrics`);
      assert.match(text, /signalr_server_active_connections/);
      assert.equal((await fetch(`${own.url}/internal/metrics`)).status, 404, 'not on the public listener');
    } finally {
      await stopCleanly(own);
    }
    const off = await startStockhub(['--Metrics:Enabled=false']);
    try {
      assert.equal((await fetch(`${off.url}/metrics`)).status, 404);
    } finally {
      await stopCleanly(off);
    }
  });
});
