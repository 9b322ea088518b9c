// The article's JavaScript client, against stockhub, runnable:
//
//   STOCKHUB_EMAIL=trader@stockhub.local STOCKHUB_PASSWORD=... node examples/node/stock-client.mjs
//
// It logs in at /api/login, connects to /hubs/stocks with an accessTokenFactory that refreshes
// the token through /api/refresh before it expires, and hands each new token to the open
// connection a minute before the old one ends (11.0's withAuthenticationRefresh: no reconnect,
// no gap in the stream). It subscribes and prints every price it streams. After an automatic
// reconnect (a network cut, a drained node) it starts the stream again.
//
// Environment: STOCKHUB_URL (default http://localhost:5000; https://localhost:5001 with a
// `stockhub dev-certs` certificate trusted through NODE_EXTRA_CA_CERTS=<the .crt>),
// STOCKHUB_EMAIL, STOCKHUB_PASSWORD, STOCKHUB_SYMBOLS (default MSFT,AAPL),
// STOCKHUB_PROTOCOL (json | messagepack), STOCKHUB_COUNT (exit 0 after that many prices).
import * as signalR from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';

const API_URL = (process.env.STOCKHUB_URL ?? 'http://localhost:5000').replace(/\/$/, '');
const email = process.env.STOCKHUB_EMAIL;
const password = process.env.STOCKHUB_PASSWORD;
const symbols = (process.env.STOCKHUB_SYMBOLS ?? 'MSFT,AAPL').split(',');
const count = Number(process.env.STOCKHUB_COUNT ?? 0);
if (!email || !password) {
  console.error('stock-client: set STOCKHUB_EMAIL and STOCKHUB_PASSWORD');
  process.exit(2);
}

async function post(path, body) {
  let res;
  try {
    res = await fetch(`${API_URL}${path}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      redirect: 'manual',
    });
  } catch (e) {
    const why = e.cause?.code ?? e.message;
    console.error(`stock-client: cannot reach ${API_URL}: ${why}` +
      (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(why) ? ' (a development certificate: NODE_EXTRA_CA_CERTS=<stockhub-dev.crt>)' : ''));
    process.exit(1);
  }
  if (res.status >= 300 && res.status < 400) {
    // stockhub with HTTPS bound answers plain HTTP with a redirect; say so rather than fail later.
    console.error(`stock-client: ${API_URL} redirects to ${res.headers.get('location')}: set STOCKHUB_URL to the https:// URL`);
    process.exit(1);
  }
  return res;
}

// Tokens from /api/login, renewed through /api/refresh (refresh tokens rotate: keep the new one).
let tokens;
async function login() {
  const res = await post('/api/login', { email, password });
  if (res.status !== 200) {
    console.error(`stock-client: login refused (${res.status})`);
    process.exit(1);
  }
  tokens = await res.json();
}

// The open connection asks for a new token this long before the current one ends (or at half
// its life when it lives less than twice this).
const REFRESH_BEFORE_MS = 60000;

function isTokenExpired() {
  // Renewed when the connection asks (REFRESH_BEFORE_MS before its end, or half its life, and a
  // second of slack), never for a connection that starts with a fresh one.
  const { exp, iat } = JSON.parse(Buffer.from(tokens.token.split('.')[1], 'base64url'));
  const margin = Math.min(REFRESH_BEFORE_MS, ((exp - iat) * 1000) / 2) + 1000;
  return Date.now() >= exp * 1000 - margin;
}

async function refreshToken() {
  const res = await post('/api/refresh', { refreshToken: tokens.refreshToken });
  if (res.status === 200) {
    tokens = await res.json();
    console.log(`token refreshed, expires at ${tokens.expiresAt}`);
  } else {
    await login();  // the refresh token expired or was revoked
    console.log('logged in again');
  }
  return tokens.token;
}

await login();
let builder = new signalR.HubConnectionBuilder()
  .withUrl(`${API_URL}/hubs/stocks`, {
    accessTokenFactory: async () => (isTokenExpired() ? refreshToken() : tokens.token),
  })
  .withAutomaticReconnect()
  .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: REFRESH_BEFORE_MS })
  .configureLogging(signalR.LogLevel.Warning);
if (process.env.STOCKHUB_PROTOCOL === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
const connection = builder.build();

connection.on('Subscribed', (symbol) => console.log('Subscribed to:', symbol));
connection.on('SystemMessage', (message) => console.log('System:', message));
connection.on('Error', (message) => console.error('Error:', message));

let received = 0;
let stopping = false;
function stream() {
  connection.stream('StreamStockPrices').subscribe({
    // MessagePack carries the record's PascalCase keys and the decimal price as a string, as
    // ASP.NET Core writes them; JSON uses camelCase and a number.
    next: (e) => {
      const symbol = e.symbol ?? e.Symbol;
      const price = Number(e.price ?? e.Price);
      const at = new Date(e.timestamp ?? e.Timestamp);
      console.log(`${symbol}: $${price.toFixed(2)} at ${at.toISOString().slice(11, 19)}`);
      if (count && ++received >= count && !stopping) {
        stopping = true;
        connection.stop().then(() => process.exit(0));
      }
    },
    error: () => {},  // the connection dropped: onreconnected starts a new stream
    complete: () => {},
  });
}

connection.onreconnecting((e) => console.log(`reconnecting${e ? `: ${e.message}` : ''}`));
connection.onreconnected(async () => {
  console.log('reconnected');
  for (const s of symbols) await connection.invoke('Subscribe', s);
  stream();
});
connection.onclose((e) => {
  if (stopping) return;
  console.error(`connection closed${e ? `: ${e.message}` : ''}`);
  process.exit(1);
});

await connection.start();
console.log('Available:', (await connection.invoke('GetAvailableSymbols')).join(', '));
for (const s of symbols) await connection.invoke('Subscribe', s);
stream();
