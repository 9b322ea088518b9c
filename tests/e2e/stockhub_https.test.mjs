// stockhub over HTTPS with a `stockhub dev-certs` certificate: the official client over wss://
// and HTTPS long polling, and plain HTTP redirected to HTTPS when both are bound.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';

const binDir = process.env.HUBCAST_BIN ?? path.resolve('build/bin');
let proc;
let https;
let http;
let dir;
const users = {};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stockhub-tls-'));
  const db = `--Database:Path=${dir}/u.db`;
  execFileSync(path.join(binDir, 'stockhub'), ['dev-certs', db]);
  proc = spawn(path.join(binDir, 'stockhub'), [
    '--environment', 'Development', db, '--urls', 'https://127.0.0.1:0;http://127.0.0.1:0',
    `--Https:CertificatePath=${dir}/stockhub-dev.crt`, `--Https:KeyPath=${dir}/stockhub-dev.key`,
    '--Stocks:TickInterval=00:00:00.100',
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve) => proc.stdout.on('data', (d) => {
    out += d;
    for (const m of out.matchAll(/Development user: (\S+) \/ (\S+)/g)) users[m[1]] = m[2];
    https = out.match(/Now listening on: (https:\/\/\S+)/)?.[1];
    http = out.match(/Now listening on: (http:\/\/\S+)/)?.[1];
    if (https && http) resolve();
  }));
});

after(() => proc.kill('SIGTERM'));

it('serves the official client over wss:// and HTTPS long polling', { timeout: 60000 }, () => {
  const out = execFileSync(process.execPath, [
    path.resolve('tests/e2e/fixtures/https_client.mjs'), https, 'trader@stockhub.local', users['trader@stockhub.local'],
  ], { env: { ...process.env, NODE_EXTRA_CA_CERTS: `${dir}/stockhub-dev.crt` }, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop());
  assert.equal(result.WebSockets.transport, 'WebSockets');
  assert.ok(result.WebSockets.symbol);
  assert.ok(result.LongPolling.symbol);
});

it('redirects plain HTTP to HTTPS', async () => {
  const res = await fetch(`${http}/api/me`, { redirect: 'manual' });
  assert.equal(res.status, 307);
  assert.equal(res.headers.get('location'), `${https.replace('127.0.0.1', '127.0.0.1')}/api/me`);
});
