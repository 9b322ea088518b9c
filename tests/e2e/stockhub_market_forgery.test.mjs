// Behind the Redis trust boundary (docs/security.md): a writer to Redis can forge a tick or set
// the market's term counter, but what it does must not be permanent. Found by probing: a tick
// with term 2^63-1 made the lease script store 9.2233720368547758e+18 (Lua doubles) as the
// counter, after which INCR failed and no node could lead again until an operator deleted it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, redisServerPath, startRedis, startStockhub, stopCleanly, waitFor } from './helpers.mjs';

const haveRedis = redisServerPath() !== null;
const key = 'forgery-test-signing-key-0123456789abcdef';
const leads = /now runs the market simulator \(lease term (\d+)\)/g;
let redis;
let node;

const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();

const terms = () => [...node.output.matchAll(leads)].map((m) => BigInt(m[1]));

describe('a forged market state in Redis', { skip: !haveRedis && 'redis-server not installed' }, () => {
  before(async () => {
    redis = await startRedis();
    // What the old script left behind after a forged term of 2^63-1.
    cli('SET', 'stockhub:market:term', '9.2233720368547758e+18');
    node = await startStockhub([`--Auth:Key=${key}`, `--Redis:Configuration=${redis.config}`,
      '--Stocks:TickInterval=00:00:00.100'], 'stockhub-forgery-');
  });
  after(async () => {
    if (node) await stopCleanly(node);
    await redis?.close();
  });

  it('a counter that is not an integer is replaced: the node leads', async () => {
    await waitFor(() => terms().length > 0, 10000, 'the node leads');
    assert.ok(terms()[0] >= 1n && terms()[0] <= 2n ** 53n, `term ${terms()[0]}`);
    assert.match(cli('GET', 'stockhub:market:term'), /^\d+$/, 'written as an integer');
  });

  it('after a forged tick of the highest term, the node leads again and clients get prices', async () => {
    const res = await fetch(`${node.url}/api/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'trader@stockhub.local', password: node.users['trader@stockhub.local'] }),
    });
    const { token } = await res.json();
    const c = connect(`${node.url}/hubs/stocks`, { accessTokenFactory: () => token });
    await c.start();
    const got = [];
    c.stream('StreamStockPrices').subscribe({ next: (e) => got.push(e), error() {}, complete() {} });
    // Numbers as text: they are past what JSON.stringify writes exactly.
    const forged = (term, id) =>
      `{"node":"forger","term":${term},"prices":[{"s":"MSFT","id":${id},"c":100,"t":1700000000000000}]}`;
    // Past the bound: not decoded at all. At the bound: a newer term, the node steps down.
    cli('PUBLISH', 'stockhub:ticks', forged('9223372036854775807', '1'));
    cli('PUBLISH', 'stockhub:ticks', forged('9007199254740992', '9007199254740992'));
    await waitFor(() => terms().includes(2n ** 53n), 15000, 'leading again, at the highest term');
    assert.equal(cli('GET', 'stockhub:market:term'), '9007199254740992');
    const n = got.length;
    await waitFor(() => got.length > n + 10, 10000, 'prices after the forgery');
    assert.ok(got.slice(n).every((e) => BigInt(e.id) <= 2n ** 53n), 'ids stay within 2^53');
    await c.stop();
  });
});
