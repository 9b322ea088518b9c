// The stockhub dashboard: log in, pick symbols, watch them live; the connection panel; and for
// the Admin role, the operator console. Plain modules, libraries from npm copied at build time.
import { Board } from './board.js';
import { PriceChart } from './chart.js';
import { OperatorConsole } from './console.js';
import { StockConnection } from './hub.js';
import { Messages } from './messages.js';
import { Session } from './session.js';

const $ = (id) => document.getElementById(id);
const session = new Session();
const messages = new Messages($('toasts'), $('messages'), $('messages-empty'));
const board = new Board($('prices').tBodies[0], $('prices-empty'));
const chart = new PriceChart($('chart'), board);
const chosen = new Set();
let received = [];  // arrival times of the last second's messages
let lastLatency = null;

const hub = new StockConnection(session, {
  state: setState,
  price: (e) => {
    count();
    lastLatency = Date.now() - e.ts;
    board.applyTick(e);
  },
  snapshot: (list) => board.applySnapshot(list),
  message: (text) => {
    count();
    messages.show(text, 'info');
  },
  error: (text) => {
    count();
    messages.show(text, 'error');
  },
  subscribed: () => count(),
  info: (info) => {
    $('conn-transport').textContent = info.transport ?? '–';
    $('conn-protocol').textContent = info.protocol === 'messagepack' ? 'MessagePack' : info.protocol === 'json' ? 'JSON' : '–';
  },
});
const operator = new OperatorConsole(hub, messages);

function count() {
  received.push(performance.now());
}

function setState(state) {
  $('state').textContent = state;
  $('state').className = `state ${state}`;
  $('conn-state').textContent = state;
  document.body.classList.toggle('offline', state !== 'Connected');
}

// --- the symbol chips -------------------------------------------------------------------------

function renderChips(symbols) {
  $('symbols').replaceChildren(...symbols.map((s) => {
    const label = document.createElement('label');
    label.className = 'chip';
    label.dataset.symbol = s;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = s;
    box.checked = chosen.has(s);
    const name = document.createElement('span');
    name.textContent = s;
    label.append(box, name);
    box.addEventListener('change', () => toggle(s, box));
    return label;
  }));
  hint();
}

function hint() {
  $('symbols-hint').textContent = chosen.size ? `${chosen.size} selected` : 'none selected: showing every symbol';
}

async function toggle(symbol, box) {
  box.disabled = true;
  try {
    if (box.checked) {
      chosen.add(symbol);
      await hub.subscribe(symbol);
    } else {
      chosen.delete(symbol);
      await hub.unsubscribe(symbol);
    }
    board.setShown(chosen);
    if (hub.connected) await hub.refreshSnapshot().catch(() => {});
  } catch (err) {
    messages.show(`Could not change the subscription: ${err.message ?? err}`, 'error');
  } finally {
    box.disabled = false;
    hint();
  }
}

// --- connecting --------------------------------------------------------------------------------

function preferences() {
  return { transport: $('transport').value, protocol: $('protocol').value };
}

async function connect() {
  try {
    await hub.start(preferences());
    renderChips(await hub.symbols());
    operator.show(session.isAdmin());
  } catch (err) {
    if (session.signedIn) messages.show(`Could not connect: ${err.message ?? err}`, 'error');
  }
}

$('transport-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  localStorage.setItem('stockhub.connection', JSON.stringify(preferences()));
  await connect();
});

try {
  const saved = JSON.parse(localStorage.getItem('stockhub.connection') ?? '{}');
  if ([...$('transport').options].some((o) => o.value === saved.transport)) $('transport').value = saved.transport;
  if ([...$('protocol').options].some((o) => o.value === saved.protocol)) $('protocol').value = saved.protocol;
} catch {
  localStorage.removeItem('stockhub.connection');
}

// --- the connection panel, once a second ---------------------------------------------------------

function clock(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

setInterval(() => {
  const now = performance.now();
  received = received.filter((t) => now - t < 1000);
  if (!session.signedIn) return;
  $('conn-rate').textContent = String(received.length);
  $('conn-latency').textContent = lastLatency === null ? '–' : `${Math.max(0, lastLatency)} ms`;
  $('token-expiry').textContent = `in ${clock(session.expiresAt - Date.now())} (${new Date(session.expiresAt).toLocaleTimeString()})`;
  $('refresh-count').textContent = String(session.refreshes.length);
  const last = session.refreshes.at(-1);
  $('refresh-last').textContent = last ? `last at ${new Date(last).toLocaleTimeString()}` : '';
  board.checkStale();
}, 1000);

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => board.redrawAll());

// --- chart window ------------------------------------------------------------------------------

for (const b of $('window').querySelectorAll('button')) {
  b.addEventListener('click', () => {
    for (const o of $('window').querySelectorAll('button')) o.setAttribute('aria-pressed', String(o === b));
    chart.setWindow(Number(b.dataset.minutes));
  });
}

// --- login / logout ----------------------------------------------------------------------------

function showApp(on) {
  $('login-view').hidden = on;
  $('app-view').hidden = !on;
  $('logout').hidden = !on;
  $('who').textContent = on ? `${session.email}${session.isAdmin() ? ' · Admin' : ''}` : '';
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const button = $('login').querySelector('button');
  button.disabled = true;
  const error = await session.login($('email').value, $('password').value);
  button.disabled = false;
  if (error) {
    $('login-error').textContent = error;
    return;
  }
  $('password').value = '';
  showApp(true);
  await connect();
});

async function logout(reason) {
  session.logout();
  operator.show(false);
  await hub.stop();
  setState('Disconnected');
  chosen.clear();
  hub.wanted.clear();
  board.clear();
  messages.clear();
  showApp(false);
  if (reason) $('login-error').textContent = reason;
}

// For a look from the developer tools (and the browser test): the page's parts, read-only.
window.stockhub = Object.freeze({ hub, board, chart });

session.onexpired = () => logout('Your session has expired: log in again.');
$('logout').addEventListener('click', () => logout());
