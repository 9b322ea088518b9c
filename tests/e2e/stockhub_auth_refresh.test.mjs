// stockhub with the 11.0 client's withAuthenticationRefresh(): the price stream runs through
// three token lifetimes on one connection (CloseOnAuthenticationExpiration on, 6 s tokens),
// tokens renewed through /api/refresh; the refresh endpoint's CORS preflight and metrics.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, signalR, startStockhub, stopCleanly, waitFor } from './helpers.mjs';

let sh;
before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100', '--Auth:AccessTokenLifetime=00:00:06',
    '--Auth:ClockSkew=0', '--Cors:AllowedOrigins:0=http://allowed.example']);
});
after(() => stopCleanly(sh));

function post(path, body) {
  return fetch(`${sh.url}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
}

const pairs = [
  ['WebSockets', signalR.HttpTransportType.WebSockets, 'json'],
  ['WebSockets', signalR.HttpTransportType.WebSockets, 'messagepack'],
  ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents, 'json'],
  ['LongPolling', signalR.HttpTransportType.LongPolling, 'json'],
  ['LongPolling', signalR.HttpTransportType.LongPolling, 'messagepack'],
];

async function streamThroughThreeTokens([transportName, transport, protocol]) {
  const name = `${transportName}/${protocol}`;
  const email = 'trader@stockhub.local';
  let session = await (await post('/api/login', { email, password: sh.users[email] })).json();
  let renewed = 0;
  // The dashboard's rule: renewed when the connection asks (3 s before the end, or at half a
  // shorter life, and a second of slack), never for a connection that starts.
  const factory = async () => {
    if (Date.parse(session.expiresAt) - Date.now() <= 4000) {
      const r = await post('/api/refresh', { refreshToken: session.refreshToken });
      assert.equal(r.status, 200);
      session = await r.json();
      renewed++;
    }
    return session.token;
  };
  const c = connect(`${sh.url}/hubs/stocks`, { transport, accessTokenFactory: factory }, (b) => {
    b = b.withAutomaticReconnect([0]).withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 3000 });
    return protocol === 'messagepack' ? b.withHubProtocol(new MessagePackHubProtocol()) : b;
  });
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
  // Three 6-second tokens' ends (the server closes a connection at its token's end).
  await waitFor(() => Date.now() - start > 18500 && renewed >= 3, 50000, `${name}: three renewals`);
  sub.dispose();
  assert.equal(ended, null, `${name}: the stream never ended`);
  assert.equal(reconnects, 0, `${name}: no reconnect`);
  assert.equal(c.connectionId, id, name);
  assert.ok(refreshed >= 3, `${name}: ${refreshed} refreshes`);
  // No gap: ticks every 100 ms; a reconnect would end the stream (above) and take seconds. The
  // bound leaves room for a loaded machine (long polling's round trips under the sanitizer).
  let gap = 0;
  for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
  assert.ok(arrivals.length > 100 && gap < 3000, `${name}: ${arrivals.length} items, largest gap ${gap} ms`);
  await c.stop();
}

it('streams prices past three token lifetimes on one connection, every transport and protocol', { timeout: 90000 }, async () => {
  await Promise.all(pairs.map(streamThroughThreeTokens));
});

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
  assert.ok(count('refreshed') >= 15, text.match(/hubcast_authentication_refreshes_total.*/g)?.join('\n'));
  assert.equal(count('invalid_token'), 1);
});
