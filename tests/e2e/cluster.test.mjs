// One hub across servers on a real Redis (redis-server started here on a free port): two
// hubcast-conformance nodes and, where the .NET SDK is installed, one stock ASP.NET Core node
// (tests/dotnet/ClusterNode, AddStackExchangeRedis) with the same ClusterHub. Official JS
// clients on every node, JSON and MessagePack: every kind of send crosses the servers in each
// direction and reaches exactly the right connections; group changes for connections owned by
// another server; client results across servers; a Redis restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import {
  connect, delay, redisServerPath, startListening, startRedis, startServer, stopCleanly,
} from './helpers.mjs';

const haveRedis = redisServerPath() !== null;
let haveDotnet = false;
try {
  execFileSync('dotnet', ['--version'], { stdio: 'ignore' });
  haveDotnet = true;
} catch {
  haveDotnet = false;
}
if (!haveDotnet) console.log('# .NET node skipped: the .NET SDK (`dotnet`) is not installed');

let redis;
const nodes = {};
const clients = {};  // name -> { conn, node, user, got, id }

// name: node, protocol, user. The .NET node's clients only when it runs.
const plan = [
  ['a1', 'a', 'json', 'alice'],
  ['a2', 'a', 'messagepack', 'bob'],
  ['b1', 'b', 'messagepack', 'alice'],
  ['b2', 'b', 'json', 'carol'],
  ['c1', 'c', 'json', 'bob'],
  ['c2', 'c', 'messagepack', 'dave'],
];

async function openClient(name, node, protocol, user) {
  const conn = connect(`${nodes[node].url}/clusterhub?user=${user}`, {}, (b) =>
    protocol === 'messagepack' ? b.withHubProtocol(new MessagePackHubProtocol()) : b,
  );
  const got = [];
  conn.on('Message', (m) => got.push(m));
  conn.on('Result', () => 100 + Object.keys(clients).indexOf(name));
  await conn.start();
  clients[name] = { conn, node, user, got, id: await conn.invoke('GetConnectionId') };
}

