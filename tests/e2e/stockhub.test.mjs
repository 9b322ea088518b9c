// stockhub, the article's service, driven by the official clients: login, the stock hub over
// every transport/protocol pair, admin-only methods, refresh rotation, refusals.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, delay, once, signalR, startStockhub, stockhubToken, stopCleanly, stockhubDir } from './helpers.mjs';

const binDir = process.env.HUBCAST_BIN ?? path.resolve('build/bin');
let sh;
let url;
let users;
let dir;

before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100', '--Logging:LogLevel:Default=Debug',
    '--Cors:AllowedOrigins:0=http://allowed.example']);
  ({ url, users, dir } = sh);
});

after(() => stopCleanly(sh));

async function login(email, password = users[email]) {
  return fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
}

async function tokens(email) {
  const res = await login(email);
  assert.equal(res.status, 200);
  return res.json();
}

describe('HTTP API', () => {
  it('logs in and answers /api/me from the header only', async () => {
    const t = await tokens('admin@stockhub.local');
    assert.ok(t.token && t.refreshToken && t.expiresAt);
    const payload = JSON.parse(Buffer.from(t.token.split('.')[1], 'base64url'));
    assert.deepEqual(payload.role, ['Admin', 'Trader']);
    for (const claim of ['sub', 'email', 'iss', 'aud', 'iat', 'nbf', 'exp', 'jti']) assert.ok(claim in payload, claim);
    let res = await fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${t.token}` } });
    assert.deepEqual(await res.json(), { email: 'admin@stockhub.local', roles: ['Admin', 'Trader'] });
    res = await fetch(`${url}/api/me?access_token=${t.token}`);
    assert.equal(res.status, 401, 'no query tokens off hub paths');
  });

  it('refuses bad logins alike, malformed bodies and oversized ones', async () => {
    assert.equal((await login('admin@stockhub.local', 'wrong-password')).status, 401);
    assert.equal((await login('nobody@stockhub.local', 'wrong-password')).status, 401);
    let res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
    assert.equal(res.status, 400);
    res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'x'.repeat(5000) }) });
    assert.equal(res.status, 413);
  });

  it('throttles repeated failures for one account, saying when to come back', async () => {
    for (let i = 0; i < 5; i++) await login('throttle@stockhub.local', 'bad-password');
    const res = await login('throttle@stockhub.local', 'bad-password');
    assert.equal(res.status, 429);
    const after = Number(res.headers.get('retry-after'));
    assert.ok(after >= 1 && after <= 300, `Retry-After: ${res.headers.get('retry-after')}`);
  });

  it('is alive and ready', async () => {
    let res = await fetch(`${url}/healthz`);
    assert.equal(await res.text(), 'Healthy');
    res = await fetch(`${url}/readyz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'Healthy');
  });

  it('answers as ASP.NET Core does: a Bearer challenge, 415 and 405 with Allow', async () => {
    let res = await fetch(`${url}/api/me`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    res = await fetch(`${url}/api/me`, { headers: { Authorization: 'Bearer not.a.token' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    assert.equal(res.status, 415);
    res = await fetch(`${url}/api/login`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });

  it('rotates refresh tokens and revokes a family on reuse', async () => {
    const first = await tokens('trader@stockhub.local');
    let res = await fetch(`${url}/api/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: first.refreshToken }) });
    assert.equal(res.status, 200);
    const second = await res.json();
    assert.notEqual(second.refreshToken, first.refreshToken);
    res = await fetch(`${url}/api/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: first.refreshToken }) });
    assert.equal(res.status, 401, 'a spent token is refused');
    res = await fetch(`${url}/api/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: second.refreshToken }) });
    assert.equal(res.status, 401, 'and its whole family is revoked');
    const third = await tokens('trader@stockhub.local');
    res = await fetch(`${url}/api/logout`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: third.refreshToken }) });
    assert.equal(res.status, 204);
    res = await fetch(`${url}/api/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: third.refreshToken }) });
    assert.equal(res.status, 401);
  });

  it('answers /healthz', async () => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
  });
});

const pairs = [
  ['WebSockets', signalR.HttpTransportType.WebSockets, false],
  ['WebSockets', signalR.HttpTransportType.WebSockets, true],
  ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents, false],
  ['LongPolling', signalR.HttpTransportType.LongPolling, false],
  ['LongPolling', signalR.HttpTransportType.LongPolling, true],
];

