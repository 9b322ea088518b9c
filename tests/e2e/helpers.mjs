// Shared helpers for the end-to-end tests: start the real server, make official clients,
// cut TCP connections through a small proxy.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import * as signalR11 from '@microsoft/signalr';
import * as signalR10 from '@microsoft/signalr-10';

// The newest official client (what `npm install @microsoft/signalr` gives), or the older one a
// suite runs again with (HUBCAST_SIGNALR_CLIENT=10; clients in the field are older than servers).
export const signalR = process.env.HUBCAST_SIGNALR_CLIENT === '10' ? signalR10 : signalR11;

const binDir = process.env.HUBCAST_BIN ?? path.resolve('build/bin');

// Starts `hubcast-conformance` on a free port; resolves once it prints its URL.
export async function startServer(args = [], exe = 'hubcast-conformance') {
  const proc = spawn(path.join(binDir, exe), ['--urls', 'http://127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let out = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Now listening on: (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    url,
    proc,
    exited,
    stderr: () => stderr,
    // Everything the server wrote (its log goes to stdout).
    output: () => out + stderr,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export function connect(url, options = {}, configure = (b) => b) {
  const b = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: signalR.HttpTransportType.WebSockets, ...options })
    .configureLogging(signalR.LogLevel.None);
  return configure(b).build();
}

export function streamToArray(connection, method, ...args) {
  return new Promise((resolve, reject) => {
    const items = [];
    connection.stream(method, ...args).subscribe({
      next: (i) => items.push(i),
      complete: () => resolve(items),
      error: reject,
    });
  });
}

// Polls `predicate` (sync or async) every 50 ms until it holds; fails the test after `ms`.
export async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await delay(50);
  }
  assert.fail(`timed out after ${ms} ms: ${what}`);
}

export function once(connection, method) {
  return new Promise((resolve) => {
    const h = (...args) => {
      connection.off(method, h);
      resolve(args);
    };
    connection.on(method, h);
  });
}

export function delay(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// A TCP proxy in front of the server whose connections the test can cut at will.
export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cutAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close() {
      this.cutAll();
      server.close();
    },
  };
}

// A fresh temporary folder to run stockhub in, with an empty appsettings.json of its own (so the
// one beside the executable, with the build's database, is not read).
export function stockhubDir(prefix = 'stockhub-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(dir, 'appsettings.json'), '{}\n');
  return dir;
}

// Starts build/bin/stockhub in Development on a free port with a fresh database; collects the
// printed demo users and everything the server logs.
export async function startStockhub(extraArgs = [], prefix = 'stockhub-') {
  const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
  const dir = stockhubDir(prefix);
  const proc = spawn(
    path.join(binDir, 'stockhub'),
    ['--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/users.db`,
     ...extraArgs],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const sh = { proc, dir, users: {}, output: '' };
  proc.stderr.on('data', (d) => (sh.output += d));
  sh.url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stockhub did not start: ${sh.output}`)), 30000);
    proc.stdout.on('data', (d) => {
      sh.output += d;
      for (const m of sh.output.matchAll(/Development user: (\S+) \/ (\S+)/g)) sh.users[m[1]] = m[2];
      const l = sh.output.match(/Now listening on: (http:\/\/\S+)/);
      if (l) {
        clearTimeout(timer);
        resolve(l[1]);
      }
    });
  });
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  // Resolves with how it exited: graceful shutdown on SIGTERM is exit code 0 (the sanitizer
  // build aborts instead on a heap error at exit).
  sh.stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    return exited;
  };
  return sh;
}

// Writes `bytes` on a fresh TCP connection; resolves with everything the server sent until it
// closed (or `ms` passed) and whether it closed.
// An access token of a Development user of a stockhub started by startStockhub.
export async function stockhubToken(sh, email) {
  const res = await fetch(`${sh.url}/api/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: sh.users[email] }),
  });
  if (res.status !== 200) throw new Error(`login of ${email}: ${res.status}`);
  return (await res.json()).token;
}

export function raw(url, bytes, ms = 3000) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, closed: false, status: Number(data.split(' ')[1]) });
    }, ms);
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true, status: Number(data.split(' ')[1]) });
    });
    s.on('error', () => {});
    s.write(bytes);
  });
}

// Stops a server started above with SIGTERM and checks the graceful shutdown: exit code 0 (the
// sanitizer build aborts instead on any heap error or leak at exit).
export async function stopCleanly(server) {
  const { code, signal } = await server.stop();
  const output = typeof server.output === 'function' ? server.output() : server.output;
  assert.equal(code, 0, `graceful shutdown exits 0 (got ${code ?? signal}):\n${output.slice(-8000)}`);
}

// A free loopback TCP port (bound, read, released).
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// Finds Debian's redis-server (package redis-server); null when it is not installed.
export function redisServerPath() {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

// Starts a private redis-server on a free loopback port in a temporary folder (never the
// system service), no persistence. restart() stops it and starts it again on the same port.
export async function startRedis() {
  const exe = redisServerPath();
  if (!exe) throw new Error('redis-server is not installed (Debian package redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubcast-redis-'));
  const r = { port: 0, config: '', dir, proc: null, output: '' };
  r.start = async () => {
    const proc = spawn(exe, ['--port', String(r.port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    r.proc = proc;
    r.exited = new Promise((res) => proc.on('exit', res));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis did not start: ${r.output}`)), 10000);
      const seen = (d) => {
        r.output += d;
        if (/Ready to accept connections/.test(r.output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on('data', seen);
      proc.stderr.on('data', seen);
      proc.on('exit', (code) => reject(new Error(`redis exited with ${code}: ${r.output}`)));
    });
  };
  r.stop = async () => {
    if (r.proc && r.proc.exitCode === null) {
      r.proc.kill('SIGKILL');
      await r.exited;
    }
  };
  r.restart = async () => {
    await r.stop();
    r.output = '';
    await r.start();
  };
  r.close = async () => {
    await r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // The free port can be taken by another process before redis-server binds it: then it exits
  // saying so, and it starts again on another port (restart() keeps the port it got).
  for (let attempt = 1; ; attempt++) {
    r.port = await freePort();
    r.config = `127.0.0.1:${r.port}`;
    r.output = '';
    try {
      await r.start();
      return r;
    } catch (e) {
      await r.stop();
      if (attempt >= 5 || !/Address already in use|Could not create server TCP/.test(r.output)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
}

// Starts any server process that prints "Now listening on: <url>" (ASP.NET Core's format).
export async function startListening(command, args, options = {}) {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${out}`)), 60000);
    const seen = (d) => {
      out += d;
      const m = out.match(/Now listening on: (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout.on('data', seen);
    proc.stderr.on('data', seen);
    proc.on('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)));
  });
  return {
    url, proc, exited,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}
