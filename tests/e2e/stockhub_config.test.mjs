// stockhub's configuration and command line as a new user meets them: one clear line and exit 1
// for a wrong value (never a C++ exception), ranges checked, appsettings.json read as .NET reads
// it (comments, trailing commas; errors with line and column), unknown keys warned about with
// the closest known key, the environment from the .NET variables, --help and --version.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { stockhubDir } from './helpers.mjs';

const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
const key = '--Auth:Key=configuration-test-key-0123456789abcdef';

// Runs stockhub; resolves at exit, or when `until` matches its output (then stops it).
function run(args, { cwd = stockhubDir('stockhub-cfg-'), env = {}, until, input } = {}) {
  return new Promise((resolve) => {
    const p = spawn(path.join(binDir, 'stockhub'), args, {
      cwd, env: { ...process.env, ASPNETCORE_ENVIRONMENT: '', DOTNET_ENVIRONMENT: '', STOCKHUB_ENVIRONMENT: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const check = () => {
      if (until && until.test(stdout + stderr)) p.kill('SIGTERM');
    };
    p.stdout.on('data', (d) => { stdout += d; check(); });
    p.stderr.on('data', (d) => { stderr += d; check(); });
    // A run that fails its configuration exits before reading stdin: writing to it then is
    // EPIPE, which is not the test's concern (unhandled, it failed the test by luck).
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
    // Generous: under the sanitizers and a loaded machine a start (demo users' Argon2id hashes) is slow.
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, cwd });
    });
  });
}

const listening = /Now listening on: http/;

describe('wrong values', () => {
  const cases = [
    [['--Stocks:TickInterval=abc'], 'Stocks:TickInterval: \'abc\' is not a duration (expected "hh:mm:ss[.fff]" or seconds)'],
    [['--Stocks:TickInterval=0'], "Stocks:TickInterval: '0' is too short (at least 00:00:00.001)"],
    [['--Server:Threads=many'], "Server:Threads: 'many' is not a whole number"],
    [['--SignalR:MaximumReceiveMessageSize=-1'], 'SignalR:MaximumReceiveMessageSize: -1 is out of range (1 to 67108864)'],
    [['--SignalR:EnableDetailedErrors=maybe'], "SignalR:EnableDetailedErrors: 'maybe' is not a boolean (expected true or false)"],
    [['--Logging:LogLevel:Default=Loud'], "Logging:LogLevel:Default: 'Loud' is not a log level"],
    [['--Redis:Configuration=localhost:6379,pasword=x'], "Redis:Configuration: unknown option 'pasword'"],
  ];
  for (const [args, message] of cases) {
    it(`${args[0]}: one line, exit 1, nothing done`, async () => {
      const r = await run(['--environment', 'Development', ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`stockhub: configuration error: ${message}`), r.stderr);
      assert.doesNotMatch(r.stderr, /terminate|what\(\)|exception/);
      assert.equal(r.stdout, '', 'no demo users made, nothing started');
    });
  }

  it('a value from appsettings.json is named the same way', async () => {
    const cwd = stockhubDir('stockhub-cfg-');
    fs.writeFileSync(path.join(cwd, 'appsettings.json'), '{ "Server": { "Threads": "many" } }');
    const r = await run([key], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "stockhub: configuration error: Server:Threads: 'many' is not a whole number\n");
  });
});

