// The stockhub dashboard in headless Chromium (Debian's chromium driven by playwright-core):
// log in, subscribe, watch prices arrive, and an admin broadcast reaching a second browser.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { stockhubDir } from './helpers.mjs';

const chromiumPath = '/usr/bin/chromium';
const binDir = process.env.HUBCAST_BIN ?? path.resolve('build/bin');
const skip = fs.existsSync(chromiumPath) ? false : 'Debian chromium is not installed (scripts/install-deps --with-browser)';
let proc;
let url;
let browser;
const users = {};

before(async () => {
  if (skip) return;
  const dir = stockhubDir('stockhub-ui-');
  proc = spawn(
    path.join(binDir, 'stockhub'),
    ['--environment', 'Development', '--urls', 'http://127.0.0.1:0', `--Database:Path=${dir}/users.db`,
     '--Stocks:TickInterval=00:00:00.200'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stockhub did not start: ${out}`)), 15000);
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
});

after(async () => {
  await browser?.close();
  if (!proc) return;
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r(code ?? signal)));
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, 'graceful shutdown exits 0');
});

async function loggedIn(email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('#email', email);
  await page.fill('#password', users[email]);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#state.Connected', { timeout: 15000 });
  return page;
}

it('logs in, subscribes, shows live prices, and shows an admin broadcast in another browser', { skip, timeout: 90000 }, async () => {
  const trader = await loggedIn('trader@stockhub.local');
  await trader.waitForSelector('#symbols input[value=MSFT]');
  await trader.check('#symbols input[value=MSFT]');
  const row = '#prices tr[data-symbol=MSFT] td.price';
  await trader.waitForSelector(row);
  const first = await trader.textContent('#prices tr[data-symbol=MSFT] td:nth-child(4)');
  await trader.waitForFunction(
    (t) => document.querySelector('#prices tr[data-symbol=MSFT] td:nth-child(4)')?.textContent !== t,
    first,
    { timeout: 10000 },
  );
  assert.match(await trader.textContent(row), /^\d+\.\d\d$/);
  assert.equal(await trader.locator('#prices tbody tr').count(), 1, 'only the subscribed symbol');
  assert.ok(await trader.isHidden('#admin'), 'no admin tools for traders');

  const admin = await loggedIn('admin@stockhub.local');
  await admin.waitForSelector('#admin:not([hidden])');
  await admin.fill('#broadcast-text', 'Markets close early today');
  await admin.click('#broadcast button');
  await trader.waitForFunction(
    () => document.querySelector('#messages')?.textContent.includes('Markets close early today'),
    null,
    { timeout: 10000 },
  );
  assert.match(await admin.textContent('#users-count'), /^\d+$/);
  fs.mkdirSync(path.resolve('build'), { recursive: true });
  await trader.waitForSelector('#charts canvas');
  await trader.screenshot({ path: path.resolve('build/dashboard.png'), fullPage: true });
});
