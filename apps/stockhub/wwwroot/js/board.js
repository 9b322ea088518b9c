// The live price table: per symbol the session's open (from GetMarketSnapshot, else the first
// price seen), last, change and % change since the open, day high/low, a sparkline, a flash on
// each update and a "stale" mark when the symbol has not ticked for a while. Also keeps each
// symbol's history for the chart (15 minutes), whatever the connection does.
import { cssVar } from './theme.js';

export const historyMs = 15 * 60 * 1000;
const sparkPoints = 60;

const fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signed = (v, digits = 2) => (v > 0 ? '+' : v < 0 ? '−' : '') + Math.abs(v).toFixed(digits);

export class Board {
  constructor(tbody, empty) {
    this.tbody = tbody;
    this.empty = empty;
    this.symbols = new Map();  // symbol -> { open, high, low, last, ts, seenAt, t[], p[], gaps[] }
    this.rows = new Map();     // symbol -> { tr, cells, spark, shownPrice }
    this.shown = null;         // null: every symbol that ticks (no subscriptions)
    this.dirty = new Set();
    this.frame = 0;
    this.staleAfterMin = 3000;
    this.version = 0;  // counts changes to the histories (the chart redraws only on a change)
  }

  entry(symbol) {
    let s = this.symbols.get(symbol);
    if (!s) {
      s = { open: null, high: -Infinity, low: Infinity, last: null, ts: 0, seenAt: 0, t: [], p: [], gaps: [], stale: false };
      this.symbols.set(symbol, s);
    }
    return s;
  }

  visible(symbol) {
    return this.shown === null || this.shown.has(symbol);
  }

  // The symbols to show (a Set), or null for every symbol.
  setShown(symbols) {
    this.shown = symbols && symbols.size ? new Set(symbols) : null;
    this.version++;
    for (const symbol of [...this.rows.keys()]) if (!this.visible(symbol)) this.dropRow(symbol);
    for (const symbol of this.symbols.keys()) if (this.visible(symbol) && this.symbols.get(symbol).last !== null) this.touch(symbol);
    this.updateEmpty();
  }

  applySnapshot(list) {
    for (const snap of list) {
      const s = this.entry(snap.symbol);
      s.open = snap.open;
      s.high = Math.max(s.high, snap.high);
      s.low = Math.min(s.low, snap.low);
      this.version++;
      if (snap.ts >= s.ts) {
        s.last = snap.last;
        s.ts = snap.ts;
        s.seenAt = Math.max(s.seenAt, Date.now());
      }
      if (this.visible(snap.symbol)) this.touch(snap.symbol);
    }
  }

  applyTick(e) {
    const s = this.entry(e.symbol);
    const now = Date.now();
    if (s.seenAt) {
      s.gaps.push(now - s.seenAt);
      if (s.gaps.length > 20) s.gaps.shift();
    }
    s.seenAt = now;
    if (e.ts < s.ts) return;  // older than what the snapshot said
    s.open ??= e.price;
    s.high = Math.max(s.high, e.price);
    s.low = Math.min(s.low, e.price);
    s.last = e.price;
    s.ts = e.ts;
    this.version++;
    s.t.push(e.ts / 1000);
    s.p.push(e.price);
    const cutoff = (e.ts - historyMs) / 1000;
    while (s.t.length && s.t[0] < cutoff) {
      s.t.shift();
      s.p.shift();
    }
    if (this.visible(e.symbol)) this.touch(e.symbol);
  }

  // Stale: no tick for five times the symbol's usual gap, and at least 3 s.
  staleAfter(s) {
    if (!s.gaps.length) return this.staleAfterMin;
    const sorted = [...s.gaps].sort((a, b) => a - b);
    return Math.max(this.staleAfterMin, 5 * sorted[sorted.length >> 1]);
  }

  checkStale(now = Date.now()) {
    for (const [symbol, s] of this.symbols) {
      const stale = s.seenAt > 0 && now - s.seenAt > this.staleAfter(s);
      if (stale !== s.stale) {
        s.stale = stale;
        if (this.visible(symbol)) this.touch(symbol);
      }
    }
  }

  touch(symbol) {
    this.dirty.add(symbol);
    this.frame ||= requestAnimationFrame(() => this.render());
  }