for (const [name, transport, msgpack] of pairs) {
  describe(`/hubs/stocks over ${name} + ${msgpack ? 'MessagePack' : 'JSON'}`, () => {
    const hub = (token) =>
      connect(`${url}/hubs/stocks`, { transport, accessTokenFactory: () => token }, (b) =>
        msgpack ? b.withHubProtocol(new MessagePackHubProtocol()) : b,
      );

    it('refuses connections without a token', async () => {
      const c = hub(undefined);
      await assert.rejects(c.start(), /401/);
    });

    it('subscribes and streams prices for the subscriptions only', async () => {
      const { token } = await tokens('trader@stockhub.local');
      const c = hub(token);
      await c.start();
      const symbols = await c.invoke('GetAvailableSymbols');
      assert.deepEqual(symbols, ['MSFT', 'AAPL', 'GOOGL', 'AMZN', 'NVDA', 'TSLA']);
      const subscribed = once(c, 'Subscribed');
      await c.invoke('Subscribe', 'msft');
      assert.deepEqual(await subscribed, ['MSFT']);
      const error = once(c, 'Error');
      await c.invoke('Subscribe', 'nope');
      assert.deepEqual(await error, ["Symbol 'nope' is not available. Available symbols: MSFT, AAPL, GOOGL, AMZN, NVDA, TSLA"]);
      const events = [];
      // MessagePack keys are PascalCase like ASP.NET Core's MessagePack protocol; JSON is camelCase.
      const camel = (e) => (msgpack ? { id: e.Id, symbol: e.Symbol, price: e.Price, timestamp: e.Timestamp, keys: Object.keys(e) } : e);
      const sub = c.stream('StreamStockPrices').subscribe({ next: (e) => events.push(camel(e)), error() {}, complete() {} });
      for (let i = 0; i < 50 && events.length < 3; i++) await delay(50);
      assert.ok(events.length >= 3, 'prices arrive');
      assert.ok(events.every((e) => e.symbol === 'MSFT'));
      const e = events[0];
      if (msgpack) assert.deepEqual(e.keys.sort(), ['Id', 'Price', 'Symbol', 'Timestamp']);
      else assert.deepEqual(Object.keys(e).sort(), ['id', 'price', 'symbol', 'timestamp']);
      // A decimal, like the article's C# record: a JSON number; a MessagePack string (as
      // MessagePack-CSharp writes and reads it), exact cents either way.
      if (msgpack) assert.match(e.price, /^\d+\.\d\d$/);
      else assert.equal(typeof e.price, 'number');
      assert.equal(Math.round(Number(e.price) * 100), Math.round(Number(e.price) * 100 + 1e-9));
      if (msgpack) assert.ok(e.timestamp instanceof Date);
      else assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // Subscription changes apply to the running stream at once.
      await c.invoke('Subscribe', 'AAPL');
      await c.invoke('Unsubscribe', 'MSFT');
      await delay(300);
      const before = events.length;
      for (let i = 0; i < 50 && events.length < before + 2; i++) await delay(50);
      assert.ok(events.slice(before).every((x) => x.symbol === 'AAPL'));
      sub.dispose();
      await c.stop();
    });

    it('keeps admin methods for admins', async () => {
      const trader = hub((await tokens('trader@stockhub.local')).token);
      const admin = hub((await tokens('admin@stockhub.local')).token);
      await trader.start();
      await admin.start();
      await assert.rejects(trader.invoke('BroadcastMessage', 'hi'), {
        message: "Failed to invoke 'BroadcastMessage' because user is unauthorized",
      });
      await assert.rejects(trader.invoke('GetConnectedUsersCount'), /because user is unauthorized/);
      const seen = once(trader, 'SystemMessage');
      await admin.invoke('BroadcastMessage', 'Market closes early today');
      assert.deepEqual(await seen, ['Market closes early today']);
      assert.ok((await admin.invoke('GetConnectedUsersCount')) >= 2);
      await trader.stop();
      await admin.stop();
    });
  });
}

describe('the market\'s pace', () => {
  it('is an admin\'s to set (SetTickInterval), from 1 ms to 1 min, from the next tick on', async () => {
    const hub = (token) => connect(`${url}/hubs/stocks`, { accessTokenFactory: () => token });
    const trader = hub((await tokens('trader@stockhub.local')).token);
    const admin = hub((await tokens('admin@stockhub.local')).token);
    await trader.start();
    await admin.start();
    await assert.rejects(trader.invoke('SetTickInterval', 5), /because user is unauthorized/);
    for (const bad of [0, 0.5, 60001, -1, 'fast', null]) {
      await assert.rejects(admin.invoke('SetTickInterval', bad), /(invoking|invoke) 'SetTickInterval'/, String(bad));
    }
    await assert.rejects(admin.invoke('SetTickInterval', 0),
      { message: "An unexpected error occurred invoking 'SetTickInterval' on the server. HubException: The tick interval is from 1 to 60000 milliseconds." });
    // The gaps between one symbol's timestamps (the server's clock: no delivery jitter).
    await trader.invoke('Subscribe', 'MSFT');
    const stamps = [];
    const sub = trader.stream('StreamStockPrices').subscribe({ next: (e) => stamps.push(Date.parse(e.timestamp)), error() {}, complete() {} });
    const medianGap = async (n) => {
      const from = stamps.length;
      for (let i = 0; i < 200 && stamps.length < from + n + 1; i++) await delay(50);
      const gaps = stamps.slice(from + 1).map((t, i) => t - stamps[from + i]).sort((a, b) => a - b);
      return gaps[Math.floor(gaps.length / 2)];
    };
    assert.ok((await medianGap(5)) >= 80, 'the configured 100 ms');
    await admin.invoke('SetTickInterval', 20);
    await delay(250);
    assert.ok((await medianGap(20)) <= 40, 'now 20 ms');
    await admin.invoke('SetTickInterval', 100);
    sub.dispose();
    await trader.stop();
    await admin.stop();
  });
});

