// Sends to one connection, to a user's connections and to groups, and group changes made for
// another connection, on a server with two shards: each goes only to the shard(s) that own the
// recipients (lifetime/connection_directory.hpp) and reaches exactly the right connections,
// JSON and MessagePack clients alike.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, delay, startServer, stopCleanly } from './helpers.mjs';

let server;
const clients = [];
// Six connections: u1 ×3, u2 ×2, u3 ×1, accepted in turn by the two shards.
const users = ['u1', 'u2', 'u1', 'u3', 'u2', 'u1'];

before(async () => {
  server = await startServer(['--threads', '2']);
  for (const [k, user] of users.entries()) {
    const res = await fetch(`${server.url}/generateJwtToken?user=${user}&lifetime=300`);
    const token = await res.text();
    const conn = connect(`${server.url}/authorizedhub`, { accessTokenFactory: () => token }, (b) =>
      k % 2 ? b.withHubProtocol(new MessagePackHubProtocol()) : b,
    );
    const got = [];
    conn.on('Message', (m) => got.push(m));
    await conn.start();
    clients.push({ conn, user, got, id: await conn.invoke('GetConnectionId') });
  }
});
after(async () => {
  await Promise.all(clients.map((c) => c.conn.stop()));
  await stopCleanly(server);
});

// Waits until `expected` connections (by index) got `message`, then checks nobody else did.
async function reached(message, expected) {
  const end = Date.now() + 5000;
  const has = (c) => c.got.includes(message);
  while (!expected.every((k) => has(clients[k]))) {
    if (Date.now() > end) throw new Error(`"${message}" did not reach ${expected}`);
    await delay(10);
  }
  await delay(100);  // anything misrouted would have arrived by now
  const actual = clients.map((c, k) => (has(c) ? k : -1)).filter((k) => k >= 0);
  assert.deepEqual(actual, expected);
  for (const k of expected) assert.equal(clients[k].got.filter((m) => m === message).length, 1);
}

describe('sends to connections, users and groups across shards', () => {
  it('one connection: from every other connection, only that one', async () => {
    for (const [from, to] of [[0, 5], [5, 0], [1, 4], [2, 3]]) {
      await clients[from].conn.invoke('SendToConnection', clients[to].id, `c${from}->${to}`);
      await reached(`c${from}->${to}`, [to]);
    }
  });

  it('a user: every connection of that user, on whichever shard', async () => {
    await clients[3].conn.invoke('SendToUser', 'u1', 'to u1');
    await reached('to u1', [0, 2, 5]);
    await clients[0].conn.invoke('SendToUser', 'u2', 'to u2');
    await reached('to u2', [1, 4]);
    await clients[0].conn.invoke('SendToUser', 'nobody', 'to nobody');
    await delay(100);
    assert.ok(clients.every((c) => !c.got.includes('to nobody')));
  });

  it('groups: changes made for other connections, then sends to the group', async () => {
    await clients[0].conn.invoke('AddToGroup', clients[1].id, 'g');
    await clients[0].conn.invoke('AddToGroup', clients[4].id, 'g');
    await clients[3].conn.invoke('AddToGroup', clients[5].id, 'g');
    await clients[2].conn.invoke('SendToGroup', 'g', 'g first');
    await reached('g first', [1, 4, 5]);
    await clients[5].conn.invoke('RemoveFromGroup', clients[1].id, 'g');
    await clients[2].conn.invoke('SendToGroup', 'g', 'g second');
    await reached('g second', [4, 5]);
    // Unknown connections: no error, no effect.
    await clients[0].conn.invoke('AddToGroup', 'no-such-connection', 'g');
    await clients[0].conn.invoke('SendToConnection', 'no-such-connection', 'lost');
    await clients[2].conn.invoke('SendToGroup', 'g', 'g third');
    await reached('g third', [4, 5]);
  });

  it('a user who left is no longer reached; the others are', async () => {
    await clients[3].conn.stop();
    await clients[0].conn.invoke('SendToUser', 'u3', 'to u3 gone');
    await clients[0].conn.invoke('SendToConnection', clients[3].id, 'to c3 gone');
    await clients[0].conn.invoke('SendToUser', 'u1', 'to u1 again');
    await reached('to u1 again', [0, 2, 5]);
    assert.ok(!clients[3].got.includes('to u3 gone') && !clients[3].got.includes('to c3 gone'));
  });
});
