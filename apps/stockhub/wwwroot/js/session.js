// The signed-in user: tokens from /api/login, refreshed through /api/refresh (refresh tokens
// rotate, so one refresh at a time), and the claims the page needs (email, roles, exp).

function decodeClaims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
}

async function post(path, body) {
  return fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export class Session {
  constructor() {
    this.token = null;
    this.refreshToken = null;
    this.expiresAt = 0;
    this.lifetime = 0;
    this.email = null;
    this.roles = [];
    this.refreshes = [];  // times of successful refreshes
    this.onchange = () => {};
    this.onexpired = () => {};
    this.inflight = null;
  }

  get signedIn() {
    return this.token !== null;
  }

  isAdmin() {
    return this.roles.includes('Admin');
  }

  keep(tokens) {
    this.token = tokens.token;
    this.refreshToken = tokens.refreshToken;
    this.expiresAt = Date.parse(tokens.expiresAt);
    const claims = decodeClaims(tokens.token);
    this.lifetime = claims.iat && claims.exp ? (claims.exp - claims.iat) * 1000 : this.expiresAt - Date.now();
    this.email = claims.email;
    this.roles = [].concat(claims.role || []);
    this.onchange();
  }

  // Resolves to null on success, or the error text to show.
  async login(email, password) {
    let res;
    try {
      res = await post('/api/login', { email, password });
    } catch {
      return 'The server cannot be reached.';
    }
    if (res.status === 429) {
      const after = Number(res.headers.get('Retry-After'));
      return after > 0 ? `Too many attempts: try again in ${after} s.` : 'Too many attempts: try again later.';
    }
    if (!res.ok) return 'Wrong email or password.';
    this.keep(await res.json());
    return null;
  }

  // The hub connection's accessTokenFactory: called before each connection attempt and for
  // each authentication refresh of the open connection (`withAuthenticationRefresh`, which
  // asks `refreshWithin` before the token's end, or at half the life of a shorter token: a
  // token with that little left, and a second more, is renewed).
  async accessToken({ refreshWithin = 0 } = {}) {
    // Otherwise: refresh when a third of the lifetime is left or 30 s, whichever is smaller,
    // and at least 1 s (clocks differ a little; the server closes the connection at expiry).
    const left = this.expiresAt - Date.now();
    const asked = refreshWithin > 0 ? Math.min(refreshWithin, this.lifetime / 2) + 1000 : 0;
    const margin = Math.max(1000, Math.min(30000, left / 3), asked);
    if (this.refreshToken && left <= margin) await this.refresh();
    if (!this.token) throw new Error('signed out');
    return this.token;
  }

  refresh() {
    this.inflight ??= (async () => {
      try {
        const res = await post('/api/refresh', { refreshToken: this.refreshToken });
        if (!res.ok) {
          this.clear();
          this.onexpired();
          throw new Error('session expired');
        }
        this.refreshes.push(Date.now());
        this.keep(await res.json());
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  logout() {
    if (this.refreshToken) post('/api/logout', { refreshToken: this.refreshToken }).catch(() => {});
    this.clear();
  }

  clear() {
    this.token = null;
    this.refreshToken = null;
    this.expiresAt = 0;
    this.roles = [];
    this.refreshes = [];
  }
}
