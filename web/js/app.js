// app — the dashboard's entry point: tabs (with the URL hash: #events?domain=x), the
// 2-second poll loop, and the header (health pill, version, last update, Live toggle).
//
// The overview is polled on every tick whatever tab is shown (the header and the charts
// need it); the open tab is polled too, some less often (dead letters and calls read
// JetStream). Nothing reloads the page.

import { forgetToken, onTokenChange, promptForToken } from './api.js';
import { $, fmtTime, fmtNum } from './dom.js';
import * as overview from './overview.js';
import * as events from './events.js';
import * as dlq from './dlq.js';
import * as calls from './calls.js';
import * as config from './config.js';

const TICK_MS = 2000;
const VIEWS = {
  overview: { mod: overview, every: 1 },
  events: { mod: events, every: 1 },
  dlq: { mod: dlq, every: 3 },
  calls: { mod: calls, every: 3 },
  config: { mod: config, every: 5 },
};

let current = null;
let live = true;
let timer = 0;
let tickNo = 0;
let running = false;

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, ''));
  const [name, query] = raw.split('?');
  const view = VIEWS[name] ? name : 'overview';
  const params = {};
  if (query) for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return { view, params };
}

export function navigate(view, params = {}) {
  const query = new URLSearchParams(params).toString();
  const hash = `#${view}${query ? `?${query}` : ''}`;
  if (location.hash === hash) showView(view, params);
  else location.hash = hash; // hashchange shows it
}

function showView(view, params) {
  for (const name of Object.keys(VIEWS)) {
    const tab = $(`tab-${name}`);
    const selected = name === view;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`view-${name}`).hidden = !selected;
  }
  $(`tab-${view}`).scrollIntoView({ block: 'nearest', inline: 'nearest' });
  const changed = current !== view;
  current = view;
  document.title = `eventhub · ${$(`tab-${view}`).firstChild.textContent.trim()}`;
  VIEWS[view].mod.show(params);
  if (changed) window.scrollTo(0, 0);
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => navigate(tab.dataset.view));
    tab.addEventListener('keydown', (ev) => {
      let next = null;
      if (ev.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      else if (ev.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (ev.key === 'Home') next = tabs[0];
      else if (ev.key === 'End') next = tabs[tabs.length - 1];
      if (next) {
        ev.preventDefault();
        next.focus();
        navigate(next.dataset.view);
      }
    });
  });
}

const PILL = { ok: 'Healthy', warn: 'Degraded', bad: 'Down' };
let announcedLevel = null;

function updateHeader(result) {
  if (result.level !== announcedLevel) {
    // screen readers hear a change of state, not every poll's numbers
    announcedLevel = result.level;
    $('announce').textContent = `Pipeline status: ${PILL[result.level]}`;
  }
  const pill = $('health-pill');
  pill.className = `pill pill-${result.level}`;
  const first = result.issues[0];
  $('health-text').textContent = PILL[result.level] + (first && result.level !== 'ok' ? `: ${first.text}` : '');
  const version = (result.stats && result.stats.version) || (result.health && result.health.version);
  if (version) $('meta-version').textContent = `v${version}`;
  if (result.stats) $('meta-updated').textContent = `updated ${fmtTime(new Date().toISOString()).slice(0, 8)}`;
  const count = $('dlq-count');
  if (result.dlq) {
    count.hidden = !result.dlq.messages;
    count.textContent = fmtNum(result.dlq.messages);
    count.setAttribute('aria-label', `${result.dlq.messages} stored`);
  }
}

async function tick() {
  if (running) return;
  running = true;
  clearTimeout(timer);
  try {
    tickNo++;
    const jobs = [overview.poll().then(updateHeader)];
    const v = VIEWS[current];
    if (current !== 'overview' && tickNo % v.every === 0) jobs.push(v.mod.poll(false));
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === 'rejected');
    toast(failed ? `Update failed: ${failed.reason && failed.reason.message}` : '');
  } finally {
    running = false;
    if (live) timer = setTimeout(tick, TICK_MS);
  }
}

function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = !text;
}

function setupHeader() {
  const liveButton = $('live-toggle');
  liveButton.addEventListener('click', () => {
    live = !live;
    liveButton.setAttribute('aria-pressed', String(live));
    liveButton.textContent = live ? 'Live' : 'Paused';
    if (live) tick();
    else clearTimeout(timer);
  });
  const signout = $('signout');
  const signin = $('signin');
  signout.addEventListener('click', () => forgetToken());
  signin.addEventListener('click', async () => {
    await promptForToken();
    tick();
  });
  onTokenChange(({ has, needed }) => {
    signout.hidden = !has;
    signin.hidden = has || !needed;
  });
}

function start() {
  setupTabs();
  setupHeader();
  const ctx = { navigate, onDlqChange: () => tick() };
  for (const v of Object.values(VIEWS)) v.mod.init(ctx);
  window.addEventListener('hashchange', () => {
    const { view, params } = parseHash();
    showView(view, params);
  });
  const { view, params } = parseHash();
  showView(view, params);
  tick();
}

start();
