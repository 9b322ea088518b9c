// The stockhub dashboard in headless Chromium (Debian's chromium driven by playwright-core), at
// 1920 and 390 px, light and dark: login (a wrong password says so), the symbol chips, live
// values with % change against GetMarketSnapshot's open, the stale mark (the server frozen with
// SIGSTOP), a transport/protocol switch keeping the chart's data, token refreshes on the open
// connection (6 s tokens) with no reconnect and no error shown, the operator console for the Admin role only (refused by the server to
// a trader), a broadcast reaching another browser, and no console errors. Screenshots under
// build/ (the committed ones: docs/images/).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { connect, delay, stockhubDir } from './helpers.mjs';

const chromiumPath = '/usr/bin/chromium';
const binDir = path.resolve(process.env.HUBCAST_BIN ?? 'build/bin');
const skip = fs.existsSync(chromiumPath) ? false : 'Debian chromium is not installed (scripts/install-deps --with-browser)';
const shots = path.resolve('build/dashboard');
let proc;
let url;
let browser;
const users = {};
const problems = [];  // console errors and page errors, of every page
const refused = [];  // every HTTP answer >= 400 a page got: which request, when
const raced = [];  // 404s of a send to a connection that had just ended (see open())
const pages = {};

before(async () => {
  if (skip) return;
  const dir = stockhubDir('stockhub-ui-');
  proc = spawn(
    path.join(binDir, 'stockhub'),
    ['--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/users.db`,
     '--Stocks:TickInterval=00:00:00.200', '--Auth:AccessTokenLifetime=00:00:06'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stockhub did not start: ${out}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      for (const m of out.matchAll(/Development user: (\S+) \/ (\S+)/g)) users[m[1]] = m[2];
      const l = out.match(/Now listening on: (http:\/\/\S+)/);
      if (l) {
        clearTimeout(timer);
        resolve(l[1]);
      }
    });
  });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (!proc) return;
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r(code ?? signal)));
  proc.kill('SIGCONT');
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, 'graceful shutdown exits 0');
});

async function open(name, { width = 1920, height = 1080, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The official client sends its Close message without waiting (HubConnection.stop), then
    // ends the transport (a long-polling DELETE, the EventSource closed); a send racing the end
    // of its own connection (also the server's, at a token's expiry) is answered 404, as ASP.NET
    // Core does. Chromium logs it; it is not the page's error. So is a token refresh that
    // arrives after the server ended the connection at its token's end (the stale test freezes
    // the server for seconds: a 6 s token can end meanwhile; the page reconnects). Any other
    // 404 is an error.
    if (/status of 404/.test(m.text()) && /\/hubs\/stocks(\?id=|\/refresh)/.test(m.location().url ?? '')) raced.push(`${name}: ${m.text()}`);
    else problems.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) {
      const u = new URL(r.url());
      refused.push(`${new Date().toISOString()} ${name}: ${r.request().method()} ${u.pathname}${u.search.replace(/(id|access_token)=[^&]*/g, '$1=…')} → ${r.status()}`);
    }
  });
  await page.goto(url);
  pages[name] = page;
  return page;
}

async function logIn(page, email) {
  await page.fill('#email', email);
  await page.fill('#password', users[email]);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#state.Connected', { timeout: 15000 });
  await page.waitForSelector(`#symbols label[data-symbol=MSFT]`);
}

const cell = (page, symbol, cls) => page.textContent(`#prices tr[data-symbol=${symbol}] .${cls}`);
const rowSymbols = (page) => page.$$eval('#prices tbody tr', (rows) => rows.map((r) => r.dataset.symbol));
const number = (text) => Number(text.replace(/,/g, '').replace('−', '-').replace('%', ''));

// The official client in Node, for what the server says (GetMarketSnapshot's open).
async function serverSnapshot(email) {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: users[email] }),
  });
  const { token } = await res.json();
  const c = connect(`${url}/hubs/stocks`, { accessTokenFactory: () => token });
  await c.start();
  try {
    return new Map((await c.invoke('GetMarketSnapshot')).map((s) => [s.symbol, s]));
  } finally {
    await c.stop();
  }
}

