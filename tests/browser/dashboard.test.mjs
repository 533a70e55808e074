// The dashboard as an operator uses it, in headless Chromium against a running eventhub
// started by tests/integration/test_dashboard.py: example.com delivers, shop.example's
// endpoint answers 503 (max_deliver 2), a fake FreeSWITCH "fs1" has one finished and one
// live call. The cases share that eventhub and run in order.
//
// Environment (besides the harness's): DASH_CONFIG (the config file eventhub runs with),
// DASH_CONFIG_FIXED (the same with shop.example routed to a working endpoint),
// DASH_CONFIG_BROKEN (an invalid file), DASH_SHOP_URL (the failing endpoint),
// DASH_CONFIG_HEALTH (the fixed file plus health.example, whose first endpoint is
// FAILING_PLACEHOLDER: the last case serves it), DASH_HEALTHY_URL (health.example's
// working endpoint), DASH_README_SHOT (optional: where to save the README picture).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { test } from './harness.mjs';

const RUN = Date.now().toString(36);
const OK_CALL = `ok-${RUN}`;
const OK_EVENT = `evt-ok-${RUN}`;
const FAIL_EVENT = `evt-fail-${RUN}`;
const FAIL_EVENT_2 = `evt-fail2-${RUN}`;

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through tests/integration/test_dashboard.py)`);
  return v;
}

async function post(baseUrl, body) {
  const res = await fetch(new URL('/events', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 202, `POST /events answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

// The page must never reload: a marker set on window survives only without one.
async function markPage(page) {
  await page.evaluate(() => { window.__dashboardMarker = 'still here'; });
}
async function assertNotReloaded(page) {
  assert.equal(await page.evaluate(() => window.__dashboardMarker), 'still here', 'the page reloaded');
}

const totalValue = (page, label) => page.locator('.total', { has: page.locator('.total-label', { hasText: new RegExp(`^${label}$`) }) })
  .locator('.total-value');

async function numberOf(locator) {
  return Number((await locator.textContent()).replace(/[^0-9]/g, ''));
}

