// Authentication refresh without reconnecting (ASP.NET Core 11; docs/auth.md): the 11.0 client's
// withAuthenticationRefresh() against /authorizedhub-refresh (CloseOnAuthenticationExpiration
// on) and /authorizedhub-refresh-noclose, the refresh endpoint's answers, and the 10.0 client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as signalR10 from '@microsoft/signalr-10';
import { connect, signalR, startServer, stopCleanly, waitFor } from './helpers.mjs';

let server;
before(async () => {
  // A short clock skew so that short tokens really expire; polls end after 1 s so that a long
  // poll goes out with the cached (expired) token.
  server = await startServer(['--clock-skew-s', '1', '--long-poll-timeout-ms', '1000']);
});
after(() => stopCleanly(server));

async function token({ lifetime = 60, user, role } = {}) {
  const q = new URLSearchParams({ lifetime: String(lifetime) });
  if (user) q.set('user', user);
  if (role) q.set('role', role);
  const res = await fetch(`${server.url}/generateJwtToken?${q}`);
  assert.equal(res.status, 200);
  return res.text();
}

async function negotiate(hub, bearer) {
  const res = await fetch(`${server.url}/${hub}/negotiate?negotiateVersion=1`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}` },
  });
  assert.equal(res.status, 200);
  return res.json();
}

function refresh(hub, { connectionToken, bearer, method = 'POST', query = '' } = {}) {
  const headers = {};
  if (connectionToken) headers['X-SignalR-Connection-Token'] = connectionToken;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return fetch(`${server.url}/${hub}/refresh${query}`, { method, headers });
}

const transports = [
  ['WebSockets', signalR.HttpTransportType.WebSockets],
  ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents],
  ['LongPolling', signalR.HttpTransportType.LongPolling],
];

describe('negotiate', () => {
  it('names the token lifetime only where refresh is on', async () => {
    const t = await token({ lifetime: 120 });
    const on = await negotiate('authorizedhub-refresh', t);
    assert.ok(on.tokenLifetimeSeconds > 100 && on.tokenLifetimeSeconds <= 120, `${on.tokenLifetimeSeconds}`);
    const off = await negotiate('authorizedhub', t);
    assert.equal(off.tokenLifetimeSeconds, undefined);
    const res = await refresh('authorizedhub', { connectionToken: off.connectionToken, bearer: t });
    assert.equal(res.status, 404, 'no refresh endpoint where refresh is off');
  });
});

describe('the 11.0 client refreshes instead of reconnecting', () => {
  it('keeps one connection past several token lifetimes on every transport', { timeout: 60000 }, async () => {
    await Promise.all(transports.map(async ([name, transport]) => {
      let issued = 0;
      const c = connect(
        `${server.url}/authorizedhub-refresh`,
        { transport, accessTokenFactory: () => token({ lifetime: 6, role: `r${++issued}` }) },
        (b) => b.withAutomaticReconnect([0]).withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: 3000 }),
      );
      const refreshed = [];
      const failed = [];
      const fromHub = [];
      let reconnects = 0;
      let issuedAtRefresh = 0;  // the newest token a completed refresh can have carried
      c.onAuthenticationRefreshed((e) => {
        issuedAtRefresh = issued;
        refreshed.push(e);
      });
      c.onAuthenticationRefreshFailed((e) => failed.push(e));
      c.onreconnecting(() => reconnects++);
      c.on('AuthenticationRefreshed', (roles) => fromHub.push(roles));
      const start = Date.now();
      await c.start();
      const id = c.connectionId;
      // The client asks its factory at negotiate and again for the transport.
      const firstRoles = await c.invoke('GetRoles');
      assert.equal(firstRoles, `r${issued}`, name);
      // Past the first token's end (6 s; the server closes at expiry) with two refreshes.
      await waitFor(() => refreshed.length >= 2 && Date.now() - start > 7500, 40000, `${name}: two refreshes`);
      assert.deepEqual(failed, [], name);
      assert.equal(reconnects, 0, `${name}: no reconnect`);
      assert.equal(c.state, signalR.HubConnectionState.Connected, name);
      assert.equal(c.connectionId, id, name);
      assert.ok(refreshed[0].newTokenLifetimeInSeconds > 0 && refreshed[0].newTokenLifetimeInSeconds <= 6, name);
      // New calls see the newest token's claims; the hub heard of every refresh.
      // New calls see a refreshed token's claims (a later refresh may be on its way meanwhile).
      const seenAfter = issuedAtRefresh;
      const roles = await c.invoke('GetRoles');
      const k = Number(roles.slice(1));
      assert.ok(k >= seenAfter && k > Number(firstRoles.slice(1)) && k <= issued, `${name}: ${roles}, refreshed at r${seenAfter}, issued r${issued}`);
      await waitFor(() => fromHub.length >= 2, 5000, `${name}: the hub's callback`);
      const n = (r) => Number(r.slice(1));
      assert.ok(n(fromHub[0]) > n(firstRoles) && n(fromHub[1]) > n(fromHub[0]), `${name}: ${fromHub}`);
      assert.equal(await c.invoke('GetUserIdentifier'), 'testuser', name);
      await c.stop();
    }));
  });

  it('a long poll with an expired token is answered 409; the client refreshes and polls on', { timeout: 30000 }, async () => {
    let started = false;
    let later = 0;
    const c = connect(
      `${server.url}/authorizedhub-refresh-noclose`,
      {
        transport: signalR.HttpTransportType.LongPolling,
        // Tokens of the start end in 2 s (+ 1 s of skew); the ones after live a minute.
        accessTokenFactory: () => (started ? (later++, token({ role: 'new' })) : token({ lifetime: 2, role: 'old' })),
      },
      (b) => b.withAuthenticationRefresh({ enableAutoRefresh: false }),
    );
    // The transport refreshes by itself (no onAuthenticationRefreshed event): the hub's
    // callback tells.
    const fromHub = [];
    c.on('AuthenticationRefreshed', (roles) => fromHub.push(roles));
    const closed = new Promise((r) => c.onclose(r));
    await c.start();
    started = true;
    const id = c.connectionId;
    await waitFor(() => fromHub.length >= 1, 15000, 'the refresh a 409 asked for');
    assert.deepEqual(fromHub, ['new']);
    assert.equal(later, 1, 'one token asked for: the refresh');
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    assert.equal(c.connectionId, id);
    assert.equal(await c.invoke('GetRoles'), 'new');
    await c.stop();
    assert.equal(await closed, undefined);
  });

  it('the application can refuse a refresh: the client is told, the connection runs on', { timeout: 30000 }, async () => {
    let started = false;
    const c = connect(
      `${server.url}/authorizedhub-refresh-noclose`,
      { accessTokenFactory: () => token({ role: started ? 'NoRefresh' : 'Viewer' }) },
      (b) => b.withAuthenticationRefresh({ enableAutoRefresh: false }),
    );
    await c.start();
    started = true;
    await assert.rejects(c.refreshAuthentication(), /Unexpected status code returned from authentication refresh '403'/);
    assert.equal(c.state, signalR.HubConnectionState.Connected);
    assert.equal(await c.invoke('GetRoles'), 'Viewer', 'nothing changed');
    await c.stop();
  });
});

