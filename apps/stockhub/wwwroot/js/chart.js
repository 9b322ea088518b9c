// One uPlot chart of every shown symbol, as % change since the session's open (symbols of very
// different prices side by side), over a 1, 5 or 15 minute window. The data is the board's
// history, so it survives reconnects and transport switches.
/* global uPlot */
import { cssVar } from './theme.js';

const palette = ['#2563eb', '#db2777', '#16a34a', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626'];

export class PriceChart {
  constructor(holder, board) {
    this.holder = holder;
    this.board = board;
    this.windowMin = 1;
    this.plot = null;
    this.series = [];  // symbols, in the plot's order
    this.colors = new Map();
    this.drawn = -1;  // the board's version last drawn (-1: draw again)
    this.timer = setInterval(() => this.update(), 250);
    new ResizeObserver(() => this.resize()).observe(holder);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.rebuild());
  }

  setWindow(minutes) {
    this.windowMin = minutes;
    this.drawn = -1;
    this.update();
  }

  colorOf(symbol) {
    if (!this.colors.has(symbol)) this.colors.set(symbol, palette[this.colors.size % palette.length]);
    return this.colors.get(symbol);
  }

  size() {
    const width = Math.max(240, this.holder.clientWidth);
    return { width, height: width < 600 ? 220 : 300 };
  }

  symbolsShown() {
    return [...this.board.symbols.keys()].filter((s) => this.board.visible(s) && this.board.symbols.get(s).t.length).sort();
  }

  rebuild() {
    this.plot?.destroy();
    this.plot = null;
    this.series = [];
    this.holder.replaceChildren();
    this.update();
  }

  create(symbols) {
    const axis = { stroke: cssVar('--text-muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
    const opts = {
      ...this.size(),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: { x: { time: true }, y: { auto: true } },
      axes: [axis, { ...axis, size: 72, values: (u, vals) => vals.map((v) => `${v > 0 ? '+' : ''}${v.toFixed(2)}%`) }],
      series: [{}, ...symbols.map((s) => ({
        label: s,
        stroke: this.colorOf(s),
        width: 1.5,
        spanGaps: true,
        points: { show: false },
        value: (u, v) => (v == null ? '–' : `${v > 0 ? '+' : ''}${v.toFixed(2)}%`),
      }))],
    };
    this.series = symbols;
    this.plot = new uPlot(opts, this.data(symbols), this.holder);
    this.drawn = this.board.version;
  }

  // Aligned data: the union of the symbols' tick times in the window, null where one did not tick.
  data(symbols) {
    const now = Date.now() / 1000;
    const from = now - this.windowMin * 60;
    const times = new Set();
    for (const s of symbols) {
      const e = this.board.symbols.get(s);
      for (let i = e.t.length - 1; i >= 0 && e.t[i] >= from; i--) times.add(e.t[i]);
    }
    const x = [...times].sort((a, b) => a - b);
    const index = new Map(x.map((t, i) => [t, i]));
    const ys = symbols.map((s) => {
      const e = this.board.symbols.get(s);
      const y = new Array(x.length).fill(null);
      for (let i = e.t.length - 1; i >= 0 && e.t[i] >= from; i--) y[index.get(e.t[i])] = e.open ? ((e.p[i] - e.open) / e.open) * 100 : 0;
      return y;
    });
    return [x, ...ys];
  }

  update() {
    const symbols = this.symbolsShown();
    if (!symbols.length) {
      if (this.plot) this.rebuild();
      return;
    }
    if (!this.plot || symbols.join() !== this.series.join()) {
      this.plot?.destroy();
      this.holder.replaceChildren();
      this.create(symbols);
      return;
    }
    // The window slides every time; the aligned data is built again only when a tick came.
    const now = Date.now() / 1000;
    this.plot.batch(() => {
      if (this.drawn !== this.board.version) {
        this.plot.setData(this.data(symbols));
        this.drawn = this.board.version;
      }
      this.plot.setScale('x', { min: now - this.windowMin * 60, max: now });
    });
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }
}
