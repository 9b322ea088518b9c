// The stockhub dashboard: the article's JavaScript client, with login, token refresh through
// /api/refresh inside accessTokenFactory, subscriptions, a live table and charts.
'use strict';

const $ = (id) => document.getElementById(id);
const session = { token: null, refreshToken: null, expiresAt: 0, email: null, roles: [] };
let connection = null;
let streamSubscription = null;
const rows = new Map();
const charts = new Map();

function decodeClaims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
}

function keep(tokens) {
  session.token = tokens.token;
  session.refreshToken = tokens.refreshToken;
  session.expiresAt = Date.parse(tokens.expiresAt);
  const claims = decodeClaims(tokens.token);
  session.email = claims.email;
  session.roles = [].concat(claims.role || []);
}

async function post(path, body) {
  return fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

// Called before every connection attempt: a token about to expire is refreshed first.
async function accessToken() {
  if (Date.now() > session.expiresAt - 30000 && session.refreshToken) {
    const res = await post('/api/refresh', { refreshToken: session.refreshToken });
    if (!res.ok) {
      logout();
      throw new Error('session expired');
    }
    keep(await res.json());
  }
  return session.token;
}

function setState(text) {
  $('state').textContent = text;
  $('state').className = 'state ' + text;
}

function systemMessage(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} — ${text}`;
  $('messages').prepend(li);
}

function chartFor(symbol) {
  if (charts.has(symbol)) return charts.get(symbol);
  const holder = document.createElement('div');
  holder.dataset.symbol = symbol;
  $('charts').append(holder);
  const data = [[], []];
  const plot = new uPlot(
    { title: symbol, width: 320, height: 160, series: [{}, { label: symbol, stroke: '#2563eb' }], legend: { show: false } },
    data, holder);
  const chart = { plot, data, holder };
  charts.set(symbol, chart);
  return chart;
}

function dropSymbol(symbol) {
  rows.get(symbol)?.remove();
  rows.delete(symbol);
  const chart = charts.get(symbol);
  if (chart) {
    chart.plot.destroy();
    chart.holder.remove();
    charts.delete(symbol);
  }
}

function showPrice(e) {
  let row = rows.get(e.symbol);
  if (!row) {
    row = document.createElement('tr');
    row.dataset.symbol = e.symbol;
    row.innerHTML = '<td></td><td class="price"></td><td class="change"></td><td class="time"></td>';
    row.cells[0].textContent = e.symbol;
    $('prices').tBodies[0].append(row);
    rows.set(e.symbol, row);
  }
  const previous = Number(row.dataset.price || e.price);
  const change = e.price - previous;
  row.dataset.price = e.price;
  row.cells[1].textContent = e.price.toFixed(2);
  row.cells[2].textContent = (change >= 0 ? '+' : '') + change.toFixed(2);
  row.cells[2].className = change > 0 ? 'change up' : change < 0 ? 'change down' : 'change';
  row.cells[1].className = row.cells[2].className.replace('change', 'price');
  row.cells[3].textContent = new Date(e.timestamp).toLocaleTimeString();
  const chart = chartFor(e.symbol);
  chart.data[0].push(Date.parse(e.timestamp) / 1000);
  chart.data[1].push(e.price);
  if (chart.data[0].length > 120) {
    chart.data[0].shift();
    chart.data[1].shift();
  }
  chart.plot.setData(chart.data);
}

function startStream() {
  streamSubscription?.dispose();
  streamSubscription = connection.stream('StreamStockPrices').subscribe({
    next: showPrice,
    error: (err) => systemMessage(`Stream error: ${err}`),
    complete: () => {},
  });
}

async function connect() {
  connection = new signalR.HubConnectionBuilder()
    .withUrl('/hubs/stocks', { accessTokenFactory: accessToken })
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  connection.on('Subscribed', (s) => systemMessage(`Subscribed to ${s}`));
  connection.on('Unsubscribed', (s) => systemMessage(`Unsubscribed from ${s}`));
  connection.on('SystemMessage', (m) => systemMessage(m));
  connection.on('Error', (m) => systemMessage(`Error: ${m}`));
  connection.onreconnecting(() => setState('Reconnecting'));
  connection.onreconnected(async () => {
    setState('Connected');
    // A new connection: subscriptions and the stream start over.
    for (const box of document.querySelectorAll('#symbols input:checked')) await connection.invoke('Subscribe', box.value);
    startStream();
  });
  connection.onclose(() => setState('Disconnected'));
  setState('Connecting');
  await connection.start();
  setState('Connected');
  const symbols = await connection.invoke('GetAvailableSymbols');
  $('symbols').replaceChildren(...symbols.map((s) => {
    const label = document.createElement('label');
    label.innerHTML = '<input type="checkbox"> ';
    label.firstChild.value = s;
    label.append(s);
    label.firstChild.addEventListener('change', async (ev) => {
      if (ev.target.checked) {
        await connection.invoke('Subscribe', s);
        // Leaving "all symbols" mode: clear rows of symbols not subscribed.
        const chosen = new Set([...document.querySelectorAll('#symbols input:checked')].map((b) => b.value));
        for (const sym of [...rows.keys()]) if (!chosen.has(sym)) dropSymbol(sym);
      } else {
        await connection.invoke('Unsubscribe', s);
        dropSymbol(s);
      }
    });
    return label;
  }));
  startStream();
  if (session.roles.includes('Admin')) {
    $('admin').hidden = false;
    await refreshCount();
  }
}

async function refreshCount() {
  $('users-count').textContent = await connection.invoke('GetConnectedUsersCount');
}

async function logout() {
  if (session.refreshToken) post('/api/logout', { refreshToken: session.refreshToken }).catch(() => {});
  Object.assign(session, { token: null, refreshToken: null, expiresAt: 0 });
  await connection?.stop();
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('logout').hidden = true;
  $('who').textContent = '';
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const res = await post('/api/login', { email: $('email').value, password: $('password').value });
  if (!res.ok) {
    $('login-error').textContent = res.status === 429 ? 'Too many attempts, try again later.' : 'Wrong email or password.';
    return;
  }
  keep(await res.json());
  $('who').textContent = session.email;
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('logout').hidden = false;
  try {
    await connect();
  } catch (err) {
    systemMessage(`Could not connect: ${err}`);
  }
});

$('broadcast').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await connection.invoke('BroadcastMessage', $('broadcast-text').value);
  $('broadcast-text').value = '';
});
$('refresh-count').addEventListener('click', refreshCount);
$('logout').addEventListener('click', logout);
