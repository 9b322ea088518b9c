// The README's examples/, run as a user runs them: the article's Node client
// (examples/node/stock-client.mjs) and .NET console client (examples/dotnet/StockClient) against
// stockhub with 3-second access tokens, so each refreshes its token through /api/refresh and
// streams on after the server closes the expired connection; MessagePack; HTTPS with a
// `stockhub dev-certs` certificate, and a plain http:// URL to an HTTPS-redirecting stockhub
// that says so.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { startStockhub, stopCleanly } from './helpers.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const nodeExample = path.join(root, 'examples/node/stock-client.mjs');
const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
const haveDotnet = spawnSync('dotnet', ['--version'], { encoding: 'utf8' }).status === 0;

function run(command, args, env, ms = 60000) {
  return new Promise((resolve) => {
    const p = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

// The .NET example, built once.
let dotnetBuild;
function buildDotnet(into) {
  if (!dotnetBuild) {
    const out = fs.mkdtempSync(path.join(into, 'dotnet-'));
    execFileSync('dotnet', ['build', path.join(root, 'examples/dotnet/StockClient'), '-c', 'Release', '-o', out, '--nologo', '-v', 'q'],
      { env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' }, stdio: 'pipe' });
    dotnetBuild = path.join(out, 'StockClient.dll');
  }
  return dotnetBuild;
}

after(() => {
  if (dotnetBuild) fs.rmSync(path.dirname(dotnetBuild), { recursive: true, force: true });
});

const priceLine = /^(MSFT|AAPL): \$\d+(\.\d+)? at \d\d:\d\d:\d\d$/m;

describe('examples/', () => {
  let sh;
  before(async () => {
    sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100', '--Auth:AccessTokenLifetime=00:00:03']);
  });
  after(() => stopCleanly(sh));

  const user = () => ({ STOCKHUB_URL: sh.url, STOCKHUB_EMAIL: 'trader@stockhub.local', STOCKHUB_PASSWORD: sh.users['trader@stockhub.local'] });

  it('node: streams, refreshes its token and streams on after the expired connection closes', async () => {
    const r = await run(process.execPath, [nodeExample], { ...user(), STOCKHUB_COUNT: '140' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Available: MSFT, AAPL/m);
    assert.match(r.stdout, /^Subscribed to: MSFT$/m);
    assert.match(r.stdout, priceLine);
    const afterRefresh = r.stdout.slice(r.stdout.indexOf('token refreshed'));
    assert.ok(r.stdout.includes('token refreshed'), r.stdout);
    assert.match(afterRefresh, priceLine, 'prices after the refresh');
    assert.equal(r.stderr, '');
  });

  it('node: MessagePack (PascalCase keys, the decimal as a string) prints the same lines', async () => {
    const r = await run(process.execPath, [nodeExample], { ...user(), STOCKHUB_COUNT: '5', STOCKHUB_PROTOCOL: 'messagepack' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, priceLine);
  });

  it('node: a wrong password is one line and exit 1', async () => {
    const r = await run(process.execPath, [nodeExample], { ...user(), STOCKHUB_PASSWORD: 'wrong' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'stock-client: login refused (401)');
  });

  it('dotnet: the article\'s console client streams, refreshes and streams on', { skip: haveDotnet ? false : 'the .NET SDK (dotnet) is not installed', timeout: 240000 }, async () => {
    const dll = buildDotnet(fs.realpathSync('/tmp'));
    const r = await run('dotnet', [dll], { ...user(), STOCKHUB_COUNT: '140' }, 90000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Connected to hub$/m);
    assert.match(r.stdout, /^(MSFT|AAPL): \$\d+(\.\d+)? at \d\d:\d\d:\d\d$/m);
    assert.ok(r.stdout.includes('token refreshed'), r.stdout);
    const m = await run('dotnet', [dll], { ...user(), STOCKHUB_COUNT: '5', STOCKHUB_PROTOCOL: 'messagepack' }, 60000);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.match(m.stdout, /^(MSFT|AAPL): \$\d+(\.\d+)? at \d\d:\d\d:\d\d$/m);
  });
});

describe('examples/ over HTTPS', () => {
  let proc;
  let https;
  let http;
  let dir;
  const users = {};
  before(async () => {
    dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'stockhub-examples-tls-'));
    fs.writeFileSync(path.join(dir, 'appsettings.json'), '{}');
    const db = `--Database:Path=${dir}/u.db`;
    execFileSync(path.join(binDir, 'stockhub'), ['dev-certs', db], { cwd: dir });
    proc = spawn(path.join(binDir, 'stockhub'), ['--environment', 'Development', db,
      '--urls', 'https://127.0.0.1:0;http://127.0.0.1:0', `--Https:CertificatePath=${dir}/stockhub-dev.crt`,
      `--Https:KeyPath=${dir}/stockhub-dev.key`, '--Stocks:TickInterval=00:00:00.100'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
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
    const exited = new Promise((r) => proc.on('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('node: https:// with the development certificate trusted', async () => {
    const r = await run(process.execPath, [nodeExample], { STOCKHUB_URL: https, STOCKHUB_EMAIL: 'trader@stockhub.local',
      STOCKHUB_PASSWORD: users['trader@stockhub.local'], STOCKHUB_COUNT: '5', NODE_EXTRA_CA_CERTS: `${dir}/stockhub-dev.crt` });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, priceLine);
  });

  it('node: an http:// URL of an HTTPS-redirecting stockhub says so', async () => {
    const r = await run(process.execPath, [nodeExample], { STOCKHUB_URL: http, STOCKHUB_EMAIL: 'trader@stockhub.local', STOCKHUB_PASSWORD: 'x' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^stock-client: http:\/\/127\.0\.0\.1:\d+ redirects to https:\/\/127\.0\.0\.1:\d+\/api\/login: set STOCKHUB_URL to the https:\/\/ URL$/m);
  });

  it('dotnet: https:// with the development certificate as SSL_CERT_FILE', { skip: haveDotnet ? false : 'the .NET SDK (dotnet) is not installed', timeout: 240000 }, async () => {
    const r = await run('dotnet', [buildDotnet(fs.realpathSync('/tmp'))], { STOCKHUB_URL: https, STOCKHUB_EMAIL: 'trader@stockhub.local',
      STOCKHUB_PASSWORD: users['trader@stockhub.local'], STOCKHUB_COUNT: '5', SSL_CERT_FILE: `${dir}/stockhub-dev.crt` }, 90000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, priceLine);
  });

  it('node: an untrusted certificate names the fix', async () => {
    const r = await run(process.execPath, [nodeExample], { STOCKHUB_URL: https, STOCKHUB_EMAIL: 'a@b', STOCKHUB_PASSWORD: 'x', NODE_EXTRA_CA_CERTS: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach https:.*NODE_EXTRA_CA_CERTS=<stockhub-dev\.crt>/);
  });
});
