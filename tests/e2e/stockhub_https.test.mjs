// stockhub over HTTPS with a `stockhub dev-certs` certificate: the official client over wss://
// and HTTPS long polling, hubcast's C++ client (stockhub-cli) the same way with the certificate
// as its CA (and refused without it), and plain HTTP redirected to HTTPS when both are bound.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { stockhubDir } from './helpers.mjs';

const binDir = process.env.HUBCAST_BIN ?? path.resolve('build/bin');
let proc;
let https;
let http;
let dir;
const users = {};

before(async () => {
  dir = stockhubDir('stockhub-tls-');
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

after(async () => {
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r(code ?? signal)));
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, 'graceful shutdown over TLS exits 0');
});

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

function runCli(args, password, ms = 4000) {
  return new Promise((resolve) => {
    const cli = spawn(path.join(binDir, 'stockhub-cli'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (err += d));
    cli.stdin.on('error', () => {});  // EPIPE when it exits before reading: not the test's concern
    cli.stdin.end(`${password}\n`);
    const timer = setTimeout(() => cli.kill('SIGINT'), ms);
    cli.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

it('serves the C++ client (stockhub-cli) over wss:// and HTTPS long polling', { timeout: 60000 }, async () => {
  for (const transport of ['ws', 'lp']) {
    const r = await runCli(['--url', https, '--email', 'trader@stockhub.local', '--password-stdin', '--symbols', 'MSFT',
      '--transport', transport, '--ca-file', `${dir}/stockhub-dev.crt`], users['trader@stockhub.local']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, transport === 'ws' ? /Connected to hub \(WebSockets/ : /Connected to hub \(LongPolling/);
    assert.match(r.out, /^MSFT \d+\.\d\d \d\d:\d\d:\d\d$/m);
  }
  // Without the CA the certificate is refused.
  const refused = await runCli(['--url', https, '--email', 'trader@stockhub.local', '--password-stdin'],
    users['trader@stockhub.local']);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /cannot connect: POST https:.*certificate verify failed/);
});
