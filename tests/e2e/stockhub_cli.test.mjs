// stockhub-cli (the article's console client, on hubcast's C++ client) against stockhub: login,
// subscribe, price lines, system messages, reconnect with a fresh token, clean Ctrl-C.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { connect, startStockhub, stopCleanly } from './helpers.mjs';

const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
let sh;
let url;
let users;

before(async () => {
  sh = await startStockhub(['--Stocks:TickInterval=00:00:00.100', '--Auth:AccessTokenLifetime=00:00:03',
    '--Auth:ClockSkew=0'], 'stockhub-cli-');
  ({ url, users } = sh);
});

after(() => stopCleanly(sh));

function startCli(args, password) {
  const cli = spawn(path.join(binDir, 'stockhub-cli'), ['--url', url, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  cli.out = '';
  cli.err = '';
  cli.stdout.on('data', (d) => (cli.out += d));
  cli.stderr.on('data', (d) => (cli.err += d));
  cli.exited = new Promise((r) => cli.on('exit', (code) => r(code)));
  cli.stdin.on('error', () => {});  // EPIPE when it exits before reading: not the test's concern
  cli.stdin.end(`${password}\n`);
  return cli;
}

async function until(predicate, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const priceLine = /^(MSFT|AAPL) \d+\.\d\d \d\d:\d\d:\d\d$/;

describe('stockhub-cli', () => {
  for (const [protocol, transport] of [['json', 'ws'], ['messagepack', 'ws'], ['json', 'lp'], ['messagepack', 'lp']]) {
    it(`streams the subscribed prices and system messages (${protocol}, ${transport})`, async () => {
      const cli = startCli(['--email', 'trader@stockhub.local', '--password-stdin', '--symbols', 'MSFT,aapl',
        '--protocol', protocol, '--transport', transport], users['trader@stockhub.local']);
      const lines = () => cli.out.split('\n').filter((l) => l.length > 0);
      await until(() => lines().filter((l) => priceLine.test(l)).length >= 6, `price lines: ${cli.out} ${cli.err}`);
      assert.ok(lines().filter((l) => !l.startsWith('System:')).every((l) => priceLine.test(l)), cli.out);
      assert.ok(lines().some((l) => l.startsWith('MSFT')) && lines().some((l) => l.startsWith('AAPL')));
      assert.match(cli.err, /Connected to hub/);

      // An admin broadcast (from the official JS client) reaches the console.
      const res = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'admin@stockhub.local', password: users['admin@stockhub.local'] }),
      });
      const { token } = await res.json();
      const admin = connect(`${url}/hubs/stocks`, { accessTokenFactory: () => token });
      await admin.start();
      await admin.invoke('BroadcastMessage', `hello ${protocol} ${transport}`);
      await until(() => cli.out.includes(`System: hello ${protocol} ${transport}\n`), 'the system message');
      await admin.stop();

      cli.kill('SIGINT');
      assert.equal(await cli.exited, 0, cli.err);
      assert.match(cli.err, /Stopping/);
      assert.doesNotMatch(cli.err + cli.out, /eyJ/, 'no token is printed');
    });
  }

  it('reconnects with a fresh token when the server closes an expired connection', async () => {
    const cli = startCli(['--email', 'trader@stockhub.local', '--password-stdin', '--symbols', 'MSFT'],
      users['trader@stockhub.local']);
    // Tokens live 3 s; the server closes the connection when its token expires.
    await until(() => /Reconnected/.test(cli.err), `a reconnect: ${cli.err}`, 20000);
    const after = cli.out.length;
    await until(() => cli.out.slice(after).split('\n').filter((l) => priceLine.test(l)).length >= 3, 'prices after the reconnect');
    cli.kill('SIGINT');
    assert.equal(await cli.exited, 0, cli.err);
  });

  it('refuses a wrong password and a missing one', async () => {
    const cli = startCli(['--email', 'trader@stockhub.local', '--password-stdin'], 'wrong-password');
    assert.equal(await cli.exited, 1);
    assert.match(cli.err, /cannot connect: login failed: 401/);
    const none = spawn(path.join(binDir, 'stockhub-cli'), ['--url', url, '--email', 'x@y'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    none.stderr.on('data', (d) => (err += d));
    assert.equal(await new Promise((r) => none.on('exit', r)), 2);
    assert.match(err, /--password-stdin/);
  });
});