describe('security practices', () => {
  it('refuses oversized hub messages (32 KB)', async () => {
    const c = connect(`${url}/hubs/stocks`, { accessTokenFactory: async () => (await tokens('trader@stockhub.local')).token });
    const closed = new Promise((r) => c.onclose(r));
    await c.start();
    c.invoke('Subscribe', 'x'.repeat(40000)).catch(() => {});
    assert.match(String(await closed), /Connection closed with an error/);
  });

  it('applies the CORS allowlist, and refuses WebSocket upgrades from foreign origins', async () => {
    const { token } = await tokens('trader@stockhub.local');
    // Preflight and response from an origin outside Cors:AllowedOrigins: no grant.
    let res = await fetch(`${url}/hubs/stocks/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' },
    });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    res = await fetch(`${url}/api/login`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://allowed.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://allowed.example', 'exact origin, never *');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    const { default: WebSocket } = await import('ws');
    const wsUrl = `${url.replace('http', 'ws')}/hubs/stocks?access_token=${token}`;
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { Origin: 'http://evil.example' } });
      ws.on('unexpected-response', (req, r) => resolve(r.statusCode));
      ws.on('open', () => resolve(101));
    });
    assert.equal(status, 403);
    const allowed = await new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { Origin: 'http://allowed.example' } });
      ws.on('unexpected-response', (req, r) => resolve(r.statusCode));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
    });
    assert.equal(allowed, 101);
  });

  it('never writes a token to the log', async () => {
    const { token, refreshToken } = await tokens('admin@stockhub.local');
    const c = connect(`${url}/hubs/stocks`, { transport: signalR.HttpTransportType.ServerSentEvents, accessTokenFactory: () => token });
    await c.start(); // SSE puts the token in the query string
    await c.stop();
    await delay(100);
    assert.ok(sh.output.includes('access_token=[redacted]') || sh.output.includes('/hubs/stocks'), 'requests are logged at Debug');
    assert.ok(!sh.output.includes(token), 'no access token');
    assert.ok(!sh.output.includes(refreshToken), 'no refresh token');
  });
});

describe('command line', () => {
  const run = (args, input) =>
    new Promise((resolve) => {
      const p = spawn(path.join(binDir, 'stockhub'), args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.stdin.on('error', () => {});  // EPIPE when it exits before reading: not the test's concern
      if (input !== undefined) p.stdin.end(input);
      else p.stdin.end();
      p.on('exit', (code) => resolve({ code, out }));
    });

  it('refuses to start in Production without a 32-byte Auth:Key', async () => {
    const r = await run(['--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/prod.db`]);
    assert.equal(r.code, 1);
    assert.match(r.out, /Auth:Key must be at least 32 bytes/);
  });

  it('keeps request lines out of the log when the hosting category is at Warning', async () => {
    const p = spawn(path.join(binDir, 'stockhub'), [
      '--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/log.db`,
      '--Logging:LogLevel:Microsoft.AspNetCore.Hosting=Warning',
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    p.stderr.on('data', (d) => (log += d));
    const base = await new Promise((resolve) => p.stdout.on('data', (d) => {
      log += d;
      const l = log.match(/Now listening on: (http:\/\/\S+)/);
      if (l) resolve(l[1]);
    }));
    await fetch(`${base}/healthz?access_token=secret-value`);
    await delay(100);
    p.kill('SIGTERM');
    await new Promise((r) => p.on('exit', r));
    assert.ok(!log.includes('/healthz'), 'no request line');
    assert.ok(!log.includes('secret-value'));
  });

  it('manages users: add, list, set-password, remove', async () => {
    const db = `--Database:Path=${dir}/cli.db`;
    let r = await run(['users', 'add', 'ops@stockhub.local', '--role', 'Admin', '--password-stdin', db], 'a-long-password\n');
    assert.equal(r.code, 0, r.out);
    r = await run(['users', 'add', 'gen@stockhub.local', db]);
    assert.match(r.out, /password: \S{16,}/, 'a generated password is printed');
    r = await run(['users', 'list', db]);
    assert.match(r.out, /ops@stockhub\.local\tAdmin/);
    r = await run(['users', 'add', 'ops@stockhub.local', '--password-stdin', db], 'another-password\n');
    assert.equal(r.code, 1, 'duplicates refused');
    r = await run(['users', 'set-password', 'ops@stockhub.local', '--password-stdin', db], 'changed-password\n');
    assert.equal(r.code, 0);
    r = await run(['users', 'remove', 'ops@stockhub.local', db]);
    assert.equal(r.code, 0);
    r = await run(['users', 'remove', 'ops@stockhub.local', db]);
    assert.equal(r.code, 1);
  });
});

describe('token expiry', () => {
  it('closes connections whose token expires; the client refreshes and reconnects; expired tokens are refused', { timeout: 60000 }, async () => {
    const d = stockhubDir('stockhub-exp-');
    const p = spawn(path.join(binDir, 'stockhub'), [
      '--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${d}/u.db`,
      '--Auth:AccessTokenLifetime=00:00:02', '--Auth:ClockSkew=0',
    ], { cwd: d, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const creds = {};
    const base = await new Promise((resolve) => p.stdout.on('data', (chunk) => {
      out += chunk;
      for (const m of out.matchAll(/Development user: (\S+) \/ (\S+)/g)) creds[m[1]] = m[2];
      const l = out.match(/Now listening on: (http:\/\/\S+)/);
      if (l) resolve(l[1]);
    }));
    try {
      const res = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'trader@stockhub.local', password: creds['trader@stockhub.local'] }),
      });
      let session = await res.json();
      let refreshes = 0;
      const c = connect(`${base}/hubs/stocks`, {
        accessTokenFactory: async () => {
          if (Date.parse(session.expiresAt) - Date.now() < 1000) {
            const r = await fetch(`${base}/api/refresh`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: session.refreshToken }) });
            session = await r.json();
            refreshes++;
          }
          return session.token;
        },
      }, (b) => b.withAutomaticReconnect([0, 200, 500]));
      await c.start();
      const expired = session.token;
      const reconnected = new Promise((r) => c.onreconnected(r));
      await reconnected;
      assert.ok(refreshes >= 1, 'the factory refreshed the token');
      assert.deepEqual((await c.invoke('GetAvailableSymbols')).length, 6);
      await c.stop();
      const neg = await fetch(`${base}/hubs/stocks/negotiate?negotiateVersion=1`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${expired}` },
      });
      assert.equal(neg.status, 401, 'an expired token is refused');
    } finally {
      p.kill('SIGTERM');
    }
  });
});

// A long-polling client that ends with a Close message and no DELETE (hubcast's C++ client
// stops polling once a poll answers 204): the connection ends at that 204, OnDisconnected runs
// at once and nothing waits for the connection to time out (nor holds a graceful shutdown).
it('a long-polling connection closed by its Close message is disconnected at once', { timeout: 20000 }, async () => {
  const token = await stockhubToken(sh, 'trader@stockhub.local');
  const auth = { Authorization: `Bearer ${token}` };
  const neg = await (await fetch(`${url}/hubs/stocks/negotiate?negotiateVersion=1`, { method: 'POST', headers: auth })).json();
  const conn = `${url}/hubs/stocks?id=${encodeURIComponent(neg.connectionToken)}`;
  const left = () => sh.output.split("User 'trader@stockhub.local' disconnected").length - 1;
  const before = left();
  assert.equal((await fetch(conn, { headers: auth })).status, 200, 'the first poll starts the connection');
  assert.equal((await fetch(conn, { method: 'POST', headers: auth, body: '{"protocol":"json","version":1}\x1e' })).status, 200);
  assert.equal(await (await fetch(conn, { headers: auth })).text(), '{}\x1e', 'the handshake response');
  assert.equal((await fetch(conn, { method: 'POST', headers: auth, body: '{"type":7}\x1e' })).status, 200);
  let status = 200;
  for (let i = 0; i < 20 && status === 200; ++i) status = (await fetch(conn, { headers: auth })).status;
  assert.equal(status, 204, 'the poll after the Close message is the last one');
  for (let i = 0; i < 40 && left() === before; ++i) await delay(50);
  assert.equal(left(), before + 1, 'OnDisconnected ran within 2 s');
  assert.equal((await fetch(conn, { method: 'POST', headers: auth, body: '{"type":6}\x1e' })).status, 404, 'the connection is gone');
});