before(async () => {
  if (!haveRedis) return;
  redis = await startRedis();
  nodes.a = await startServer(['--redis', redis.config, '--threads', '2']);
  nodes.b = await startServer(['--redis', redis.config]);
  if (haveDotnet) {
    const dir = path.resolve('tests/dotnet/ClusterNode');
    execFileSync('dotnet', ['build', '-c', 'Release', '--nologo', '-v', 'q', dir], {
      stdio: 'ignore',
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
    });
    nodes.c = await startListening('dotnet', [
      path.join(dir, 'bin/Release/net10.0/ClusterNode.dll'),
      '--urls', 'http://127.0.0.1:0', '--redis', redis.config,
    ], { env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Production' } });
  }
  for (const [name, node, protocol, user] of plan) {
    if (nodes[node]) await openClient(name, node, protocol, user);
  }
  await delay(200);  // every server has made its subscriptions
});

after(async () => {
  await Promise.all(Object.values(clients).map((c) => c.conn.stop()));
  for (const k of ['a', 'b']) if (nodes[k]) await stopCleanly(nodes[k]);
  if (nodes.c) await nodes.c.stop();
  if (redis) await redis.close();
});

const names = () => Object.keys(clients);
// Only the clients that exist in this run (the .NET node's may not).
const present = (list) => list.filter((n) => clients[n]);

let seq = 0;
// Waits until each of `expected` got `message` (`copies` times), then checks nobody else did.
async function reached(message, expected, copies = 1) {
  expected = present(expected);
  const count = (n) => clients[n].got.filter((m) => m === message).length;
  const end = Date.now() + 5000;
  while (!expected.every((n) => count(n) >= copies)) {
    if (Date.now() > end) {
      const have = names().filter((n) => count(n) > 0);
      throw new Error(`"${message}" reached [${have}], expected [${expected}]`);
    }
    await delay(10);
  }
  await delay(150);  // a misrouted copy would have arrived by now
  assert.deepEqual(names().filter((n) => count(n) > 0).sort(), [...expected].sort(),
    `recipients of "${message}"`);
  for (const n of expected) assert.equal(count(n), copies, `copies of "${message}" at ${n}`);
}

// `from` invokes `method(...args, message)`; the message is unique per call.
async function send(from, method, args, expected, copies = 1) {
  const message = `${method}#${++seq} from ${from}`;
  await clients[from].conn.invoke(method, ...args, message);
  await reached(message, expected, copies);
}

const senders = () => present(['a1', 'b2', 'c1', 'a2', 'b1', 'c2']);

describe('a hub on a Redis backplane', { skip: !haveRedis && 'redis-server is not installed' }, () => {
  it('all, others, all except: from every server to every server', async () => {
    for (const from of senders()) {
      await send(from, 'SendToAll', [], names());
      await send(from, 'SendToOthers', [], names().filter((n) => n !== from));
    }
    await send('a1', 'SendToAllExcept', [present(['b1', 'c2']).map((n) => clients[n].id)],
      names().filter((n) => !['b1', 'c2'].includes(n)));
    if (clients.c1)
      await send('c1', 'SendToAllExcept', [[clients.a2.id, clients.b2.id]],
        names().filter((n) => !['a2', 'b2'].includes(n)));
  });

  it('one connection and several: every direction, local ones included', async () => {
    for (const from of senders())
      for (const to of names()) await send(from, 'SendToConnection', [clients[to].id], [to]);
    const some = present(['a1', 'b2', 'c2']);
    for (const from of senders())
      await send(from, 'SendToConnections', [some.map((n) => clients[n].id)], some);
    // An unknown connection: the call succeeds, nobody receives it.
    await send('a1', 'SendToConnection', ['no-such-connection'], []);
  });

  it('users: every connection of the user on every server', async () => {
    for (const from of senders()) {
      await send(from, 'SendToUser', ['alice'], ['a1', 'b1']);
      await send(from, 'SendToUser', ['bob'], ['a2', 'c1']);
      await send(from, 'SendToUsers', [['carol', 'dave']], ['b2', 'c2']);
    }
    await send('b1', 'SendToUser', ['nobody'], []);
  });

  it('groups: joins, changes for connections on other servers, every send kind', async () => {
    // g1: a1, b1, c1 join themselves.
    for (const n of present(['a1', 'b1', 'c1'])) await clients[n].conn.invoke('JoinGroup', 'g1');
    for (const from of senders()) await send(from, 'SendToGroup', ['g1'], ['a1', 'b1', 'c1']);
    // g2 assembled by others, across servers: hubcast→hubcast, hubcast→.NET, .NET→hubcast.
    await clients.b1.conn.invoke('AddToGroup', clients.a2.id, 'g2');
    await clients.a1.conn.invoke('AddToGroup', clients.b2.id, 'g2');
    if (clients.c2) {
      await clients.a1.conn.invoke('AddToGroup', clients.c2.id, 'g2');
      await clients.c1.conn.invoke('AddToGroup', clients.a1.id, 'g2');
    }
    const g2 = present(['a2', 'b2', 'c2']).concat(clients.c1 ? ['a1'] : []);
    for (const from of senders()) await send(from, 'SendToGroup', ['g2'], g2);
    // Removed by a connection of another server.
    if (clients.c2) await clients.c2.conn.invoke('RemoveFromGroup', clients.b2.id, 'g2');
    else await clients.a1.conn.invoke('RemoveFromGroup', clients.b2.id, 'g2');
    const g2after = g2.filter((n) => n !== 'b2');
    for (const from of senders()) await send(from, 'SendToGroup', ['g2'], g2after);
    // One message per group (as ASP.NET Core): a member of both gets two.
    const g1 = present(['a1', 'b1', 'c1']);
    const members = [...new Set([...g1, ...g2after])];
    const message = `SendToGroups#${++seq} from b2`;
    await clients.b2.conn.invoke('SendToGroups', ['g1', 'g2', ''], message);
    const want = (n) => (g1.includes(n) ? 1 : 0) + (g2after.includes(n) ? 1 : 0);
    const copies = (n) => clients[n].got.filter((m) => m === message).length;
    const end = Date.now() + 5000;
    while (!members.every((n) => copies(n) >= want(n)) && Date.now() < end) await delay(10);
    await delay(150);
    for (const n of names()) assert.equal(copies(n), want(n), `copies of "${message}" at ${n}`);
    await send('a2', 'SendToGroupExcept', ['g1', [clients.b1.id]], present(['a1', 'c1']));
    for (const from of present(['a1', 'b1', 'c1']))
      await send(from, 'SendToOthersInGroup', ['g1'], present(['a1', 'b1', 'c1']).filter((n) => n !== from));
    // Leaving: the last local member's server stops receiving the group.
    await clients.b1.conn.invoke('LeaveGroup', 'g1');
    await send('a1', 'SendToGroup', ['g1'], present(['a1', 'c1']));
    await send('a1', 'SendToGroup', ['nobody-joined-this'], []);
  });

  it('client results: the caller waits for a client on another server', async () => {
    const expect = (n) => 100 + Object.keys(clients).indexOf(n);
    for (const from of senders())
      for (const to of names())
        assert.equal(await clients[from].conn.invoke('InvokeClient', clients[to].id), expect(to),
          `${from} -> ${to}`);
    await assert.rejects(clients.a1.conn.invoke('InvokeClient', 'no-such-connection'),
      /does not exist/);
  });

  it('a Redis restart: sends fail while it is down, everything works again after', async () => {
    await redis.stop();
    await delay(300);
    await assert.rejects(clients.a1.conn.invoke('SendToAll', 'while down'),
      /Redis backplane is unavailable|could not be sent/);
    const t0 = Date.now();
    await redis.start();
    // The servers reconnect and subscribe every channel again.
    let ok = false;
    while (!ok && Date.now() - t0 < 15000) {
      try {
        await clients.a1.conn.invoke('SendToAll', 'probe');
        ok = true;
      } catch {
        await delay(100);
      }
    }
    assert.ok(ok, 'hubcast reconnected to Redis');
    console.log(`# hubcast published again ${Date.now() - t0} ms after Redis restarted`);
    await delay(1500);  // StackExchange.Redis reconnects within about a second
    for (const from of senders()) await send(from, 'SendToAll', [], names());
    await send('b2', 'SendToGroup', ['g2'], present(['a2', 'c2']).concat(clients.c1 ? ['a1'] : []));
    await send('c2' in clients ? 'c2' : 'a2', 'SendToUser', ['alice'], ['a1', 'b1']);
  });
});
