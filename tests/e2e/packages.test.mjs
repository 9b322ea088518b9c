// The Debian packages (cmake/hubcast_package.cmake): `cpack -G DEB` builds libhubcast-dev and
// stockhub; their contents are what a Debian user expects, lintian finds no error, and the
// packaged stockhub runs from an extracted tree as its systemd unit starts it (settings from
// /etc/stockhub, the dashboard from /usr/share/stockhub).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startListening, stopCleanly } from './helpers.mjs';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const buildDir = path.dirname(path.resolve(process.env.HUBCAST_BIN ?? 'build/bin'));
const skip = process.env.HUBCAST_SANITIZED === '1' ? 'packages are built from the normal build' : false;
const lintian = ['/usr/bin/lintian'].find((p) => fs.existsSync(p));

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${(r.stdout ?? '') + (r.stderr ?? '')}`.slice(-6000));
  return r.stdout;
}

describe('Debian packages', { skip }, () => {
  let tmp;
  const deb = {};
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubcast-deb-'));
    run('cpack', ['-G', 'DEB', '-B', tmp], { cwd: buildDir });
    for (const f of fs.readdirSync(tmp)) {
      if (f.startsWith('libhubcast-dev_') && f.endsWith('.deb')) deb.dev = path.join(tmp, f);
      if (f.startsWith('stockhub_') && f.endsWith('.deb')) deb.stockhub = path.join(tmp, f);
    }
    assert.ok(deb.dev && deb.stockhub, `two packages: ${fs.readdirSync(tmp)}`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const files = (p) => run('dpkg-deb', ['-c', p]).split('\n').filter(Boolean)
    .map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, ''));
  const field = (p, name) => run('dpkg-deb', ['-f', p, name]).trim();

  it('libhubcast-dev: headers, static libraries, the CMake package and pkg-config files', () => {
    const list = files(deb.dev);
    for (const f of ['/usr/include/hubcast/server/app.hpp', '/usr/include/hubcast/client/hub_connection.hpp',
      '/usr/lib/libhubcast_server.a', '/usr/lib/libhubcast_redis.a', '/usr/lib/libhubcast_client.a',
      '/usr/lib/cmake/hubcast/hubcastConfig.cmake', '/usr/lib/pkgconfig/hubcast.pc',
      '/usr/share/doc/libhubcast-dev/copyright', '/usr/share/doc/libhubcast-dev/changelog.gz']) {
      assert.ok(list.includes(f), `${f} in libhubcast-dev`);
    }
    assert.ok(!list.some((f) => f.includes('msgpack_value.hpp') || f.startsWith('/usr/bin/') || f.startsWith('/etc/')),
      'no internals, programs or settings');
    assert.equal(field(deb.dev, 'Package'), 'libhubcast-dev');
    assert.match(field(deb.dev, 'Depends'), /libboost1\.81-dev.*libssl-dev.*libhiredis-dev/);
  });

  it("libhubcast-dev's files build a program: examples/chat with its pkg-config file", () => {
    const root = fs.mkdtempSync(path.join(tmp, 'dev-'));
    run('dpkg-deb', ['-x', deb.dev, root]);
    const env = { ...process.env, PKG_CONFIG_PATH: path.join(root, 'usr/lib/pkgconfig') };
    const flags = run('pkg-config', ['--cflags', '--libs', 'hubcast'], { env }).trim().split(/\s+/);
    run('g++', ['-O1', '-o', path.join(root, 'chat'), path.join(repoRoot, 'examples/chat/chat.cpp'), ...flags]);
  });

  it('stockhub: the binary, its settings as a conffile, the dashboard and the systemd unit', () => {
    const list = files(deb.stockhub);
    for (const f of ['/usr/bin/stockhub', '/etc/stockhub/appsettings.json',
      '/usr/share/stockhub/wwwroot/index.html', '/usr/share/stockhub/wwwroot/lib/signalr.min.js',
      '/usr/lib/systemd/system/stockhub.service', '/usr/share/doc/stockhub/copyright']) {
      assert.ok(list.includes(f), `${f} in stockhub`);
    }
    assert.ok(!list.some((f) => f.startsWith('/usr/include/') || f.endsWith('.a')), 'no library files');
    const control = fs.mkdtempSync(path.join(tmp, 'control-'));
    run('dpkg-deb', ['-e', deb.stockhub, control]);
    assert.equal(fs.readFileSync(path.join(control, 'conffiles'), 'utf8').trim(), '/etc/stockhub/appsettings.json');
    // Its shared libraries, found by dpkg-shlibdeps.
    for (const lib of [/libssl3/, /libsqlite3-0/, /libsodium23/, /libhiredis/])
      assert.match(field(deb.stockhub, 'Depends'), lib);
  });

  it('lintian finds no error in either', { skip: lintian ? false : 'lintian not installed (scripts/install-deps --with-packaging)' }, () => {
    const r = spawnSync(lintian, ['--tag-display-limit', '0', deb.dev, deb.stockhub], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const out = (r.stdout ?? '') + (r.stderr ?? '');
    const errors = out.split('\n').filter((l) => /^E: /.test(l));
    assert.deepEqual(errors, [], out);
  });

  describe('the packaged stockhub, extracted and started as its unit starts it', () => {
    let server;
    let root;
    before(async () => {
      root = fs.mkdtempSync(path.join(tmp, 'root-'));
      run('dpkg-deb', ['-x', deb.stockhub, root]);
      const unit = fs.readFileSync(path.join(root, 'usr/lib/systemd/system/stockhub.service'), 'utf8');
      const exec = unit.match(/^ExecStart=(.*)$/m)[1].split(/\s+/);
      assert.equal(exec[0], '/usr/bin/stockhub');
      assert.match(unit, /^WorkingDirectory=\/etc\/stockhub$/m);
      const state = fs.mkdtempSync(path.join(tmp, 'state-'));
      // The unit's arguments with its folders moved into the extracted tree.
      const args = exec.slice(1).map((a) => a
        .replace('/var/lib/stockhub', state)
        .replace('/usr/share/stockhub', path.join(root, 'usr/share/stockhub')));
      server = await startListening(path.join(root, 'usr/bin/stockhub'),
        [...args, '--urls', 'http://127.0.0.1:0', '--Metrics:Urls=http://127.0.0.1:0'], {
          cwd: path.join(root, 'etc/stockhub'),
          env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Production',
            STOCKHUB_Auth__Key: 'packaged-stockhub-test-key-0123456789abcdef0123' },
        });
    });
    after(async () => {
      if (server) await stopCleanly(server);
    });

    it('serves its health endpoint, the dashboard and the hub', async () => {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      const page = await fetch(`${server.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /stockhub/i);
      const lib = await fetch(`${server.url}/lib/signalr.min.js`);
      assert.equal(lib.status, 200);
      // The hub wants a token: negotiate without one is refused, as configured.
      const negotiate = await fetch(`${server.url}/hubs/stocks/negotiate?negotiateVersion=1`, { method: 'POST' });
      assert.equal(negotiate.status, 401);
    });
  });
});
