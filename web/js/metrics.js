// metrics — reads latency histograms from GET /metrics (Prometheus text format).
//
// /api/v1/stats has counters but no latencies, so the latency chart comes from the
// histograms: every family's buckets are summed over their labels (domains, endpoints),
// and two successive scrapes give the distribution of what happened in between
// (like PromQL's histogram_quantile over rate()).

// Families the dashboard charts.
export const FAMILIES = {
  endToEnd: 'eventhub_end_to_end_latency_seconds',
  webhook: 'eventhub_delivery_latency_seconds',
  ingress: 'eventhub_ingress_latency_seconds',
};

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/;
const LE = /(?:^|,)le="([^"]*)"/;

// parse(text) → {family: {buckets: Map(le → cumulative count), sum, count}}
export function parseHistograms(text, families = Object.values(FAMILIES)) {
  const out = {};
  for (const f of families) out[f] = { buckets: new Map(), sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('eventhub_')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const name = m[1];
    const value = Number(m[4]);
    if (!Number.isFinite(value)) continue;
    for (const f of families) {
      if (!name.startsWith(f)) continue;
      const rest = name.slice(f.length);
      const h = out[f];
      if (rest === '_bucket') {
        const le = LE.exec(m[3] || '');
        if (!le) continue;
        const bound = le[1] === '+Inf' ? Infinity : Number(le[1]);
        h.buckets.set(bound, (h.buckets.get(bound) || 0) + value);
      } else if (rest === '_sum') {
        h.sum += value;
      } else if (rest === '_count') {
        h.count += value;
      }
    }
  }
  return out;
}

// What happened between two scrapes of one family: {count, mean, p50, p95} (null
// figures when nothing was observed).
export function between(prev, cur) {
  if (!prev || !cur) return null;
  const count = cur.count - prev.count;
  if (!(count > 0)) return { count: 0, mean: null, p50: null, p95: null };
  const bounds = [...cur.buckets.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((b) => Math.max(0, cur.buckets.get(b) - (prev.buckets.get(b) || 0)));
  return {
    count,
    mean: (cur.sum - prev.sum) / count,
    p50: quantile(0.5, bounds, cumulative),
    p95: quantile(0.95, bounds, cumulative),
  };
}

// Linear interpolation inside the bucket that holds the rank, as Prometheus does; the
// +Inf bucket answers the highest finite bound.
export function quantile(q, bounds, cumulative) {
  const total = cumulative[cumulative.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i] >= rank) {
      if (bounds[i] === Infinity) return i > 0 ? bounds[i - 1] : null;
      const lower = i > 0 ? bounds[i - 1] : 0;
      const below = i > 0 ? cumulative[i - 1] : 0;
      const inBucket = cumulative[i] - below;
      if (inBucket <= 0) return bounds[i];
      return lower + ((bounds[i] - lower) * (rank - below)) / inBucket;
    }
  }
  return null;
}