describe('appsettings.json as .NET reads it', () => {
  it('takes comments and trailing commas; warns about unknown keys of known sections', async () => {
    const cwd = stockhubDir('stockhub-cfg-');
    fs.writeFileSync(path.join(cwd, 'appsettings.json'), `{
  // a line comment
  "Stocks": { "TickIntervall": "00:00:01", "Symbols": [ "MSFT", "AAPL", ], },
  /* a block comment */
  "SignalR": { "KeepAlive": "00:00:10" },
  "Kestrel": { "Limits": {} },
  "AllowedHosts": "*",
}`);
    const r = await run(['--environment', 'Development', '--urls', 'http://127.0.0.1:0'], { cwd, until: listening });
    assert.match(r.stdout, listening, r.stderr);
    assert.match(r.stderr, /stockhub: warning: unknown configuration key 'Stocks:TickIntervall' \(did you mean 'Stocks:TickInterval'\?\)/);
    assert.match(r.stderr, /unknown configuration key 'SignalR:KeepAlive' \(did you mean 'SignalR:KeepAliveInterval'\?\)/);
    assert.doesNotMatch(r.stderr, /Kestrel|AllowedHosts/, 'other sections are not ours to judge');
  });

  it('reports malformed JSON with the file, line and column', async () => {
    const cwd = stockhubDir('stockhub-cfg-');
    fs.writeFileSync(path.join(cwd, 'appsettings.json'), '{\n  "Stocks": {\n    "TickInterval": oops\n  }\n}\n');
    const r = await run([key], { cwd });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^stockhub: configuration error: appsettings\.json:3:21: malformed JSON/);
  });
});

describe('environment', () => {
  for (const [how, args, env] of [
    ['ASPNETCORE_ENVIRONMENT', [], { ASPNETCORE_ENVIRONMENT: 'Development' }],
    ['DOTNET_ENVIRONMENT', [], { DOTNET_ENVIRONMENT: 'development' }],
    ['STOCKHUB_ENVIRONMENT', [], { STOCKHUB_ENVIRONMENT: 'Development' }],
    ['--environment=Development', ['--environment=Development'], {}],
  ]) {
    it(`${how} selects Development`, async () => {
      const r = await run([...args, '--urls=http://127.0.0.1:0'], { env, until: listening });
      assert.match(r.stdout, /Development user: admin@stockhub\.local/, r.stderr);
    });
  }

  it('Production says how to add a user, and warns about plain HTTP off loopback', async () => {
    const r = await run([key, '--urls', 'http://0.0.0.0:0', '--Database:Path=prod.db'], { until: listening });
    assert.match(r.stdout + r.stderr, /has no users: nobody can log in\. Add one with `stockhub users add EMAIL --role Admin`/);
    assert.match(r.stdout + r.stderr, /Listening on plain HTTP \(http:\/\/0\.0\.0\.0:0\) in Production: access tokens travel in the clear/);
  });
});

describe('command line', () => {
  it('--version prints the version of CMake\'s project()', async () => {
    const version = fs.readFileSync('CMakeLists.txt', 'utf8').match(/project\(hubcast VERSION (\S+)/)[1];
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `stockhub ${version}\n`);
    for (const exe of ['hubcast-conformance', 'stockhub-cli']) {
      const v = spawnSync(path.join(binDir, exe), ['--version'], { encoding: 'utf8' });
      assert.equal(v.stdout.trim(), `${exe} ${version}`, exe);
    }
  });

  it('--help lists the commands and every key', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const k of ['users add', 'dev-certs', '--environment', 'Urls', 'Server:Threads', 'Auth:Key',
      'Auth:AccessTokenLifetime', 'Database:Path', 'Cors:AllowedOrigins', 'SignalR:MaximumReceiveMessageSize',
      'SignalR:KeepAliveInterval', 'Stocks:TickInterval', 'Redis:Configuration', 'Logging:LogLevel'])
      assert.ok(r.stdout.includes(k), k);
    const users = await run(['users', '--help']);
    assert.equal(users.code, 0);
    assert.match(users.stdout, /stockhub users set-password EMAIL --password-stdin/);
  });

  it('refuses an unknown option and a role in the wrong case, saying why', async () => {
    let r = await run(['--bogus']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'stockhub: unknown option --bogus (stockhub --help lists the options)\n');
    r = await run(['users', 'add', 'a@b.example', '--role', 'admin', '--Database:Path=u.db']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown role 'admin' \(known roles: Admin, Trader/);
  });

  it('`users list` in a folder without appsettings.json does not make a stray database there', async () => {
    const cwd = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'stockhub-bare-'));
    const r = await run(['users', 'list'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(cwd), [], 'it uses the database of the appsettings.json beside the executable');
  });
});