async function reloadConfig(baseUrl) {
  const res = await fetch(new URL('/api/config/reload', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /api/config/reload answered ${res.status}: ${text}`);
}

// A webhook receiver that answers every request with 500, on a free port.
async function alwaysFailing() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('always failing\n');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/always-500`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

const FAILING_PLACEHOLDER = 'http://failing-endpoint.invalid/'; // test_dashboard.py writes it
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const row = (page, eventId) => page.locator(`li.row[data-event-id="${eventId}"]`);

test('overview: pipeline health, FreeSWITCH node, live totals', async ({ page, url, baseUrl, screenshot }) => {
  await page.goto(url('/'));
  await page.locator('#nats-state', { hasText: 'Connected' }).waitFor();
  await page.locator('#consumer-state', { hasText: /Caught up|pending/ }).waitFor();
  await page.locator('#consumer-kv dd', { hasText: /^EVENTS: \d+ msgs, / }).waitFor();
  await page.locator('#health-pill.pill-ok').waitFor();
  await page.locator('#ov-banner.banner-ok', { hasText: 'All systems normal' }).waitFor();
  const node = page.locator('.card-node', { hasText: 'fs1' });
  await node.locator('.card-state', { hasText: 'Connected' }).waitFor();
  await page.locator('#domains-table td', { hasText: 'example.com' }).first().waitFor();
  await markPage(page);

  const received = totalValue(page, 'Received');
  await received.waitFor();
  const before = await numberOf(received);
  for (let i = 0; i < 3; i++) await post(baseUrl, { domain: 'example.com', call_id: `warmup-${RUN}-${i}` });
  await page.waitForFunction(([sel, want]) => {
    const el = document.querySelector(sel);
    return el && Number(el.textContent.replace(/[^0-9]/g, '')) >= want;
  }, ['.totals .total:first-child .total-value', before + 3]);
  const delivered = totalValue(page, 'Delivered');
  await page.waitForFunction((el) => Number(el.textContent.replace(/[^0-9]/g, '')) >= 3, await delivered.elementHandle());
  // the charts got points (their legends show figures)
  await page.locator('#legend-rate .legend-value').first().filter({ hasNotText: '—' }).waitFor();
  await assertNotReloaded(page);
  await screenshot('overview');
});

test('events: new events appear live, filter by domain, expand, failing endpoint', async ({ page, url, baseUrl, screenshot }) => {
  await page.goto(url('/#events'));
  await page.locator('#tab-events[aria-selected="true"]').waitFor();
  await markPage(page);
  await post(baseUrl, { domain: 'example.com', event_id: OK_EVENT, call_id: OK_CALL, from_number: '0914315989', to_number: '0987654321' });
  await post(baseUrl, { domain: 'shop.example', event_id: FAIL_EVENT, call_id: `fail-${RUN}`, order: 42 });

  // both show up without a reload, grouped under their domain
  await page.locator(`section.group[data-domain="example.com"] li.row[data-event-id="${OK_EVENT}"]`, { hasText: OK_CALL }).waitFor();
  const failing = page.locator(`section.group[data-domain="shop.example"] li.row[data-event-id="${FAIL_EVENT}"]`);
  await failing.waitFor();
  // max_deliver is 2: failed, retried, then dead-lettered
  await failing.locator('.badge', { hasText: 'dead-lettered' }).waitFor({ timeout: 20000 });
  await failing.locator('.err', { hasText: 'HTTP 503' }).waitFor();

  // filter by domain: only shop.example remains
  await page.locator('#ev-domain option[value="shop.example"]').waitFor({ state: 'attached' });
  await page.selectOption('#ev-domain', 'shop.example');
  await page.locator('section.group[data-domain="example.com"]').waitFor({ state: 'detached' });
  assert.equal(await page.locator('section.group').count(), 1);

  // expand: payload, attempts, per-endpoint status and error, retry verdict
  const toggle = row(page, FAIL_EVENT).locator('.row-toggle');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const panel = row(page, FAIL_EVENT).locator('.row-panel');
  await panel.waitFor();
  const shopUrl = env('DASH_SHOP_URL');
  const endpointRow = panel.locator('table tr', { hasText: shopUrl });
  await endpointRow.first().waitFor();
  assert.match(await endpointRow.first().textContent(), /503.*failed.*HTTP 503/s);
  await panel.locator('dd', { hasText: /^No: dead-lettered/ }).waitFor();
  await panel.locator('.attempts li', { hasText: 'Attempt 1' }).locator('.badge', { hasText: 'retrying' }).waitFor();
  await panel.locator('.attempts li', { hasText: 'Attempt 2' }).waitFor();
  assert.match(await panel.locator('pre.code').textContent(), /"order": 42/);

  // search by call id (client-side), and the Failed filter
  await page.fill('#ev-search', `fail-${RUN}`);
  await page.waitForFunction(() => document.querySelectorAll('#ev-list li.row').length === 1);
  await page.locator('label[for="ev-type-failed"]').click();
  await row(page, FAIL_EVENT).waitFor();
  // the expanded row stayed open across the live re-renders
  assert.equal(await row(page, FAIL_EVENT).locator('.row-toggle').getAttribute('aria-expanded'), 'true');
  await assertNotReloaded(page);
  await screenshot('events-failing-endpoint');

  // search by event id finds it too; a search for nothing says so
  await page.fill('#ev-search', FAIL_EVENT);
  await row(page, FAIL_EVENT).waitFor();
  await page.fill('#ev-search', 'no-such-call-anywhere');
  await page.locator('#ev-list .empty').waitFor();
});

test('events: the log files, by domain and date', async ({ page, url, screenshot }) => {
  await page.goto(url('/#events?source=logs&domain=shop.example'));
  await page.locator('#ev-date-field').waitFor();
  const today = new Date().toISOString().slice(0, 10);
  // the date is filled in once the listing of the domain's days has answered
  await page.waitForFunction(() => document.querySelector('#ev-date').value !== '');
  assert.equal(await page.inputValue('#ev-date'), today);
  assert.equal(await page.inputValue('#ev-domain'), 'shop_example');
  const logged = row(page, FAIL_EVENT);
  await logged.waitFor();
  await logged.locator('.badge', { hasText: 'dead-lettered' }).waitFor();
  await logged.locator('.row-toggle').click();
  const panel = logged.locator('.row-panel');
  await panel.locator('.attempts li', { hasText: 'received' }).waitFor();
  await panel.locator('.attempts li', { hasText: 'dead-lettered' }).waitFor();
  assert.match(await panel.locator('pre.code').textContent(), /"order": 42/);
  // the example.com log holds the delivered event
  await page.selectOption('#ev-domain', 'example_com');
  await row(page, OK_EVENT).locator('.badge', { hasText: 'delivered' }).waitFor();
  await page.selectOption('#ev-domain', 'shop_example');
  await logged.waitFor();
  await screenshot('events-log-files');
});

test('dead letters: reasons, replay one after fixing the route, replay the rest', async ({ page, url, baseUrl, screenshot }) => {
  await post(baseUrl, { domain: 'shop.example', event_id: FAIL_EVENT_2, call_id: `fail2-${RUN}` });
  await page.goto(url('/#dlq'));
  const first = row(page, FAIL_EVENT);
  const second = row(page, FAIL_EVENT_2);
  await first.locator('.badge', { hasText: 'max_deliveries_exceeded' }).waitFor();
  await second.locator('.badge', { hasText: 'max_deliveries_exceeded' }).waitFor({ timeout: 20000 });
  await first.locator('.err', { hasText: 'HTTP 503' }).waitFor();
  await first.locator('.row-toggle').click();
  await first.locator('.row-panel dd', { hasText: 'still failing after 2 attempts' }).waitFor();
  await page.locator('#dlq-count').filter({ hasText: /[1-9]/ }).waitFor();
  await screenshot('dead-letters');

  // fix the route (shop.example → a working endpoint) and reload from the Config tab
  copyFileSync(env('DASH_CONFIG_FIXED'), env('DASH_CONFIG'));
  await page.locator('#tab-config').click();
  await page.locator('#cfg-reload').click();
  await page.locator('#cfg-result.result-ok', { hasText: 'reloaded' }).waitFor();
  await page.locator('#cfg-routes tr', { hasText: 'shop.example' }).locator('.url', { hasText: '/shop-fixed' }).waitFor();

  // replay the first one by itself
  await page.locator('#tab-dlq').click();
  await page.locator('#dlq-domain option[value="shop.example"]').waitFor({ state: 'attached' });
  await page.selectOption('#dlq-domain', 'shop.example');
  await first.locator('button.row-action', { hasText: 'Replay' }).click();
  await page.locator('#dlq-result.result-ok', { hasText: `event ${FAIL_EVENT} of shop.example is back in the stream` }).waitFor();
  await first.waitFor({ state: 'detached' });
  await second.waitFor();

  // then every remaining one of the domain
  await page.locator('#dlq-replay-domain', { hasText: 'Replay all for shop.example' }).click();
  await page.locator('#dlq-result.result-ok', { hasText: /shop\.example: [1-9][0-9]* dead letter\(s\) replayed/ }).waitFor();
  await second.waitFor({ state: 'detached' });
  await page.locator('#dlq-list .empty').waitFor();

  // both are delivered now: the events view shows them as delivered, attempts restarted
  await page.goto(url('/#events?domain=shop.example'));
  await row(page, FAIL_EVENT).locator('.badge', { hasText: 'delivered' }).waitFor({ timeout: 20000 });
  await row(page, FAIL_EVENT_2).locator('.badge', { hasText: 'delivered' }).waitFor({ timeout: 20000 });
  await row(page, FAIL_EVENT).locator('.row-toggle').click();
  await row(page, FAIL_EVENT).locator('.row-panel table tr', { hasText: '/shop-fixed' }).locator('.badge', { hasText: 'delivered' }).waitFor();
  await screenshot('replayed-and-delivered');
});

test('config: Reload with a broken file shows file:line errors, then the fix reloads', async ({ page, url, screenshot }) => {
  await page.goto(url('/#config'));
  await page.locator('#cfg-meta dd', { hasText: 'eventhub.yaml' }).waitFor();
  copyFileSync(env('DASH_CONFIG_BROKEN'), env('DASH_CONFIG'));
  await page.locator('#cfg-reload').click();
  const result = page.locator('#cfg-result.result-bad');
  await result.waitFor();
  await result.locator('strong', { hasText: 'the running routes stay' }).waitFor();
  const errors = await result.locator('.config-errors li').allTextContents();
  assert.ok(errors.length >= 1, 'no error listed');
  assert.ok(errors.some((e) => /eventhub\.yaml:\d+: routes\[\d\]\.endpoints\[0\]: not an http\(s\) URL/.test(e)),
    `no file:line error in ${JSON.stringify(errors)}`);
  // the refused reload is also remembered by GET /api/config
  await page.locator('#cfg-last-error .config-errors li', { hasText: /eventhub\.yaml:\d+:/ }).first().waitFor();
  // the routes serving did not change
  await page.locator('#cfg-routes tr', { hasText: 'shop.example' }).locator('.url', { hasText: '/shop-fixed' }).waitFor();
  await screenshot('config-reload-error');

  copyFileSync(env('DASH_CONFIG_FIXED'), env('DASH_CONFIG'));
  await page.locator('#cfg-reload').click();
  await page.locator('#cfg-result.result-ok', { hasText: 'reloaded' }).waitFor();
  await page.locator('#cfg-last-error').waitFor({ state: 'hidden' });
}, { allowConsoleErrors: [/status of 400 \(Bad Request\)/] });

test('calls: live and finished FreeSWITCH calls', async ({ page, url, screenshot }) => {
  await page.goto(url('/#calls'));
  const rows = page.locator('#calls-table tbody tr');
  await rows.filter({ has: page.locator('.badge-live') }).first().waitFor();
  await rows.filter({ hasText: 'busy-line' }).first().waitFor();
  const live = rows.filter({ has: page.locator('.badge-live') }).first();
  assert.match(await live.textContent(), /answered/);
  assert.match(await live.textContent(), /0914315989/);
  await page.locator('#calls-live').check();
  await page.waitForFunction(() => [...document.querySelectorAll('#calls-table tbody tr')]
    .every((tr) => tr.querySelector('.badge-live')));
  await page.locator('#calls-live').uncheck();
  await screenshot('calls');
});

test('keyboard: tabs with arrow keys, rows with Enter and Space', async ({ page, url }) => {
  await page.goto(url('/'));
  await page.locator('#nats-state', { hasText: 'Connected' }).waitFor();
  await page.focus('#tab-overview');
  await page.keyboard.press('ArrowRight');
  await page.locator('#tab-events[aria-selected="true"]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-events');
  await page.keyboard.press('End');
  await page.locator('#tab-config[aria-selected="true"]').waitFor();
  await page.locator('#view-config').waitFor();
  await page.keyboard.press('Home');
  await page.locator('#tab-overview[aria-selected="true"]').waitFor();
  await page.keyboard.press('ArrowLeft');
  await page.locator('#tab-config[aria-selected="true"]').waitFor();
  // only the selected tab is in the Tab order
  assert.deepEqual(await page.$$eval('[role="tab"]', (tabs) => tabs.map((t) => t.tabIndex)), [-1, -1, -1, -1, 0]);

  await page.goto(url('/#events?domain=example.com'));
  const toggle = page.locator('#ev-list .row-toggle').first();
  await toggle.waitFor();
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.keyboard.press('Space');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  // a visible focus ring
  await toggle.focus();
  const outline = await toggle.evaluate((el) => getComputedStyle(el).outlineStyle);
  assert.notEqual(outline, 'none');
});

test('phone: readable at 390 px, nothing wider than the screen', async ({ page, url, screenshot }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, ready, name] of [
    ['/', '#nats-state', 'phone-overview'],
    ['/#events', '#ev-list li.row', 'phone-events'],
    ['/#calls', '#calls-table tbody tr', 'phone-calls'],
  ]) {
    await page.goto(url(hash));
    await page.locator(ready).first().waitFor();
    await page.waitForTimeout(300); // one layout pass with the data
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${hash} is ${overflow}px wider than the screen`);
    await screenshot(name);
  }
});

test('overview under steady traffic (charts)', async ({ page, url, baseUrl, screenshot }) => {
  await page.goto(url('/'));
  await page.locator('#nats-state', { hasText: 'Connected' }).waitFor();
  // ~15 s of traffic whose rate rises and falls, to three domains (a few events of
  // nowhere.example have no route); the pictures are taken while it flows
  let stop = false;
  let n = 0;
  const started = Date.now();
  const traffic = (async () => {
    while (!stop) {
      const phase = (Date.now() - started) / 4000;
      const perBatch = 1 + Math.round(2 + 2 * Math.sin(phase));
      const batch = [];
      for (let i = 0; i < perBatch; i++, n++) {
        batch.push(post(baseUrl, { domain: 'example.com', call_id: `load-${RUN}-${n}` }));
        if (n % 3 === 0) batch.push(post(baseUrl, { domain: 'shop.example', call_id: `load-shop-${RUN}-${n}` }));
        if (n % 40 === 0) batch.push(post(baseUrl, { domain: 'nowhere.example', call_id: `load-lost-${RUN}-${n}` }));
      }
      await Promise.all(batch);
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  try {
    await page.waitForFunction(() => {
      const v = document.querySelector('#legend-latency .legend-value');
      return v && v.textContent !== '—';
    });
    await page.waitForFunction((t0) => Date.now() - t0 > 15000, started, { polling: 500, timeout: 30000 });
    await screenshot('overview-traffic');
    if (process.env.DASH_README_SHOT) {
      await page.screenshot({ path: process.env.DASH_README_SHOT, fullPage: false });
    }
  } finally {
    stop = true;
    await traffic;
  }
  assert.ok(n > 100, `only ${n} events were sent`);
});

// Last: it leaves an endpoint failing for a while, which the other cases' banner checks
// and the README picture must not see.
test('overview: the Endpoints panel and the banner name a failing endpoint', async ({ page, url, baseUrl, screenshot }) => {
  const failing = await alwaysFailing();
  const healthyUrl = env('DASH_HEALTHY_URL');
  const config = env('DASH_CONFIG');
  try {
    const text = readFileSync(env('DASH_CONFIG_HEALTH'), 'utf8');
    assert.ok(text.includes(FAILING_PLACEHOLDER), 'DASH_CONFIG_HEALTH has no placeholder');
    writeFileSync(config, text.replace(FAILING_PLACEHOLDER, failing.url));
    await reloadConfig(baseUrl);

    await page.goto(url('/'));
    await page.locator('#nats-state', { hasText: 'Connected' }).waitFor();
    for (let i = 0; i < 3; i++) await post(baseUrl, { domain: 'health.example', call_id: `health-${RUN}-${i}` });

    const rows = page.locator('#endpoints-table tbody tr');
    const rowOf = (label) => rows.filter({ has: page.locator('td.url', { hasText: new RegExp(`^${escapeRe(label)}$`) }) });
    const bad = rowOf(failing.url);
    const good = rowOf(healthyUrl);
    // the panel polls every 2 s: wait (with the case's deadline) for the failure to show
    await page.waitForFunction((label) => [...document.querySelectorAll('#endpoints-table tbody tr')].some((tr) => {
      const cell = tr.querySelector('td.url');
      return cell && cell.textContent === label && tr.dataset.state && tr.dataset.state !== 'healthy';
    }), failing.url, { timeout: 30000, polling: 250 });
    assert.match(await bad.locator('.badge').textContent(), /^(failing|open|half-open)$/);
    await good.locator('.badge', { hasText: /^healthy$/ }).waitFor();
    assert.equal(await bad.locator('td').first().textContent(), 'health.example');
    const failures = Number((await bad.locator('td[data-label="Failures in a row"]').textContent()).replace(/[^0-9]/g, ''));
    assert.ok(failures >= 1, `failures in a row: ${failures}`);
    assert.notEqual((await bad.locator('td[data-label="Last error"]').textContent()).trim(), '—', 'no last error shown');
    // unhealthy first
    const labels = await rows.locator('td.url').allTextContents();
    assert.ok(labels.indexOf(failing.url) < labels.indexOf(healthyUrl), `order: ${JSON.stringify(labels)}`);

    // the status line says so, not "All systems normal"
    await page.locator('#ov-banner:not(.banner-ok)').waitFor();
    assert.notEqual(await page.locator('#ov-banner-title').textContent(), 'All systems normal');
    const line = new RegExp(`^1 endpoint (failing|open|half-open): ${escapeRe(failing.url)} \\(health\\.example\\)$|^\\d+ endpoints unhealthy: `);
    await page.locator('#ov-issues li', { hasText: line }).waitFor();
    await page.locator('#health-pill:not(.pill-ok)').waitFor();
    await screenshot('endpoint-health');
  } finally {
    copyFileSync(env('DASH_CONFIG_FIXED'), config);
    await reloadConfig(baseUrl).catch(() => {});
    await failing.close();
  }
});
