// 1,000 official clients receiving broadcasts. Measures deliveries per second (printed, not
// asserted: performance belongs to bench/), and asserts that every client got every message.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, startServer, stopCleanly } from './helpers.mjs';

const CLIENTS = Number(process.env.HUBCAST_BROADCAST_CLIENTS ?? 1000);
const MESSAGES = 50;
let server;

before(async () => {
  server = await startServer();
});
after(() => stopCleanly(server));

for (const protocolName of ['JSON', 'MessagePack']) {
it(`${CLIENTS} concurrent connections receive every broadcast (${protocolName})`, { timeout: 240000 }, async () => {
  const clients = [];
  let received = 0;
  const perClient = new Array(CLIENTS).fill(0);
  let resolveAll;
  const allDone = new Promise((r) => (resolveAll = r));
  const t0 = Date.now();
  for (let batch = 0; batch < CLIENTS; batch += 100) {
    const starting = [];
    for (let i = batch; i < Math.min(CLIENTS, batch + 100); i++) {
      const c = connect(`${server.url}/testhub`, {}, (b) =>
        protocolName === 'MessagePack' ? b.withHubProtocol(new MessagePackHubProtocol()) : b,
      );
      c.on('Broadcast', () => {
        perClient[i]++;
        if (++received === CLIENTS * MESSAGES) resolveAll();
      });
      clients.push(c);
      starting.push(c.start());
    }
    await Promise.all(starting);
  }
  const connectMs = Date.now() - t0;
  const publisher = clients[0];
  const start = process.hrtime.bigint();
  const sends = [];
  for (let m = 0; m < MESSAGES; m++) sends.push(publisher.invoke('SendToAll', `message ${m}`));
  await Promise.all(sends);
  await allDone;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = Math.round((CLIENTS * MESSAGES) / seconds);
  console.log(
    `# broadcast ${protocolName}: ${CLIENTS} connections (connected in ${connectMs} ms), ${MESSAGES} messages, ` +
      `${CLIENTS * MESSAGES} deliveries in ${seconds.toFixed(3)} s = ${rate} deliveries/s ` +
      `(client-bound: one Node process parses every delivery)`,
  );
  assert.ok(perClient.every((n) => n === MESSAGES));
  await Promise.all(clients.map((c) => c.stop()));
});
}