describe('stockhub dashboard', { skip, timeout: 180000 }, () => {
  it('refuses a wrong password with a message, then logs in', async () => {
    const page = await open('trader');
    assert.ok(await page.isVisible('#login-view'));
    await page.fill('#email', 'trader@stockhub.local');
    await page.fill('#password', 'not-the-password');
    await page.click('#login button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent !== '');
    assert.equal(await page.textContent('#login-error'), 'Wrong email or password.');
    assert.ok(await page.isHidden('#app-view'));
    // Chromium logs the refused login's 401 as a failed resource: expected here, not later.
    problems.length = 0;
    await logIn(page, 'trader@stockhub.local');
    assert.equal(await page.textContent('#who'), 'trader@stockhub.local');
  });

  it('fills the table from the snapshot, then streams the chosen symbols only', async () => {
    const page = pages.trader;
    // No symbol chosen: every symbol, the table full from GetMarketSnapshot.
    await page.waitForFunction(() => document.querySelectorAll('#prices tbody tr').length === 6);
    assert.deepEqual(await rowSymbols(page), ['AAPL', 'AMZN', 'GOOGL', 'MSFT', 'NVDA', 'TSLA']);
    await page.click('#symbols label[data-symbol=MSFT]');
    await page.waitForFunction(() => document.querySelectorAll('#prices tbody tr').length === 1);
    assert.deepEqual(await rowSymbols(page), ['MSFT']);
    assert.ok(await page.isChecked('#symbols label[data-symbol=MSFT] input'));
    const first = await cell(page, 'MSFT', 'time');
    await page.waitForFunction((t) => document.querySelector('#prices tr[data-symbol=MSFT] .time').textContent !== t, first);
    assert.match(await cell(page, 'MSFT', 'price'), /^\d{1,3}(,\d{3})*\.\d\d$/);
    await page.click('#symbols label[data-symbol=AAPL]');
    await page.waitForFunction(() => document.querySelectorAll('#prices tbody tr').length === 2);
    await page.click('#symbols label[data-symbol=MSFT]');
    await page.waitForFunction(() => document.querySelectorAll('#prices tbody tr').length === 1);
    assert.deepEqual(await rowSymbols(page), ['AAPL']);
    // A sparkline and the chart are drawn.
    await page.waitForSelector('#chart canvas');
    assert.equal(await page.locator('#prices tr[data-symbol=AAPL] canvas.spark').count(), 1);
  });

  it('computes change and % change since the open the server reports', async () => {
    const page = pages.trader;
    const snapshot = await serverSnapshot('trader@stockhub.local');
    // Read the row and its open in one go, between two renders.
    const row = await page.evaluate(() => {
      const r = document.querySelector('#prices tr[data-symbol=AAPL]');
      return { open: Number(r.dataset.open), last: r.querySelector('.price').textContent,
               change: r.querySelector('.change').textContent, pct: r.querySelector('.pct').textContent,
               high: r.querySelector('.high').textContent, low: r.querySelector('.low').textContent };
    });
    assert.equal(row.open, snapshot.get('AAPL').open, 'the open is the server\'s');
    const last = number(row.last);
    assert.equal(number(row.change).toFixed(2), (last - row.open).toFixed(2), JSON.stringify(row));
    assert.equal(number(row.pct).toFixed(2), (((last - row.open) / row.open) * 100).toFixed(2), JSON.stringify(row));
    assert.ok(number(row.low) <= last && last <= number(row.high), JSON.stringify(row));
    assert.ok(number(row.low) <= snapshot.get('AAPL').high, 'the day\'s range');
  });

  it('marks symbols stale while the feed stops, and clears the mark when it resumes', async () => {
    const page = pages.trader;
    assert.ok(await page.isHidden('#prices tr[data-symbol=AAPL] .stale-badge'));
    proc.kill('SIGSTOP');
    try {
      await page.waitForSelector('#prices tr[data-symbol=AAPL].stale .stale-badge:not([hidden])', { timeout: 8000 });
    } finally {
      proc.kill('SIGCONT');
    }
    await page.waitForSelector('#prices tr[data-symbol=AAPL]:not(.stale)', { timeout: 8000 });
    assert.ok(await page.isHidden('#prices tr[data-symbol=AAPL] .stale-badge'));
  });

  it('switches transport and protocol, keeping the chart\'s data', async () => {
    const page = pages.trader;
    await page.waitForFunction(() => document.querySelector('#conn-transport').textContent === 'WebSockets');
    assert.equal(await page.textContent('#conn-protocol'), 'JSON');
    for (const [transport, protocol, shown] of [['LongPolling', 'messagepack', 'MessagePack'], ['ServerSentEvents', 'json', 'JSON']]) {
      const points = await page.evaluate(() => window.stockhub.board.symbols.get('AAPL').t.length);
      await page.selectOption('#transport', transport);
      await page.selectOption('#protocol', protocol);
      await page.click('#transport-form button[type=submit]');
      await page.waitForFunction((t) => document.querySelector('#conn-transport').textContent === t, transport);
      await page.waitForSelector('#state.Connected');
      assert.equal(await page.textContent('#conn-protocol'), shown);
      // Still subscribed to AAPL only, prices flowing, history kept.
      await page.waitForFunction((n) => window.stockhub.board.symbols.get('AAPL').t.length > n + 3, points);
      assert.deepEqual(await rowSymbols(page), ['AAPL']);
    }
    await page.selectOption('#transport', 'auto');
    await page.click('#transport-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#conn-transport').textContent === 'WebSockets');
    await page.waitForSelector('#state.Connected');
    await page.click('#window button[data-minutes="5"]');
    assert.equal(await page.getAttribute('#window button[data-minutes="5"]', 'aria-pressed'), 'true');
  });

  it('refreshes the token on the open connection: the stream goes on, no reconnect, no error shown', async () => {
    const page = pages.trader;
    await page.waitForSelector('#state.Connected');
    // Every state the connection passes through from now on (withAuthenticationRefresh: none).
    await page.evaluate(() => {
      window.seenStates = [];
      new MutationObserver(() => window.seenStates.push(document.querySelector('#state').textContent))
        .observe(document.querySelector('#state'), { attributes: true, childList: true, characterData: true, subtree: true });
    });
    const before = Number(await page.textContent('#refresh-count'));
    // Two renewals of the 6 s token: the connection outlives the token it started with.
    await page.waitForFunction((n) => Number(document.querySelector('#refresh-count').textContent) >= n + 2, before, { timeout: 30000 });
    await page.waitForSelector('#state.Connected');
    assert.deepEqual(await page.evaluate(() => window.seenStates.filter((s) => s !== 'Connected')), []);
    const t = await cell(page, 'AAPL', 'time');
    await page.waitForFunction((v) => document.querySelector('#prices tr[data-symbol=AAPL] .time').textContent !== v, t);
    assert.match(await page.textContent('#token-expiry'), /^in \d+:\d\d \(/);
    assert.equal(await page.locator('#messages li.error').count(), 0, await page.textContent('#messages'));
    assert.doesNotMatch(await page.textContent('body'), /Stream error|canceled|Price stream ended/i);
  });

  it('shows the operator console to an admin, and the broadcast reaches the trader', async () => {
    const admin = await open('admin');
    await logIn(admin, 'admin@stockhub.local');
    await admin.waitForSelector('#admin:not([hidden])');
    await admin.waitForFunction(() => document.querySelector('#users tbody tr[data-email="trader@stockhub.local"]'));
    const trader = await admin.$$eval('#users tbody tr[data-email="trader@stockhub.local"] td', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(trader.slice(0, 2), ['trader@stockhub.local', 'Trader']);
    assert.match(await admin.textContent('#users-count'), /^[2-9]$/);
    assert.ok(Number(await admin.textContent('#stat-connections')) >= 2);
    await admin.waitForFunction(() => Number(document.querySelector('#stat-ticks').textContent) > 0, null, { timeout: 10000 });
    assert.ok(await admin.isVisible('#by-transport li[data-key=WebSockets]'));
    // Never a connection id (22 characters of base64url) in any cell.
    const texts = await admin.$$eval('#admin td, #admin th, #admin span', (els) => els.map((e) => e.textContent));
    for (const t of texts) assert.doesNotMatch(t, /^[0-9A-Za-z_-]{22}$/, 'no connection id');

    // The trader's 6 s tokens are renewed on its open connection (a refused renewal would end it
    // at the token's end): start right after a renewal, a token's life ahead (the steps below
    // take well under a second).
    const refreshes = Number(await pages.trader.textContent('#refresh-count'));
    await pages.trader.waitForFunction((n) => Number(document.querySelector('#refresh-count').textContent) > n, refreshes, { timeout: 30000 });
    await pages.trader.waitForSelector('#state.Connected');
    await admin.fill('#broadcast-text', 'Markets close early today');
    await admin.click('#broadcast button[type=submit]');
    await admin.waitForSelector('#confirm[open]');
    assert.equal(await admin.textContent('#confirm-text'), 'Markets close early today');
    await admin.screenshot({ path: path.join(shots, 'confirm.png') });
    await admin.click('#confirm-send');
    await pages.trader.waitForSelector('#toasts .toast:has-text("Markets close early today")');
    await pages.trader.waitForFunction(() => document.querySelector('#messages').textContent.includes('Markets close early today'));
    await admin.waitForSelector('#broadcast-history li.sent');
    // Cancel sends nothing.
    await admin.fill('#broadcast-text', 'not sent');
    await admin.click('#broadcast button[type=submit]');
    await admin.click('#confirm button[value=cancel]');
    await delay(500);
    assert.doesNotMatch(await pages.trader.textContent('#messages'), /not sent/);
    assert.equal(await admin.locator('#broadcast-history li').count(), 1);
    await admin.screenshot({ path: path.join(shots, 'admin.png'), fullPage: true });
  });

  it('hides the console from a trader, and the server refuses its methods', async () => {
    const page = pages.trader;
    assert.ok(await page.isHidden('#admin'));
    for (const method of ['GetServerStatistics', 'GetConnectedUsers', 'BroadcastMessage']) {
      const error = await page.evaluate((m) => window.stockhub.hub.invoke(m, ...(m === 'BroadcastMessage' ? ['x'] : []))
        .then(() => 'allowed', (e) => e.message), method);
      assert.equal(error, `Failed to invoke '${method}' because user is unauthorized`);
    }
  });

  it('lays out at 390 px and in dark mode', async () => {
    await pages.trader.screenshot({ path: path.join(shots, 'light.png'), fullPage: true });
    const light = await pages.trader.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await pages.trader.emulateMedia({ colorScheme: 'dark' });
    await delay(600);
    const dark = await pages.trader.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(dark, light, 'the dark scheme applies');
    await pages.trader.screenshot({ path: path.join(shots, 'dark.png'), fullPage: true });

    for (const colorScheme of ['light', 'dark']) {
      const page = await open(`narrow-${colorScheme}`, { width: 390, height: 844, colorScheme });
      await logIn(page, 'trader@stockhub.local');
      await page.click('#symbols label[data-symbol=NVDA]');
      await page.click('#symbols label[data-symbol=TSLA]');
      await page.waitForFunction(() => document.querySelectorAll('#prices tbody tr').length === 2);
      await page.waitForSelector('#chart canvas');
      await delay(1500);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `no horizontal scrolling at 390 px (${width})`);
      assert.ok(await page.isVisible('#prices tr[data-symbol=NVDA] .pct'));
      if (colorScheme === 'light') await page.screenshot({ path: path.join(shots, 'narrow.png'), fullPage: true });
    }
  });

  it('logged no console errors', () => {
    assert.deepEqual(problems, [], `HTTP answers >= 400:\n${refused.join('\n')}`);
    // A few at most (three transport switches, a reconnect per token): not every send.
    if (raced.length) console.log('raced:', raced);
    assert.ok(raced.length <= 3, `HTTP answers >= 400:\n${refused.join('\n')}`);
  });
});