  row(symbol) {
    let r = this.rows.get(symbol);
    if (r) return r;
    const tr = document.createElement('tr');
    tr.dataset.symbol = symbol;
    tr.innerHTML =
      '<th scope="row" class="sym"><span class="name"></span><span class="stale-badge" hidden>stale</span></th>' +
      '<td class="num price"></td><td class="num change narrow-hide"></td><td class="num pct"></td>' +
      '<td class="num high wide-only"></td><td class="num low wide-only"></td>' +
      '<td class="trend"><canvas class="spark" width="96" height="28" aria-hidden="true"></canvas></td>' +
      '<td class="num time wide-only"></td>';
    tr.querySelector('.name').textContent = symbol;
    const q = (c) => tr.querySelector(c);
    r = { tr, price: q('.price'), change: q('.change'), pct: q('.pct'), high: q('.high'), low: q('.low'),
          time: q('.time'), badge: q('.stale-badge'), spark: q('.spark'), shownPrice: null };
    // Rows in alphabetical order.
    const after = [...this.tbody.rows].find((other) => other.dataset.symbol > symbol);
    this.tbody.insertBefore(tr, after ?? null);
    this.rows.set(symbol, r);
    this.updateEmpty();
    return r;
  }

  dropRow(symbol) {
    this.rows.get(symbol)?.tr.remove();
    this.rows.delete(symbol);
  }

  updateEmpty() {
    this.empty.hidden = this.rows.size > 0;
  }

  render() {
    this.frame = 0;
    // Read once per frame: getComputedStyle costs a style recalculation.
    const colors = { up: cssVar('--up'), down: cssVar('--down'), open: cssVar('--muted-line') };
    for (const symbol of this.dirty) {
      const s = this.symbols.get(symbol);
      if (!s || s.last === null || !this.visible(symbol)) continue;
      const r = this.row(symbol);
      const change = s.last - s.open;
      const pct = s.open ? (change / s.open) * 100 : 0;
      const dir = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
      r.price.textContent = fmt.format(s.last);
      r.change.textContent = signed(change);
      r.pct.textContent = `${signed(pct)}%`;
      r.change.className = `num change narrow-hide ${dir}`;
      r.pct.className = `num pct ${dir}`;
      r.high.textContent = fmt.format(s.high);
      r.low.textContent = fmt.format(s.low);
      r.time.textContent = new Date(s.ts).toLocaleTimeString();
      r.tr.classList.toggle('stale', s.stale);
      r.badge.hidden = !s.stale;
      r.tr.dataset.open = String(s.open);
      if (r.shownPrice !== null && r.shownPrice !== s.last) {
        const flash = s.last > r.shownPrice ? 'flash-up' : 'flash-down';
        r.price.classList.remove('flash-up', 'flash-down');
        void r.price.offsetWidth;  // restart the animation
        r.price.classList.add(flash);
      }
      r.shownPrice = s.last;
      this.drawSpark(r.spark, s, colors[dir === 'down' ? 'down' : 'up'], colors.open);
    }
    this.dirty.clear();
  }

  drawSpark(canvas, s, stroke, openStroke) {
    const ratio = window.devicePixelRatio || 1;
    const w = 96, h = 28;
    if (canvas.width !== w * ratio) {
      canvas.width = w * ratio;
      canvas.height = h * ratio;
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const p = s.p.slice(-sparkPoints);
    if (p.length < 2) return;
    let lo = Math.min(...p, s.open), hi = Math.max(...p, s.open);
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const y = (v) => h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
    const x = (i) => (i / (sparkPoints - 1)) * (w - 2) + 1 + (sparkPoints - p.length) * ((w - 2) / (sparkPoints - 1));
    g.strokeStyle = openStroke;
    g.setLineDash([2, 2]);
    g.beginPath();
    g.moveTo(0, y(s.open));
    g.lineTo(w, y(s.open));
    g.stroke();
    g.setLineDash([]);
    g.strokeStyle = stroke;
    g.lineWidth = 1.5;
    g.beginPath();
    p.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
    g.stroke();
  }

  redrawAll() {
    for (const symbol of this.rows.keys()) this.touch(symbol);
  }

  clear() {
    for (const symbol of [...this.rows.keys()]) this.dropRow(symbol);
    this.symbols.clear();
    this.shown = null;
    this.updateEmpty();
  }
}