describe('POST {hub}/refresh', () => {
  async function started(user = 'testuser') {
    const t = await token({ user, role: 'Viewer' });
    const c = connect(`${server.url}/authorizedhub-refresh-noclose`, { accessTokenFactory: () => t });
    await c.start();
    // The connection token is not exposed by the client: negotiate one of our own and start it
    // over long polling, which needs no socket kept open by the test.
    const n = await negotiate('authorizedhub-refresh-noclose', t);
    const first = await fetch(`${server.url}/authorizedhub-refresh-noclose?id=${n.connectionToken}`, {
      headers: { Authorization: `Bearer ${t}` },
    });
    assert.equal(first.status, 200);
    return { c, t, n };
  }

  it('answers 200 with the connection, the time and the new lifetime', async () => {
    const { c, n } = await started();
    const fresh = await token({ lifetime: 90, role: 'Admin' });
    const res = await refresh('authorizedhub-refresh-noclose', { connectionToken: n.connectionToken, bearer: fresh });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const body = await res.json();
    assert.equal(body.connectionId, n.connectionId);
    assert.ok(Math.abs(Date.parse(body.refreshedAt) - Date.now()) < 10000, body.refreshedAt);
    assert.ok(body.tokenLifetimeSeconds > 80 && body.tokenLifetimeSeconds <= 90);
    // The id in the query string is accepted too.
    const byQuery = await refresh('authorizedhub-refresh-noclose', { bearer: fresh, query: `?id=${n.connectionToken}` });
    assert.equal(byQuery.status, 200);
    await c.stop();
  });

  it('refuses with a JSON error and changes nothing', async () => {
    const { c, n, t } = await started();
    const hub = 'authorizedhub-refresh-noclose';
    const cases = [
      [await refresh(hub, { connectionToken: n.connectionToken, bearer: t, method: 'GET' }), 405, null],
      [await refresh(hub, { bearer: t }), 400, 'missing_connection_token'],
      [await refresh(hub, { connectionToken: n.connectionToken }), 401, 'invalid_token'],
      [await refresh(hub, { connectionToken: n.connectionToken, bearer: t.slice(0, -2) + 'xx' }), 401, 'invalid_token'],
      [await refresh(hub, { connectionToken: 'no-such-connection', bearer: t }), 404, 'connection_not_found'],
      [await refresh(hub, { connectionToken: n.connectionToken, bearer: await token({ user: 'mallory' }) }), 403, 'user_mismatch'],
      [await refresh(hub, { connectionToken: n.connectionToken, bearer: await token({ role: 'NoRefresh' }) }), 403, 'refresh_refused'],
    ];
    for (const [res, status, error] of cases) {
      assert.equal(res.status, status, `${error}`);
      if (error) {
        const body = await res.json();
        assert.equal(body.error, error);
        assert.equal(typeof body.error_description, 'string');
      }
    }
    assert.equal(cases[2][0].headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    // A poll with an expired token: 409, refresh first; with a forged one: 401.
    const expired = await fetch(`${server.url}/${hub}?id=${n.connectionToken}`, {
      headers: { Authorization: `Bearer ${await token({ lifetime: -30 })}` },
    });
    assert.equal(expired.status, 409);
    assert.deepEqual((await expired.json()).error, 'authentication_refresh_required');
    const forged = await fetch(`${server.url}/${hub}?id=${n.connectionToken}`, {
      headers: { Authorization: `Bearer ${t.slice(0, -2)}xx` },
    });
    assert.equal(forged.status, 401);
    // A poll of the connection still works with its own token: nothing was replaced.
    const poll = await fetch(`${server.url}/${hub}?id=${n.connectionToken}`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(poll.status, 200);
    await c.stop();
  });
});

describe('a long poll after a refresh', () => {
  it('with the replaced token does not bring its expiry back', { timeout: 30000 }, async () => {
    const hub = `${server.url}/authorizedhub-refresh`;  // closes at the token's end
    const old = await token({ lifetime: 3 });
    const n = await negotiate('authorizedhub-refresh', old);
    const url = `${hub}?id=${n.connectionToken}`;
    const as = (t) => ({ headers: { Authorization: `Bearer ${t}` } });
    assert.equal((await fetch(url, as(old))).status, 200);  // starts the connection
    const hs = await fetch(url, { method: 'POST', ...as(old), body: '{"protocol":"json","version":1}\x1e' });
    assert.equal(hs.status, 200);
    assert.equal(await (await fetch(url, as(old))).text(), '{}\x1e');
    const fresh = await token({ lifetime: 60 });
    const r = await refresh('authorizedhub-refresh', { connectionToken: n.connectionToken, bearer: fresh });
    assert.equal(r.status, 200);
    // A poll that still carries the old token (sent before the client had the new one).
    const late = await fetch(url, as(old));
    assert.equal(late.status, 200);
    // Past the old token's end: the connection is still there (a poll ends after 1 s, empty).
    await new Promise((res) => setTimeout(res, 3500));
    const after = await fetch(url, as(fresh));
    assert.equal(after.status, 200);
    assert.doesNotMatch(await after.text(), /"type":7/, 'not closed at the old token\'s end');
    await fetch(url, { method: 'DELETE', ...as(fresh) });
  });
});

describe('the 10.0 client', () => {
  it('ignores the token lifetime and is closed at the token end, as before', { timeout: 30000 }, async () => {
    const c = new signalR10.HubConnectionBuilder()
      .withUrl(`${server.url}/authorizedhub-refresh`, {
        transport: signalR10.HttpTransportType.WebSockets,
        accessTokenFactory: () => token({ lifetime: 2 }),
      })
      .configureLogging(signalR10.LogLevel.None)
      .build();
    const closed = new Promise((r) => c.onclose(r));
    await c.start();
    assert.equal(await c.invoke('Echo', 'old client'), 'old client');
    assert.equal(await closed, undefined);
  });
});
