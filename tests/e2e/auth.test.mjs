// JWT bearer authentication with the official client (signalr-protocol.md §12).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, signalR, startServer, stopCleanly } from './helpers.mjs';

let server;
before(async () => {
  // A short clock skew so that a 2-second token really expires during the test.
  server = await startServer(['--clock-skew-s', '1']);
});
after(() => stopCleanly(server));

async function token(query = '') {
  const res = await fetch(`${server.url}/generateJwtToken${query}`);
  assert.equal(res.status, 200);
  return res.text();
}

describe('authentication', () => {
  it('refuses negotiate without a token: 401, empty body, Unauthorized', async () => {
    const res = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1`, { method: 'POST' });
    assert.equal(res.status, 401);
    assert.equal(res.statusText, 'Unauthorized');
    assert.equal(await res.text(), '');
    const c = connect(`${server.url}/authorizedhub`);
    await assert.rejects(c.start(), {
      message: "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
    });
  });

  it('refuses a bad token and a tampered token', async () => {
    for (const t of ['nonsense', (await token()).slice(0, -2) + 'xx']) {
      const res = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t}` },
      });
      assert.equal(res.status, 401);
    }
  });

  for (const [name, transport] of [
    ['WebSockets', signalR.HttpTransportType.WebSockets],
    ['ServerSentEvents', signalR.HttpTransportType.ServerSentEvents],
    ['LongPolling', signalR.HttpTransportType.LongPolling],
  ]) {
    it(`connects with a synchronous token factory over ${name}`, async () => {
      const t = await token();
      const c = connect(`${server.url}/authorizedhub`, { transport, accessTokenFactory: () => t });
      await c.start();
      assert.equal(await c.invoke('Echo', 'secure'), 'secure');
      assert.equal(await c.invoke('GetUserIdentifier'), 'testuser');
      assert.equal(c.state, 'Connected');
      await c.stop();
    });

    it(`connects with an asynchronous token factory over ${name}`, async () => {
      const c = connect(`${server.url}/authorizedhub`, { transport, accessTokenFactory: () => token('?user=async') });
      await c.start();
      assert.equal(await c.invoke('GetUserIdentifier'), 'async');
      await c.stop();
    });

    it(`refuses every transport request without a token over ${name}`, async () => {
      const t = await token();
      const neg = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t}` },
      });
      const { connectionToken } = await neg.json();
      const headers = transport === signalR.HttpTransportType.ServerSentEvents ? { Accept: 'text/event-stream' } : {};
      const res = await fetch(`${server.url}/authorizedhub?id=${connectionToken}`, { headers });
      assert.equal(res.status, 401);
      const post = await fetch(`${server.url}/authorizedhub?id=${connectionToken}`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 401);
    });
  }

  it('accepts the token in the query string on the hub path (browser style)', async () => {
    const t = await token();
    const neg = await fetch(`${server.url}/authorizedhub/negotiate?negotiateVersion=1&access_token=${t}`, {
      method: 'POST',
    });
    assert.equal(neg.status, 200);
    const { connectionToken } = await neg.json();
    const ws = new WebSocket(
      `${server.url.replace('http', 'ws')}/authorizedhub?id=${connectionToken}&access_token=${encodeURIComponent(t)}`,
    );
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('unexpected-response', (req, res) => j(new Error(`status ${res.statusCode}`)));
    });
    ws.close(1000);
  });

  it('refuses a WebSocket upgrade without a token', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/authorizedhub`);
    const status = await new Promise((r) => ws.on('unexpected-response', (req, res) => r(res.statusCode)));
    assert.equal(status, 401);
  });

  it('never reads a query-string token on a non-hub path', async () => {
    const t = await token();
    let res = await fetch(`${server.url}/api/whoami?access_token=${t}`);
    assert.equal(res.status, 401);
    res = await fetch(`${server.url}/api/whoami`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'testuser');
  });
});

describe('authorization', () => {
  it('refuses a method whose policy fails and keeps the connection', async () => {
    const c = connect(`${server.url}/authorizedhub`, { accessTokenFactory: () => token() });
    await c.start();
    await assert.rejects(c.invoke('AdminOnly'), {
      message: "Failed to invoke 'AdminOnly' because user is unauthorized",
    });
    assert.equal(await c.invoke('Echo', 'still here'), 'still here');
    await c.stop();
    const admin = connect(`${server.url}/authorizedhub`, { accessTokenFactory: () => token('?role=Admin') });
    await admin.start();
    assert.equal(await admin.invoke('AdminOnly'), 'admin');
    await admin.stop();
  });
});

describe('close on authentication expiration', () => {
  it('closes when the token expires and reconnects with a fresh one', { timeout: 30000 }, async () => {
    let issued = 0;
    const c = connect(
      `${server.url}/authorizedhub-closeonexpiry`,
      {
        accessTokenFactory: async () => {
          issued++;
          return token('?lifetime=2');
        },
      },
      (b) => b.withAutomaticReconnect([0, 500, 1000]),
    );
    await c.start();
    const first = c.connectionId;
    const reconnecting = new Promise((r) => c.onreconnecting(r));
    const reconnected = new Promise((r) => c.onreconnected(r));
    const error = await reconnecting;
    assert.equal(error, undefined, 'the Close carries no error');
    await reconnected;
    assert.notEqual(c.connectionId, first);
    assert.ok(issued >= 2, 'a fresh token was requested');
    assert.equal(await c.invoke('Echo', 'renewed'), 'renewed');
    await c.stop();
  });

  it('without automatic reconnect the client just closes, without an error', { timeout: 30000 }, async () => {
    const c = connect(`${server.url}/authorizedhub-closeonexpiry`, {
      accessTokenFactory: () => token('?lifetime=1'),
    });
    const closed = new Promise((r) => c.onclose(r));
    await c.start();
    assert.equal(await closed, undefined);
    assert.equal(c.state, signalR.HubConnectionState.Disconnected);
  });
});
