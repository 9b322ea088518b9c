// hubcast-conformance over TLS: `--urls "https://127.0.0.1:0;http://127.0.0.1:0"` with
// `--https-cert/--https-key` (a certificate from `stockhub dev-certs`) prints a
// `Now listening on:` line per URL and serves the official client over both schemes, every
// transport (WebSockets with stateful reconnect too), cookies and messages of several TLS records
// included, without redirecting plain HTTP; https:// without a certificate is
// one clear line and exit 1.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { startListening, stockhubDir } from './helpers.mjs';

const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
let server;
let dir;
let https;
let http;

before(async () => {
  dir = stockhubDir('conformance-tls-');
  execFileSync(path.join(binDir, 'stockhub'), ['dev-certs', `--Database:Path=${dir}/u.db`]);
  server = await startListening(path.join(binDir, 'hubcast-conformance'), [
    '--urls', 'https://127.0.0.1:0;http://127.0.0.1:0',
    '--https-cert', `${dir}/stockhub-dev.crt`, '--https-key', `${dir}/stockhub-dev.key`]);
  for (let i = 0; i < 100; i++) {
    https = server.output().match(/Now listening on: (https:\/\/\S+)/)?.[1];
    http = server.output().match(/Now listening on: (http:\/\/\S+)/)?.[1];
    if (https && http) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(https && http, server.output());
});

after(async () => {
  const { code } = await server.stop();
  assert.equal(code, 0);
});

it('serves the official client over https:// and http:// on every transport', { timeout: 60000 }, () => {
  const out = execFileSync(process.execPath, [path.resolve('tests/e2e/fixtures/conformance_https_client.mjs'), https, http],
    { env: { ...process.env, NODE_EXTRA_CA_CERTS: `${dir}/stockhub-dev.crt` }, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop());
  for (const base of [https, http]) {
    for (const t of ['WebSockets', 'ServerSentEvents', 'LongPolling', 'WebSockets stateful']) {
      const r = result[`${base} ${t}`];
      assert.equal(r.error, undefined, `${base} ${t}: ${r.error}`);
      assert.equal(r.echo, `hello over ${t}`);
      assert.equal(r.big, 20000, `${base} ${t}: a message of several TLS records each way`);
      assert.equal(r.cookie, 'testValue', `${base} ${t}: the negotiate cookie comes back`);
    }
  }
});

it('refuses https:// without a certificate in one line', () => {
  const r = spawnSync(path.join(binDir, 'hubcast-conformance'), ['--urls', 'https://127.0.0.1:0'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), 'hubcast-conformance: https:// URLs need --https-cert FILE and --https-key FILE');
});
