// hubcast as a library a C++ team adopts: `cmake --install` into a temporary prefix, then
// examples/chat built out of tree from that prefix alone (find_package(hubcast), and again with
// pkg-config), run, and driven by the official client: messages, groups, a stream, both
// protocols; examples/quotes (a stream of a shared source) on two nodes and a real Redis. A
// discarded awaitable in a hub does not compile. The README's hub is examples/chat's file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { connect, once, startListening, startRedis, stopCleanly, streamToArray, waitFor } from './helpers.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const buildDir = path.dirname(path.resolve(process.env.HUBCAST_BIN ?? 'build/bin'));
const sanitized = process.env.HUBCAST_SANITIZED === '1';
// A sanitizer build's libraries need the sanitizer runtimes in whatever links them.
const sanitizerFlags = '-fsanitize=address,undefined -fno-sanitize-recover=all';
// Checks of headers and package files alone: the same in the sanitizer build, run once.
const normalBuildOnly = sanitized ? { skip: 'the same headers and files: checked by the normal build' } : {};

function sh(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
function ok(command, args, options) {
  const r = sh(command, args, options);
  assert.equal(r.code, 0, `${command} ${args.join(' ')}:\n${r.out.slice(-6000)}`);
  return r.out;
}
// Configures a CMake project that sees only the installed prefix (and the system).
function configure(src, bin, prefix) {
  const args = ['-S', src, '-B', bin, `-DCMAKE_PREFIX_PATH=${prefix}`, '-DCMAKE_BUILD_TYPE=Release'];
  if (sanitized) args.push(`-DCMAKE_CXX_FLAGS=${sanitizerFlags}`, `-DCMAKE_EXE_LINKER_FLAGS=${sanitizerFlags}`);
  return sh('cmake', args);
}

describe('an installed hubcast', () => {
  let tmp;
  let prefix;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubcast-install-'));
    prefix = path.join(tmp, 'prefix');
    ok('cmake', ['--install', buildDir, '--prefix', prefix, '--component', 'dev']);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('has the public headers under include/hubcast/, the libraries and the package files', () => {
    for (const f of ['include/hubcast/server/app.hpp', 'include/hubcast/hubs/hub.hpp',
      'include/hubcast/client/hub_connection.hpp', 'include/hubcast/protocol/msgpack_view.hpp',
      'lib/libhubcast_server.a', 'lib/libhubcast_redis.a', 'lib/libhubcast_client.a',
      'lib/cmake/hubcast/hubcastConfig.cmake', 'lib/cmake/hubcast/hubcastConfigVersion.cmake',
      'lib/cmake/hubcast/hubcastTargets.cmake', 'lib/pkgconfig/hubcast.pc',
      'lib/pkgconfig/hubcast-client.pc']) {
      assert.ok(fs.existsSync(path.join(prefix, f)), `${f} is installed`);
    }
    // Internals stay out: msgpack-cxx's form, the frame reader, OpenSSL sessions.
    for (const f of ['include/hubcast/protocol/msgpack_value.hpp',
      'include/hubcast/http/direct_websocket.hpp', 'include/hubcast/http/tls_session.hpp']) {
      assert.ok(!fs.existsSync(path.join(prefix, f)), `${f} is not installed`);
    }
  });

  it('every installed header finds everything it includes in the prefix and the system alone', normalBuildOnly, () => {
    const dir = path.join(prefix, 'include');
    const headers = execFileSync('find', [dir, '-name', '*.hpp'], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(headers.length > 40, `${headers.length} headers`);
    for (const h of headers) {
      const text = fs.readFileSync(h, 'utf8');
      assert.doesNotMatch(text, /#include\s+"/, `${h} includes with quotes (an include path of the source tree)`);
      assert.doesNotMatch(text, /#include\s+<msgpack/, `${h} needs msgpack-cxx`);
      // Preprocessing resolves every include (fast: no compile).
      const r = sh('g++', ['-std=c++20', '-E', '-o', '/dev/null', '-x', 'c++', `-I${dir}`, h]);
      assert.equal(r.code, 0, `${path.relative(dir, h)}:\n${r.out.slice(-3000)}`);
    }
  });

  it('refuses a version or a component it does not have, with the reason', () => {
    for (const [request, reason] of [['hubcast 0.2 CONFIG REQUIRED', /version/i],
      ['hubcast 0.1 CONFIG REQUIRED COMPONENTS server nosuch', /no component 'nosuch'/]]) {
      const src = fs.mkdtempSync(path.join(tmp, 'want-'));
      fs.writeFileSync(path.join(src, 'CMakeLists.txt'),
        `cmake_minimum_required(VERSION 3.25)\nproject(want LANGUAGES CXX)\nfind_package(${request})\n`);
      const r = configure(src, path.join(src, 'build'), prefix);
      assert.notEqual(r.code, 0, `${request} is refused`);
      assert.match(r.out, reason);
    }
  });

  describe('examples/chat, built from the prefix', () => {
    let server;
    let chat;
    before(async () => {
      const bin = path.join(tmp, 'chat');
      const r = configure(path.join(root, 'examples/chat'), bin, prefix);
      assert.equal(r.code, 0, r.out.slice(-6000));
      ok('cmake', ['--build', bin, '-j2']);
      chat = path.join(bin, 'chat');
      server = await startListening(chat, ['http://127.0.0.1:0']);
    });
    after(async () => {
      if (server) await stopCleanly(server);
    });

    for (const protocol of ['JSON', 'MessagePack']) {
      it(`sends to all, to a group's members only, and streams (${protocol})`, async () => {
        const url = `${server.url}/chat`;
        const withProtocol = (b) => (protocol === 'MessagePack' ? b.withHubProtocol(new MessagePackHubProtocol()) : b);
        const ann = connect(url, {}, withProtocol);
        const bob = connect(url, {}, withProtocol);
        await ann.start();
        await bob.start();
        try {
          const received = { ann: [], bob: [] };
          ann.on('ReceiveMessage', (m) => received.ann.push(m));
          bob.on('ReceiveMessage', (m) => received.bob.push(m));
          const first = once(bob, 'ReceiveMessage');
          await ann.invoke('Send', 'ann', 'hello');
          const [m] = await first;
          const user = protocol === 'JSON' ? m.user : m.User;
          const text = protocol === 'JSON' ? m.text : m.Text;
          assert.deepEqual([user, text], ['ann', 'hello']);

          await ann.invoke('Join', 'ops');  // answers once ann is in
          await bob.invoke('SendToRoom', 'ops', 'deploy at 5');
          await waitFor(() => received.ann.length === 2, 5000, 'the room message reaches ann');
          await new Promise((r) => setTimeout(r, 200));
          assert.equal(received.bob.length, 1, 'bob is not in the room');

          assert.deepEqual(await streamToArray(bob, 'Counter', 3), [0, 1, 2]);
        } finally {
          await ann.stop();
          await bob.stop();
        }
      });
    }
  });

  describe('examples/quotes (a shared source, on Redis), built from the prefix', () => {
    let redis;
    const nodes = [];
    before(async () => {
      const bin = path.join(tmp, 'quotes');
      const r = configure(path.join(root, 'examples/quotes'), bin, prefix);
      assert.equal(r.code, 0, r.out.slice(-6000));
      ok('cmake', ['--build', bin, '-j2']);
      redis = await startRedis();
      for (let i = 0; i < 2; ++i) {
        nodes.push(await startListening(path.join(bin, 'quotes'), ['http://127.0.0.1:0', redis.config]));
      }
    });
    after(async () => {
      for (const n of nodes) await stopCleanly(n);
      if (redis) await redis.close();
    });

    it("streams each subscriber's symbols only, and an announcement reaches both nodes' clients", async () => {
      const a = connect(`${nodes[0].url}/quotes`);
      const b = connect(`${nodes[1].url}/quotes`, {}, (x) => x.withHubProtocol(new MessagePackHubProtocol()));
      await a.start();
      await b.start();
      try {
        assert.equal(await a.invoke('Watch', 'MSFT'), true);
        assert.equal(await a.invoke('Watch', 'MSFT'), false);  // already watched
        const seen = [];
        const sub = a.stream('Quotes').subscribe({ next: (q) => seen.push(q), error: () => {}, complete: () => {} });
        await waitFor(() => seen.length >= 3, 5000, 'three MSFT quotes');
        assert.ok(seen.every((q) => q.symbol === 'MSFT' && q.price >= 400), JSON.stringify(seen));
        await a.invoke('Watch', 'AAPL');  // the running stream follows
        await waitFor(() => seen.some((q) => q.symbol === 'AAPL'), 5000, 'an AAPL quote after Watch');
        sub.dispose();

        await waitFor(async () => {
          const heard = once(b, 'Announcement');
          await a.invoke('Announce', 'open');
          const r = await Promise.race([heard, new Promise((res) => setTimeout(() => res(null), 500))]);
          return r && r[0] === 'open';
        }, 10000, 'an announcement on node 1 reaches a client of node 2 through Redis');
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  });

  it('builds the same example with pkg-config instead of CMake', normalBuildOnly, () => {
    const env = { ...process.env, PKG_CONFIG_PATH: path.join(prefix, 'lib/pkgconfig') };
    const flags = ok('pkg-config', ['--cflags', '--libs', 'hubcast'], { env }).trim().split(/\s+/);
    const out = path.join(tmp, 'chat-pc');
    const extra = sanitized ? sanitizerFlags.split(' ') : [];
    ok('g++', [...extra, '-O1', '-o', out, path.join(root, 'examples/chat/chat.cpp'), ...flags]);
    assert.ok(fs.statSync(out).size > 0);
    assert.match(ok('pkg-config', ['--libs', 'hubcast-client'], { env }), /-lhubcast_client/);
  });

  // A hub author cannot drop work silently: a discarded awaitable (a group change, a send_async,
  // a stream write) is a compiler diagnostic; awaited, the same code compiles.
  it('refuses to compile a hub that discards a group change, a send_async or a stream write', normalBuildOnly, () => {
    const hub = (discard) => `#include <hubcast/server/app.hpp>
struct h : hubcast::hub {
  static void configure(hubcast::hub_methods<h>&) {}
  boost::asio::awaitable<void> join(std::string room) {
    ${discard ? '' : 'co_await '}groups().add(context().connection_id(), room);
    ${discard ? '' : 'co_await '}clients().caller().send_async("Joined", room);
  }
  hubcast::async_stream<int> count() {
    return [](hubcast::stream_writer<int> w) -> boost::asio::awaitable<void> {
      ${discard ? '' : 'co_await '}w.write(1);
      co_return;
    };
  }
};
int main() {}
`;
    const compile = (name, text) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, text);
      return sh('g++', ['-std=c++20', '-fsyntax-only', '-Wall', '-Werror=unused-result',
        `-I${path.join(prefix, 'include')}`, '-DBOOST_ASIO_NO_DEPRECATED', '-DBOOST_ASIO_DISABLE_CONCEPTS', file]);
    };
    const awaited = compile('awaited.cpp', hub(false));
    assert.equal(awaited.code, 0, awaited.out.slice(-4000));
    const discarded = compile('discarded.cpp', hub(true));
    assert.notEqual(discarded.code, 0, 'a discarded awaitable does not compile with -Werror=unused-result');
    const diagnostics = discarded.out.match(/ignoring return value/g) ?? [];
    assert.equal(diagnostics.length, 3, discarded.out.slice(-4000));
  });

  it('is a subproject too (add_subdirectory): the libraries only, nothing forced in the cache', normalBuildOnly, () => {
    const src = fs.mkdtempSync(path.join(tmp, 'sub-'));
    fs.writeFileSync(path.join(src, 'CMakeLists.txt'), `cmake_minimum_required(VERSION 3.25)
project(sub LANGUAGES CXX)
add_subdirectory(${root} hubcast EXCLUDE_FROM_ALL)
add_executable(chat ${path.join(root, 'examples/chat/chat.cpp')})
target_link_libraries(chat PRIVATE hubcast::server)
`);
    const bin = path.join(src, 'build');
    ok('cmake', ['-S', src, '-B', bin]);
    const cache = fs.readFileSync(path.join(bin, 'CMakeCache.txt'), 'utf8');
    assert.match(cache, /^CMAKE_BUILD_TYPE:STRING=$/m, "the parent's build type, not hubcast's");
    assert.match(cache, /^HUBCAST_BUILD_APPS:BOOL=OFF$/m);
    const targets = ok('cmake', ['--build', bin, '--target', 'help']);
    assert.match(targets, /\bhubcast_server\b/);
    assert.doesNotMatch(targets, /\bstockhub\b|hubcast-conformance|hubcast_unit_tests/);
  });

  it("the README's hub is examples/chat/chat.cpp, word for word", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing a hub'));
    const block = section.match(/```cpp\n([\s\S]*?)```/)[1];
    assert.equal(block, fs.readFileSync(path.join(root, 'examples/chat/chat.cpp'), 'utf8'));
  });
});
