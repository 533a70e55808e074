// overview — is the pipeline healthy? Polls /health, /api/v1/stats and /metrics on every
// tick (whatever tab is open: the header's health pill and the charts need the history),
// and every few ticks /api/v1/dlq?limit=1 and /api/v1/stream/messages?limit=1 for the
// dead-letter count and the stream's totals.
//
// The per-endpoint panel and its banner line are endpoints.js's.
//
// Rates are differences of successive /api/v1/stats totals over the time between the two
// answers; latencies are the /metrics histograms' differences (see metrics.js).

import { request, getHealth } from './api.js';
import { LineChart } from './chart.js';
import * as endpoints from './endpoints.js';
import { $, h, clear, fillKv, fmtNum, fmtRate, fmtSeconds, fmtDuration, fmtTime, fmtBytes, badge } from './dom.js';
import { parseHistograms, between, FAMILIES } from './metrics.js';
import { addDomains } from './store.js';

const SLOW_EVERY_TICKS = 5; // dead-letter and stream totals (JetStream scans)
const BIG_METRICS_BYTES = 2 * 1024 * 1024; // past this, scrape /metrics less often
const history = []; // {t, failed, dead_lettered, unavailable} for "in the last minute"

let rateChart;
let latencyChart;
let prevStats = null;
let prevStatsAt = 0;
let prevHist = null;
let metricsSkip = 0;
let ticks = 0;
let dlqInfo = null; // {messages, latest}
let streamInfo = null; // {stream, totals}
let navigate = () => {};

export function init(ctx) {
  navigate = ctx.navigate;
  rateChart = new LineChart($('chart-rate'), $('legend-rate'), {
    title: 'Events per second',
    series: [
      { key: 'in', label: 'In', cls: 'in' },
      { key: 'out', label: 'Delivered', cls: 'out' },
      { key: 'failed', label: 'Failed attempts', cls: 'bad' },
    ],
    format: (v) => fmtRate(v).replace('/s', ''),
    floorMax: 1,
  });
  latencyChart = new LineChart($('chart-latency'), $('legend-latency'), {
    title: 'Delivery latency',
    series: [
      { key: 'p50', label: 'End-to-end p50', cls: 'out' },
      { key: 'p95', label: 'End-to-end p95', cls: 'warn' },
      { key: 'webhook', label: 'Webhook call p95', cls: 'in' },
    ],
    format: fmtSeconds,
    floorMax: 0.01,
  });
}

export function show() {
  rateChart.draw();
  latencyChart.draw();
}

// One poll; returns the overall level for the header.
export async function poll() {
  ticks++;
  const now = Date.now();
  const slow = ticks % SLOW_EVERY_TICKS === 1;
  const [health, statsRes, metricsRes, dlqRes, streamRes] = await Promise.allSettled([
    getHealth(),
    request('/api/v1/stats'),
    wantMetrics() ? request('/metrics', { raw: true }) : Promise.resolve(null),
    slow ? request('/api/v1/dlq?limit=1') : Promise.resolve(undefined),
    slow ? request('/api/v1/stream/messages?limit=1') : Promise.resolve(undefined),
  ]);
  if (streamRes.status === 'fulfilled' && streamRes.value) {
    streamInfo = { stream: streamRes.value.stream, totals: streamRes.value.totals || {} };
  }
  const h0 = health.value;
  const stats = statsRes.status === 'fulfilled' ? statsRes.value : null;
  const statsError = statsRes.status === 'rejected' ? statsRes.reason : null;
  if (dlqRes.status === 'fulfilled' && dlqRes.value) {
    const r = dlqRes.value;
    dlqInfo = { messages: r.totals ? r.totals.messages : 0, latest: r.records && r.records[0] };
  }

  const rates = computeRates(stats, now);
  const latency = computeLatency(metricsRes.status === 'fulfilled' ? metricsRes.value : null);
  if (stats) {
    history.push({ t: now, ...stats.totals });
    while (history.length && history[0].t < now - 10 * 60 * 1000) history.shift();
    addDomains(Object.keys(stats.domains || {}));
  }
  rateChart.push(now, rates);
  latencyChart.push(now, latency);

  const endpointHealth = stats ? endpoints.assess(stats) : undefined;
  const issues = findIssues(h0, stats, statsError, endpointHealth);
  const level = issues.some((i) => i.level === 'bad') ? 'bad' : issues.length ? 'warn' : 'ok';
  renderBanner(level, issues);
  renderCards(h0, stats);
  renderNodes(h0, stats);
  if (stats) {
    renderTotals(stats);
    renderDomains(stats);
    endpoints.render(endpointHealth);
  }
  return { level, health: h0, stats, statsError, dlq: dlqInfo, issues };
}

