// chart — a small time-series line chart drawn on a <canvas>.
//
// Points are pushed as they arrive (one per poll); the chart keeps the last `windowMs`
// (its time axis grows from one minute to that) and redraws on each push and on resize. Colours come from CSS custom properties on the
// canvas (--series-<cls>, --chart-grid, --chart-text), so the stylesheet owns the theme.
// The legend is HTML (with the latest value of each series) and the canvas's aria-label
// says the same in words.

import { h, clear } from './dom.js';

export class LineChart {
  constructor(canvas, legend, { title, series, format, windowMs = 10 * 60 * 1000, floorMax = 1 }) {
    this.canvas = canvas;
    this.title = title;
    this.series = series;
    this.format = format;
    this.windowMs = windowMs;
    this.floorMax = floorMax;
    this.points = []; // {t, values: {key: number|null}}
    this.valueEls = {};
    clear(legend);
    for (const s of series) {
      const value = h('span', { class: 'legend-value' }, '—');
      this.valueEls[s.key] = value;
      legend.append(h('li', null, h('span', { class: `swatch swatch-${s.cls}`, 'aria-hidden': 'true' }), `${s.label} `, value));
    }
    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver(() => this.draw());
      this.resizeObserver.observe(canvas);
    }
  }

  push(t, values) {
    this.points.push({ t, values });
    const cutoff = t - this.windowMs;
    while (this.points.length && this.points[0].t < cutoff) this.points.shift();
    const words = [];
    for (const s of this.series) {
      const v = values[s.key];
      const text = v === null || v === undefined ? '—' : this.format(v);
      this.valueEls[s.key].textContent = text;
      words.push(`${s.label} ${text}`);
    }
    this.canvas.setAttribute('aria-label', `${this.title}, latest: ${words.join(', ')}`);
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const rect = canvas.getBoundingClientRect();
    if (rect.width < 10 || rect.height < 10) return; // hidden tab
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(rect.width * dpr);
    const height = Math.round(rect.height * dpr);
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = rect.width;
    const ht = rect.height;
    ctx.clearRect(0, 0, w, ht);

    const css = getComputedStyle(canvas);
    const gridColor = css.getPropertyValue('--chart-grid').trim() || '#ccc';
    const textColor = css.getPropertyValue('--chart-text').trim() || '#666';
    const font = `11px ${css.fontFamily || 'sans-serif'}`;

    const left = 58;
    const right = 10;
    const top = 8;
    const bottom = 22;
    const plotW = Math.max(1, w - left - right);
    const plotH = Math.max(1, ht - top - bottom);

    // The time axis grows with the data from one minute up to the whole window, so a
    // page opened a moment ago already shows a readable line.
    const now = this.points.length ? this.points[this.points.length - 1].t : Date.now();
    const first = this.points.length ? this.points[0].t : now;
    const span = Math.min(this.windowMs, Math.max(MIN_SPAN_MS, now - first));
    const t0 = now - span;
    let max = 0;
    for (const p of this.points) {
      for (const s of this.series) {
        const v = p.values[s.key];
        if (v !== null && v !== undefined && Number.isFinite(v) && v > max) max = v;
      }
    }
    const yMax = niceCeil(Math.max(max * 1.1, this.floorMax));
    const x = (t) => left + ((t - t0) / span) * plotW;
    const y = (v) => top + plotH - (v / yMax) * plotH;

    // grid and labels
    ctx.font = font;
    ctx.lineWidth = 1;
    ctx.strokeStyle = gridColor;
    ctx.fillStyle = textColor;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(left + plotW, yy);
      ctx.stroke();
      ctx.fillText(this.format(v), left - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const maxLabels = Math.max(2, Math.floor(plotW / 70));
    const step = TIME_STEPS.find((s) => span / s <= maxLabels) || TIME_STEPS[TIME_STEPS.length - 1];
    const p2 = (n) => String(n).padStart(2, '0');
    for (let t = Math.ceil(t0 / step) * step; t <= now; t += step) {
      const xx = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, top);
      ctx.lineTo(xx, top + plotH);
      ctx.stroke();
      const d = new Date(t);
      const label = `${p2(d.getHours())}:${p2(d.getMinutes())}${step < 60000 ? `:${p2(d.getSeconds())}` : ''}`;
      if (xx > left + 20 && xx < left + plotW - 20) ctx.fillText(label, xx, top + plotH + 5);
    }

    // series
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const s of this.series) {
      ctx.strokeStyle = css.getPropertyValue(`--series-${s.cls}`).trim() || '#36c';
      ctx.beginPath();
      let drawing = false;
      let lonely = null;
      for (const p of this.points) {
        const v = p.values[s.key];
        if (v === null || v === undefined || !Number.isFinite(v)) {
          drawing = false;
          continue;
        }
        const px = x(p.t);
        const py = y(Math.min(v, yMax));
        if (drawing) {
          ctx.lineTo(px, py);
          lonely = null;
        } else {
          ctx.moveTo(px, py);
          lonely = [px, py];
        }
        drawing = true;
      }
      ctx.stroke();
      if (lonely) {
        // a single point after a gap: a dot, or it would be invisible
        ctx.fillStyle = ctx.strokeStyle;
        ctx.beginPath();
        ctx.arc(lonely[0], lonely[1], 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
}

const MIN_SPAN_MS = 60 * 1000;
const TIME_STEPS = [10, 15, 30, 60, 120, 300, 600].map((s) => s * 1000);

// 1, 2, 2.5, 5 × 10^n at or above v.
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const exp = Math.floor(Math.log10(v));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= v - 1e-12) return m * base;
  return 10 * base;
}
