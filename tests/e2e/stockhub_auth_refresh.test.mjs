// stockhub with the 11.0 client's withAuthenticationRefresh(): the price stream runs through
// several token lifetimes on one connection (CloseOnAuthenticationExpiration on, 4 s tokens),
// tokens renewed through /api/refresh; the refresh endpoint's CORS preflight and metrics.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, signalR, startStockhub, stopCleanly, waitFor } from './helpers.mjs';

let sh;
before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100', '--Auth:AccessTokenLifetime=00:00:04',
    '--Auth:ClockSkew=0', '--Cors:AllowedOrigins:0=http://allowed.example']);
});
after(() => stopCleanly(sh));

function post(path, body) {
  return fetch(`${sh.url}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
}

for (const [name, transport] of [
  ['WebSockets', signalR.HttpTransportType.WebSockets],
  ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents],
  ['LongPolling', signalR.HttpTransportType.LongPolling],
]) {
  it(`streams prices past three token lifetimes on one ${name} connection`, { timeout: 60000 }, async () => {
    const email = 'trader@stockhub.local';
    let session = await (await post('/api/login', { email, password: sh.users[email] })).json();
    let renewed = 0;
    // The session's rule: a token with less than half its life left (and a second) is renewed.
    const factory = async () => {
      if (Date.parse(session.expiresAt) - Date.now() <= 3000) {
        const r = await post('/api/refresh', { refreshToken: session.refreshToken });
        assert.equal(r.status, 200);
        session = await r.json();
        renewed++;
      }
      return session.token;
    };
    const c = connect(`${sh.url}/hubs/stocks`, { transport, accessTokenFactory: factory },
      (b) => b.withAutomaticReconnect([0]).withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 3000 }));
    let reconnects = 0;
    let refreshed = 0;
    c.onreconnecting(() => reconnects++);
    c.onAuthenticationRefreshed(() => refreshed++);
    await c.start();
    const id = c.connectionId;
    const arrivals = [];
    let ended = null;
    const sub = c.stream('StreamStockPrices').subscribe({
      next: () => arrivals.push(Date.now()),
      complete: () => (ended = 'complete'),
      error: (e) => (ended = e),
    });
    const start = Date.now();
    // Three 4-second tokens' ends: the first connection's token is long gone.
    await waitFor(() => Date.now() - start > 12500 && renewed >= 3, 40000, `${name}: three renewals`);
    sub.dispose();
    assert.equal(ended, null, `${name}: the stream never ended`);
    assert.equal(reconnects, 0, `${name}: no reconnect`);
    assert.equal(c.connectionId, id);
    assert.ok(refreshed >= 3, `${name}: ${refreshed} refreshes`);
    // No gap: ticks every 100 ms, never a second without a price.
    let gap = 0;
    for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
    assert.ok(arrivals.length > 50 && gap < 1000, `${name}: ${arrivals.length} items, largest gap ${gap} ms`);
    await c.stop();
  });
}

it('answers the refresh endpoint\'s CORS preflight for an allowed origin, with the connection-token header', async () => {
  const res = await fetch(`${sh.url}/hubs/stocks/refresh`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'http://allowed.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,x-signalr-connection-token,x-signalr-user-agent',
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.match(res.headers.get('access-control-allow-methods'), /POST/);
  assert.match(res.headers.get('access-control-allow-headers'), /x-signalr-connection-token/i);
  const other = await fetch(`${sh.url}/hubs/stocks/refresh`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

it('counts refreshes by outcome in /metrics', async () => {
  const bad = await fetch(`${sh.url}/hubs/stocks/refresh`, {
    method: 'POST', headers: { 'X-SignalR-Connection-Token': 'nope', Authorization: 'Bearer nope' },
  });
  assert.equal(bad.status, 401);
  const text = await (await fetch(`${sh.url}/metrics`)).text();
  const count = (outcome) => Number(new RegExp(`hubcast_authentication_refreshes_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  assert.ok(count('refreshed') >= 6, text.match(/hubcast_authentication_refreshes_total.*/g)?.join('\n'));
  assert.equal(count('invalid_token'), 1);
});