function wantMetrics() {
  if (metricsSkip > 0) {
    metricsSkip--;
    return false;
  }
  return true;
}

function computeRates(stats, now) {
  const empty = { in: null, out: null, failed: null };
  if (!stats) {
    prevStats = null;
    return empty;
  }
  const cur = { in: sumReceived(stats), out: stats.totals.delivered, failed: stats.totals.failed };
  const prev = prevStats;
  const dt = (now - prevStatsAt) / 1000;
  prevStats = cur;
  prevStatsAt = now;
  if (!prev || dt <= 0) return empty;
  const rate = (k) => (cur[k] >= prev[k] ? (cur[k] - prev[k]) / dt : null); // a restart resets
  return { in: rate('in'), out: rate('out'), failed: rate('failed') };
}

// Events stored: the per-domain "received" (HTTP, FreeSWITCH signals and replays).
function sumReceived(stats) {
  const domains = Object.values(stats.domains || {});
  if (!domains.length) return stats.totals.published + stats.totals.received_esl;
  return domains.reduce((acc, d) => acc + (d.received || 0), 0);
}

function computeLatency(text) {
  const none = { p50: null, p95: null, webhook: null };
  if (typeof text !== 'string') return none;
  if (text.length > BIG_METRICS_BYTES) metricsSkip = 4;
  const cur = parseHistograms(text, [FAMILIES.endToEnd, FAMILIES.webhook]);
  const prev = prevHist;
  prevHist = cur;
  if (!prev) return none;
  const e2e = between(prev[FAMILIES.endToEnd], cur[FAMILIES.endToEnd]);
  const hook = between(prev[FAMILIES.webhook], cur[FAMILIES.webhook]);
  return { p50: e2e && e2e.p50, p95: e2e && e2e.p95, webhook: hook && hook.p95 };
}

// What needs an operator's eye, worst first.
function findIssues(health, stats, statsError, endpointHealth) {
  const issues = [];
  if (!health || health.status === 'unreachable') {
    issues.push({ level: 'bad', text: (health && health.reason) || 'eventhub does not answer' });
    return issues;
  }
  if (health.status !== 'ok') {
    issues.push({
      level: 'bad',
      text: `Not accepting events: ${health.status}${health.reason ? ` (${health.reason})` : ''}`,
    });
  }
  if (statsError) issues.push({ level: statsError.status === 401 ? 'warn' : 'bad', text: `Stats: ${statsError.message}` });
  if (stats) {
    if (!stats.nats.connected) issues.push({ level: 'bad', text: `NATS is ${stats.nats.state}` });
    else if (!stats.nats.ready) issues.push({ level: 'bad', text: `JetStream is not ready (${stats.nats.state})` });
    if (!stats.consumer && stats.nats.connected) issues.push({ level: 'warn', text: 'The JetStream consumer did not answer' });
    // before the counters: it names which endpoint, and the header shows the first issue
    const endpointIssue = endpoints.issue(endpointHealth);
    if (endpointIssue) issues.push(endpointIssue);
    if (stats.consumer && stats.consumer.pending > 1000) {
      issues.push({ level: 'warn', text: `${fmtNum(stats.consumer.pending)} events waiting for delivery` });
    }
    const minute = since(60 * 1000);
    if (minute && minute.failed > 0) {
      issues.push({ level: 'warn', text: `${fmtNum(minute.failed)} delivery attempt(s) failed in the last minute` });
    }
    if (minute && minute.unavailable > 0) {
      issues.push({ level: 'warn', text: `${fmtNum(minute.unavailable)} event(s) refused with 503 in the last minute` });
    }
    const five = since(5 * 60 * 1000);
    if (five && five.dead_lettered > 0) {
      issues.push({ level: 'warn', text: `${fmtNum(five.dead_lettered)} event(s) dead-lettered in the last 5 minutes` });
    }
  }
  for (const node of (health && health.esl) || []) {
    if (node.state !== 'connected') {
      issues.push({
        level: 'warn',
        text: `FreeSWITCH ${node.name} is ${node.state}${node.last_error ? `: ${node.last_error}` : ''}`,
      });
    }
  }
  return issues;
}

