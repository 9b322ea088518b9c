// The hub connection (the article's JavaScript client): transport and protocol as chosen,
// the token from the session before each attempt and renewed on the open connection before it
// expires (`withAuthenticationRefresh`: no reconnect, no gap in the stream), automatic
// reconnect for as long as the user is signed in, and the price stream restarted quietly after
// every reconnect.
/* global signalR */

// The open connection's token is renewed this long before its end (or at half its life when
// it lives less than twice this).
const REFRESH_BEFORE_MS = 60000;

const transports = {
  WebSockets: signalR.HttpTransportType.WebSockets,
  ServerSentEvents: signalR.HttpTransportType.ServerSentEvents,
  LongPolling: signalR.HttpTransportType.LongPolling,
};

// Prices arrive with camelCase keys over JSON and PascalCase over MessagePack (as ASP.NET Core
// writes them), decimals as numbers or strings, the timestamp as a string or a Date.
export function normalizePrice(e) {
  const ts = e.timestamp ?? e.Timestamp;
  return {
    id: String(e.id ?? e.Id),
    symbol: e.symbol ?? e.Symbol,
    price: Number(e.price ?? e.Price),
    ts: ts instanceof Date ? ts.getTime() : Date.parse(ts),
  };
}

export function normalizeSnapshot(s) {
  const ts = s.timestamp ?? s.Timestamp;
  return {
    symbol: s.symbol ?? s.Symbol,
    open: Number(s.open ?? s.Open),
    high: Number(s.high ?? s.High),
    low: Number(s.low ?? s.Low),
    last: Number(s.last ?? s.Last),
    ts: ts instanceof Date ? ts.getTime() : Date.parse(ts),
  };
}

// camelCase keys whatever the protocol, for records and lists of records (a record's maps,
// e.g. connections by transport, keep their keys).
export function camel(value) {
  if (Array.isArray(value)) return value.map(camel);
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k[0].toLowerCase() + k.slice(1)] = Array.isArray(v) ? v.map(camel) : v;
  return out;
}

export class StockConnection {
  // handlers: state(text), price(event), snapshot(list), message(text), error(text),
  // subscribed(symbol), info({transport, protocol})
  constructor(session, handlers) {
    this.session = session;
    this.on = handlers;
    this.connection = null;
    this.stream = null;
    this.wanted = new Set();  // the user's symbols, sent again after every reconnect
    this.info = { transport: null, protocol: null };
    this.generation = 0;
  }

  get connected() {
    return this.connection?.state === signalR.HubConnectionState.Connected;
  }

  logger(generation) {
    return {
      log: (level, message) => {
        if (generation !== this.generation) return;
        const t = /^Selecting transport '(\w+)'/.exec(message);
        if (t) this.setInfo({ transport: t[1] });
        const p = /^Using HubProtocol '(\w+)'/.exec(message);
        if (p) this.setInfo({ protocol: p[1] });
        // A refused or late token refresh is not the page's error: the connection runs on until
        // the server ends it at the token's end, and automatic reconnect brings a new one.
        const refreshFailed = /^Authentication refresh failed/.test(message);
        if (level >= signalR.LogLevel.Error && !refreshFailed) console.error(`[signalr] ${message}`);
        else if (level >= signalR.LogLevel.Warning) console.warn(`[signalr] ${message}`);
      },
    };
  }

  setInfo(change) {
    Object.assign(this.info, change);
    this.on.info({ ...this.info });
  }

