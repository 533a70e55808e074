// The admin-token form: against an eventhub with server.admin_token and
// protect_read_apis (tests/integration/test_dashboard.py, DASH_TOKEN), the read APIs
// answer 401, so the dashboard asks for the token in its own form (not window.prompt),
// says when a token is refused, keeps the right one in sessionStorage only and sends it
// as "Authorization: Bearer"; "Forget token" drops it; a cancelled form is not forced
// on the operator again until the "Admin token" button.
import assert from 'node:assert/strict';
import { test } from './harness.mjs';

const TOKEN_KEY = 'eventhub.admin_token';

test('a 401 asks for the token; a wrong one is refused; the right one is kept for the session', async ({ page, url, screenshot }) => {
  const token = process.env.DASH_TOKEN;
  assert.ok(token, 'DASH_TOKEN is not set');
  let prompted = false;
  page.on('dialog', (d) => { prompted = true; d.dismiss(); }); // window.prompt/alert must not be used

  await page.goto(url('/'));
  const dialog = page.locator('#auth-dialog[open]');
  await dialog.waitFor();
  await page.locator('#auth-reason', { hasText: 'needs the admin token' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'auth-token');
  await screenshot('token-form');

  // an empty submit is caught by the form itself
  await page.keyboard.press('Enter');
  await page.locator('#auth-error', { hasText: 'Enter the token' }).waitFor();

  await page.fill('#auth-token', 'not-the-token');
  await page.keyboard.press('Enter');
  await page.locator('#auth-reason', { hasText: 'The token was refused' }).waitFor();
  await dialog.waitFor();

  await page.fill('#auth-token', token);
  await page.locator('#auth-form button[type="submit"]').click();
  await page.locator('#auth-dialog').waitFor({ state: 'hidden' });
  await page.locator('#nats-state', { hasText: 'Connected' }).waitFor();
  await page.locator('.totals .total').first().waitFor();
  assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), token);
  assert.equal(await page.evaluate((k) => localStorage.getItem(k), TOKEN_KEY), null);

  // the token goes out as a Bearer header
  const req = await page.waitForRequest((r) => r.url().includes('/api/v1/stats'));
  assert.equal(req.headers().authorization, `Bearer ${token}`);

  // other tabs' APIs work with it too
  await page.locator('#tab-config').click();
  await page.locator('#cfg-routes td', { hasText: 'example.com' }).waitFor();
  await screenshot('signed-in');

  await page.locator('#signout').click();
  assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null);
  await page.locator('#auth-dialog[open]').waitFor(); // the next poll asks again
  await page.locator('#auth-cancel').click();
  await page.locator('#auth-dialog').waitFor({ state: 'hidden' });
  // cancelled: the next polls do not force the form again; a header button brings it back
  await page.locator('#signin').waitFor();
  await page.waitForResponse((r) => r.url().includes('/api/v1/stats') && r.status() === 401);
  await page.waitForResponse((r) => r.url().includes('/api/v1/stats') && r.status() === 401);
  assert.equal(await page.locator('#auth-dialog[open]').count(), 0);
  await page.locator('#health-text', { hasText: 'admin token' }).waitFor();
  await page.locator('#signin').click();
  await page.locator('#auth-dialog[open]').waitFor();
  await page.fill('#auth-token', token);
  await page.keyboard.press('Enter');
  await page.locator('#signin').waitFor({ state: 'hidden' });
  await page.locator('#signout').waitFor();
  assert.equal(prompted, false, 'a native dialog was opened');
}, { allowConsoleErrors: [/status of 401 \(Unauthorized\)/] });