// Counter increases over the last `ms` of history (null until there is such history).
function since(ms) {
  if (history.length < 2) return null;
  const last = history[history.length - 1];
  const cutoff = last.t - ms;
  let first = history[0];
  for (const p of history) {
    if (p.t >= cutoff) {
      first = p;
      break;
    }
  }
  const d = (k) => Math.max(0, (last[k] || 0) - (first[k] || 0));
  return { failed: d('failed'), dead_lettered: d('dead_lettered'), unavailable: d('unavailable') };
}

const LEVEL_TITLE = {
  ok: 'All systems normal',
  warn: 'Degraded: look at the items below',
  bad: 'Down: events are not flowing',
};

function renderBanner(level, issues) {
  const banner = $('ov-banner');
  banner.className = `banner banner-${level}`;
  $('ov-banner-title').textContent = LEVEL_TITLE[level];
  const list = clear($('ov-issues'));
  if (!issues.length) list.append(h('li', null, 'NATS connected, JetStream ready, no failures in the last minute.'));
  for (const i of issues) list.append(h('li', { class: `issue-${i.level}` }, i.text));
}

function stateLine(el, text, kind) {
  el.className = `card-state state-${kind}`;
  el.textContent = text;
}

function renderCards(health, stats) {
  if (stats) {
    const n = stats.nats;
    stateLine($('nats-state'), n.connected ? (n.ready ? 'Connected' : 'Connected, JetStream not ready') : `Down (${n.state})`,
      n.connected && n.ready ? 'ok' : 'bad');
    fillKv($('nats-kv'), [
      ['Server', n.server || '—'],
      ['State', n.state],
      ['Reconnects', fmtNum(n.reconnects)],
    ]);
    const c = stats.consumer;
    if (c) {
      stateLine($('consumer-state'), c.pending === 0 ? 'Caught up' : `${fmtNum(c.pending)} pending`,
        c.pending > 1000 ? 'warn' : 'ok');
      const t = streamInfo && streamInfo.totals;
      fillKv($('consumer-kv'), [
        ['Stream', t ? `${c.stream}: ${fmtNum(t.messages)} msgs, ${fmtBytes(t.bytes)}` : c.stream],
        ['Consumer', c.name],
        ['Not yet delivered', fmtNum(c.num_pending)],
        ['Awaiting ack', fmtNum(c.num_ack_pending)],
        ['Redelivered', fmtNum(c.num_redelivered), c.num_redelivered > 0 ? 'warn-text' : null],
      ]);
    } else {
      stateLine($('consumer-state'), 'Unknown (JetStream unreachable)', 'bad');
      fillKv($('consumer-kv'), []);
    }
    stateLine($('inflight-state'), `${fmtNum(stats.inflight.publishes + stats.inflight.deliveries)} in flight`, 'ok');
    fillKv($('inflight-kv'), [
      ['Publishes awaiting ack', fmtNum(stats.inflight.publishes)],
      ['Deliveries running', fmtNum(stats.inflight.deliveries)],
      ['Uptime', fmtDuration(stats.uptime_seconds)],
    ]);
  } else if (health) {
    stateLine($('nats-state'), health.nats === 'connected' ? 'Connected' : health.nats || 'Unknown',
      health.nats === 'connected' ? 'ok' : 'bad');
  }
  if (dlqInfo) {
    const latest = dlqInfo.latest;
    stateLine($('dlqcard-state'), dlqInfo.messages ? `${fmtNum(dlqInfo.messages)} stored` : 'None',
      dlqInfo.messages ? 'warn' : 'ok');
    fillKv($('dlqcard-kv'), [
      ['Since start', stats ? fmtNum(stats.totals.dead_lettered) : '—'],
      latest && ['Latest', fmtTime(latest.time)],
      latest && latest.record && ['Domain', latest.record.domain],
      latest && latest.record && ['Reason', latest.record.reason],
    ]);
  }
}