  async start({ transport = 'auto', protocol = 'json' } = {}) {
    await this.stop();
    const generation = ++this.generation;
    this.info = { transport: null, protocol: null };
    let builder = new signalR.HubConnectionBuilder()
      .withUrl('/hubs/stocks', {
        transport: transports[transport],
        accessTokenFactory: () => this.session.accessToken({ refreshWithin: REFRESH_BEFORE_MS }),
      })
      .withAuthenticationRefresh({ refreshBeforeExpirationInMilliseconds: REFRESH_BEFORE_MS })
      .withAutomaticReconnect({
        // For as long as the user is signed in: 0, 1, 2, 5, then every 10 s.
        nextRetryDelayInMilliseconds: (ctx) =>
          this.session.signedIn ? [0, 1000, 2000, 5000][ctx.previousRetryCount] ?? 10000 : null,
      })
      .configureLogging(this.logger(generation));
    if (protocol === 'messagepack') builder = builder.withHubProtocol(new signalR.protocols.msgpack.MessagePackHubProtocol());
    const c = builder.build();
    this.connection = c;
    const mine = (f) => (...args) => {
      if (generation === this.generation) f(...args);
    };
    c.on('Subscribed', mine((s) => this.on.subscribed(s)));
    c.on('Unsubscribed', mine(() => {}));
    c.on('SystemMessage', mine((m) => this.on.message(m)));
    c.on('Error', mine((m) => this.on.error(m)));
    c.onreconnecting(mine(() => this.on.state('Reconnecting')));
    c.onreconnected(mine(async () => {
      this.on.state('Connected');
      await this.resume(generation);
    }));
    c.onclose(mine(() => this.on.state('Disconnected')));
    this.on.state('Connecting');
    try {
      await c.start();
    } catch (err) {
      if (generation === this.generation) this.on.state('Disconnected');
      throw err;
    }
    this.on.state('Connected');
    await this.resume(generation);
  }

  // On a new connection: the subscriptions again, the table's snapshot, then the stream.
  async resume(generation) {
    try {
      for (const s of this.wanted) await this.connection.invoke('Subscribe', s);
      await this.refreshSnapshot();
      if (generation === this.generation) this.startStream(generation);
    } catch (err) {
      // The connection went while resuming: the next reconnect resumes again.
      if (generation === this.generation && this.connected) this.on.error(`Could not resume: ${err.message ?? err}`);
    }
  }

  startStream(generation) {
    this.stream?.dispose();
    const c = this.connection;
    const sub = c.stream('StreamStockPrices').subscribe({
      next: (e) => {
        if (generation === this.generation) this.on.price(normalizePrice(e));
      },
      error: (err) => {
        // The client cancels its streams before it leaves the Connected state, so look once
        // it has: ended by the connection closing (a reconnect, a token refresh) is quiet, the
        // stream starts again once reconnected. Ended on a live connection: say so, and retry.
        setTimeout(() => {
          if (generation !== this.generation || this.stream !== sub) return;
          if (c.state !== signalR.HubConnectionState.Connected) return;
          this.on.error(`Price stream ended: ${err.message ?? err}`);
          setTimeout(() => {
            if (generation === this.generation && this.stream === sub && c.state === signalR.HubConnectionState.Connected) this.startStream(generation);
          }, 1000);
        }, 0);
      },
      complete: () => {},
    });
    this.stream = sub;
  }

  async refreshSnapshot() {
    const list = await this.connection.invoke('GetMarketSnapshot');
    this.on.snapshot(list.map(normalizeSnapshot));
  }

  async symbols() {
    return this.connection.invoke('GetAvailableSymbols');
  }

  // The wish is kept whatever happens: a connection lost meanwhile applies it when it resumes.
  async subscribe(symbol) {
    this.wanted.add(symbol);
    await this.whileConnected('Subscribe', symbol);
  }

  async unsubscribe(symbol) {
    this.wanted.delete(symbol);
    await this.whileConnected('Unsubscribe', symbol);
  }

  async whileConnected(method, ...args) {
    if (!this.connected) return;
    try {
      await this.connection.invoke(method, ...args);
    } catch (err) {
      if (this.connected) throw err;
    }
  }

  async invoke(method, ...args) {
    return camel(await this.connection.invoke(method, ...args));
  }

  async stop() {
    this.generation++;
    this.stream?.dispose();
    this.stream = null;
    const c = this.connection;
    this.connection = null;
    if (c) await c.stop().catch(() => {});
  }
}
