// Behind a reverse proxy: with Server:KnownProxies, the login throttle's per-address limit
// counts the client named by X-Forwarded-For (the last entry, from the proxy only); without
// it, or from any other peer, the header is ignored. A wrong proxy address is one line, exit 1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startStockhub, stockhubDir, stopCleanly } from './helpers.mjs';

const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');

async function fail(url, i, forwardedFor) {
  const headers = { 'Content-Type': 'application/json' };
  if (forwardedFor) headers['X-Forwarded-For'] = forwardedFor;
  const res = await fetch(`${url}/api/login`, {
    method: 'POST', headers, body: JSON.stringify({ email: `nobody${i}@example.com`, password: 'wrong' }),
  });
  return res.status;
}

describe('Server:KnownProxies', () => {
  let sh;
  before(async () => { sh = await startStockhub(['--Server:KnownProxies:0=127.0.0.1']); });
  after(() => stopCleanly(sh));

  it('throttles the forwarded client, not the proxy', async () => {
    for (let i = 0; i < 50; i++) assert.equal(await fail(sh.url, i, '6.6.6.6, 10.0.0.1'), 401);
    assert.equal(await fail(sh.url, 50, '10.0.0.1'), 429, 'the 51st failure from 10.0.0.1');
    assert.equal(await fail(sh.url, 51, '10.0.0.2'), 401, 'another client behind the same proxy');
    assert.equal(await fail(sh.url, 52, '10.0.0.2, 10.0.0.1'), 429, 'the last entry counts');
  });
});

describe('without KnownProxies', () => {
  let sh;
  before(async () => { sh = await startStockhub(); });
  after(() => stopCleanly(sh));

  it('ignores X-Forwarded-For', async () => {
    for (let i = 0; i < 50; i++) assert.equal(await fail(sh.url, i, `10.0.1.${i}`), 401);
    assert.equal(await fail(sh.url, 50, '10.0.2.1'), 429, 'every request is the peer 127.0.0.1');
  });
});

it('refuses a proxy that is not an IP address in one line', () => {
  const dir = stockhubDir('stockhub-proxy-');
  const r = spawnSync(path.join(binDir, 'stockhub'), ['--environment', 'Development', `--Database:Path=${dir}/u.db`,
    '--urls', 'http://127.0.0.1:0', '--Server:KnownProxies:0=proxy.example'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), "stockhub: configuration error: Server:KnownProxies: 'proxy.example' is not an IP address");
});
