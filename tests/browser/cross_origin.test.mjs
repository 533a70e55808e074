// Pages of other origins cannot use the control plane (tests/integration/
// test_dashboard_cross_origin.py starts eventhub and the attacking pages): for each
// page in EVIL_PAGES — one on another loopback address (cross-site), one on another
// port of 127.0.0.1 (same-site, another origin) — Chromium opens it; the page
// auto-submits forms (urlencoded and text/plain) to POST /api/config/reload and
// /api/dlq/1/replay into hidden frames, sends no-cors text/plain fetches to the reload
// and replay APIs, and tries a JSON fetch (which needs a CORS preflight). Every request
// that reaches eventhub is answered 403 cross_origin; the JSON one never leaves the
// browser. Whether anything changed is checked by the Python side, from eventhub's state.
import assert from 'node:assert/strict';
import { test } from './harness.mjs';

const pages = (process.env.EVIL_PAGES || '').split(' ').filter(Boolean);
// What Chromium logs for these refusals is expected here: the page is the attacker's.
const allowConsoleErrors = [/CORS/i, /Failed to load resource/i, /net::ERR_FAILED/i];

for (const evil of pages) {
  test(`a page on ${new URL(evil).host} cannot reload the config or replay a dead letter`,
    async ({ page, baseUrl, screenshot }) => {
      const seen = [];
      page.on('response', (r) => {
        if (r.url().startsWith(baseUrl)) seen.push({ url: r.url(), status: r.status(), method: r.request().method() });
      });
      await page.goto(evil);
      await page.waitForFunction(() => document.title === 'done', null, { timeout: 20000 });
      // 2 forms + 3 no-cors fetches reach eventhub; wait for their answers.
      const deadline = Date.now() + 15000;
      while (seen.filter((s) => s.method === 'POST').length < 5 && Date.now() < deadline) {
        await page.waitForTimeout(100);
      }
      const posts = seen.filter((s) => s.method === 'POST');
      assert.equal(posts.length, 5, `POSTs answered by eventhub: ${JSON.stringify(seen)}`);
      for (const s of posts) assert.equal(s.status, 403, `${s.url} answered ${s.status}`);
      const results = await page.evaluate(() => window.results);
      assert.equal(results.json, 'blocked', `the JSON fetch went through: ${JSON.stringify(results)}`);
      assert.ok(!seen.some((s) => s.url.endsWith('/api/config/reload') && s.status === 200), JSON.stringify(seen));
      await screenshot(new URL(evil).host.replace(/[^0-9a-z]+/gi, '-'));
    }, { allowConsoleErrors });
}

test('the attacking pages were given', () => {
  assert.ok(pages.length >= 2, 'EVIL_PAGES lists the attacking pages');
});