function renderNodes(health, stats) {
  const box = clear($('esl-nodes'));
  const nodes = (health && health.esl) || [];
  const byName = new Map(((stats && stats.esl) || []).map((n) => [n.name, n]));
  if (!nodes.length) {
    box.append(h('article', { class: 'card card-node', 'aria-label': 'FreeSWITCH' },
      h('h3', null, 'FreeSWITCH'),
      h('p', { class: 'card-state state-muted' }, 'No node configured'),
      h('p', { class: 'muted' }, 'Add esl: servers to the config file to follow calls.')));
    return;
  }
  for (const n of nodes) {
    const s = byName.get(n.name) || {};
    const ok = n.state === 'connected';
    box.append(h('article', { class: 'card card-node', 'aria-label': `FreeSWITCH node ${n.name}` },
      h('h3', null, `FreeSWITCH ${n.name}`),
      h('p', { class: `card-state state-${ok ? 'ok' : 'bad'}` }, ok ? 'Connected' : n.state),
      fillKv(h('dl', { class: 'kv' }), [
        ['Live calls', fmtNum(n.live_calls)],
        ['Events read', fmtNum(n.events_received)],
        ['Stored', fmtNum(n.stored ?? s.stored)],
        ['Buffered', fmtNum(n.buffered), n.buffered > 0 ? 'warn-text' : null],
        ['Dropped', fmtNum(n.dropped), n.dropped > 0 ? 'bad-text' : null],
        ['Reconnects', fmtNum(n.reconnects)],
        n.last_error && ['Last error', n.last_error, 'bad-text'],
      ])));
  }
}

function renderTotals(stats) {
  const t = stats.totals;
  const items = [
    ['Received', t.received + t.received_esl, `HTTP ${fmtNum(t.received)} · FreeSWITCH ${fmtNum(t.received_esl)}`, ''],
    ['Delivered', t.delivered, `${fmtNum(t.endpoint_ok)} webhook calls OK`, 'ok'],
    ['Failed attempts', t.failed, `${fmtNum(t.endpoint_failed)} webhook calls failed`, t.failed ? 'bad' : ''],
    ['Retried', t.retried, 'handed back for another attempt', t.retried ? 'warn' : ''],
    ['Dead-lettered', t.dead_lettered, 'out of attempts or no route', t.dead_lettered ? 'bad' : ''],
    ['Refused', t.rejected + t.unavailable, `4xx ${fmtNum(t.rejected)} · 503 ${fmtNum(t.unavailable)}`, t.unavailable ? 'warn' : ''],
    ['Duplicates', t.duplicates, 'same event_id, stored once', ''],
  ];
  const box = clear($('totals'));
  for (const [label, value, sub, kind] of items) {
    box.append(h('div', { class: `total${kind ? ` total-${kind}` : ''}` },
      h('span', { class: 'total-label' }, label),
      h('span', { class: 'total-value' }, fmtNum(value)),
      h('span', { class: 'total-sub' }, sub)));
  }
}

function renderDomains(stats) {
  const tbody = clear($('domains-table').tBodies[0]);
  const entries = Object.entries(stats.domains || {}).filter(
    ([name, d]) => !name.startsWith('_') || d.received || d.delivered || d.failed || d.dead_lettered,
  );
  if (!entries.length) {
    tbody.append(h('tr', null, h('td', { colspan: 7, class: 'muted' }, 'No routes configured and no traffic yet.')));
    return;
  }
  for (const [name, d] of entries) {
    const label = name === '_default' ? 'default route (*)' : name === '_other' ? 'no route' : name;
    const cell = name.startsWith('_')
      ? h('td', null, label)
      : h('td', null, h('a', { href: `#events?domain=${encodeURIComponent(name)}`, onclick: (ev) => {
        ev.preventDefault();
        navigate('events', { domain: name });
      } }, label));
    tbody.append(h('tr', null,
      cell,
      h('td', { class: 'num' }, fmtNum(d.received)),
      h('td', { class: 'num' }, fmtNum(d.delivered)),
      h('td', { class: `num${d.failed ? ' bad-text' : ''}` }, fmtNum(d.failed)),
      h('td', { class: 'num' }, fmtNum(d.retried)),
      h('td', { class: `num${d.dead_lettered ? ' bad-text' : ''}` }, fmtNum(d.dead_lettered)),
      h('td', null, d.routed ? badge('routed', 'ok') : badge(name.startsWith('_') ? 'fallback' : 'removed', 'muted'))));
  }
}
