// harness.mjs — what every browser test of the dashboard shares: Debian's Chromium driven
// by playwright-core against an eventhub that somebody else started (EVENTHUB_URL).
//
// A test file registers cases and run.mjs runs them:
//
//   import { test } from './harness.mjs';
//   test('the overview loads', async ({ page, url, screenshot }) => {
//     await page.goto(url('/'));
//     await page.getByRole('heading', { name: 'eventhub' }).waitFor();
//     await screenshot('overview');
//   });
//
//   node tests/browser/run.mjs tests/browser/my.test.mjs   (EVENTHUB_URL=http://127.0.0.1:PORT)
//
// Each case gets a new page in one browser (a fresh, throw-away profile per run). A case
// fails when its function throws, and also when the page logs any console error or throws
// an uncaught exception (a CSP violation, a failed fetch, a 404 asset: all console errors),
// unless that message matches the case's `allowConsoleErrors` patterns. A failing case
// leaves a screenshot "<file>-<case>-FAILED.png". Output is TAP; the exit code is 0 when
// every case passed.
//
// Environment:
//   EVENTHUB_URL      base URL of the running eventhub (required)
//   SCREENSHOT_DIR    where screenshots go (default: ./screenshots)
//   CHROMIUM          the browser binary (default: /usr/bin/chromium)
//   BROWSER_TIMEOUT_MS  per action / navigation (default 15000); a case gets 8x that
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const cases = [];
let currentFile = 'browser';

// Registers a case. fn({ page, context, url, baseUrl, screenshot, log, consoleErrors })
// may be async. options.allowConsoleErrors: RegExp[] of console messages that are expected.
export function test(name, fn, options = {}) {
  cases.push({ name, fn, options, file: currentFile });
}

// run.mjs: the file whose test() calls come next (names the screenshots).
export function setCurrentFile(file) {
  currentFile = path.basename(file).replace(/\.test\.mjs$|\.mjs$/, '');
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

function describeConsole(msg) {
  const loc = msg.location();
  const where = loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : '';
  return `console.${msg.type()}: ${msg.text()}${where}`;
}

async function runCase(context, c, index, env) {
  const errors = [];
  const allowed = c.options.allowConsoleErrors || [];
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = describeConsole(msg);
    if (!allowed.some((re) => re.test(msg.text()))) errors.push(text);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.stack || err}`));
  page.on('crash', () => errors.push('the page crashed'));

  const shotPrefix = `${slug(c.file)}-${slug(c.name)}`;
  const screenshot = async (name) => {
    const file = path.join(env.screenshotDir, `${shotPrefix}-${slug(name)}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`# screenshot ${file}`);
    return file;
  };
  const ctx = {
    page,
    context,
    baseUrl: env.baseUrl,
    url: (p = '/') => new URL(p, env.baseUrl).toString(),
    screenshot,
    log: (...a) => console.log('#', ...a),
    consoleErrors: errors,
  };

  let failure = null;
  let timer;
  try {
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${env.caseTimeout} ms`)),
        env.caseTimeout);
    });
    await Promise.race([Promise.resolve().then(() => c.fn(ctx)), limit]);
    // Late errors (a fetch finishing after the last assertion) count too.
    await page.waitForTimeout(0);
  } catch (err) {
    failure = err;
  } finally {
    clearTimeout(timer);
  }
  if (!failure && errors.length) {
    failure = new Error(`the page logged ${errors.length} error(s):\n${errors.join('\n')}`);
  }
  if (failure) {
    try {
      await page.screenshot({ path: path.join(env.screenshotDir, `${shotPrefix}-FAILED.png`),
        fullPage: true, timeout: 5000 });
    } catch { /* a crashed page has no picture */ }
    console.log(`not ok ${index} - ${c.name}`);
    const text = String(failure && failure.stack ? failure.stack : failure);
    for (const line of text.split('\n')) console.log(`#   ${line}`);
    if (errors.length && !String(failure.message).startsWith('the page logged')) {
      for (const e of errors) console.log(`#   also: ${e}`);
    }
  } else {
    console.log(`ok ${index} - ${c.name}`);
  }
  await page.close().catch(() => {});
  return !failure;
}

// Runs every registered case; returns the process exit code.
export async function run() {
  const baseUrl = process.env.EVENTHUB_URL;
  if (!baseUrl) {
    console.error('EVENTHUB_URL is not set (the base URL of a running eventhub)');
    return 2;
  }
  const timeout = Number(process.env.BROWSER_TIMEOUT_MS || 15000);
  const env = {
    baseUrl,
    screenshotDir: path.resolve(process.env.SCREENSHOT_DIR || 'screenshots'),
    caseTimeout: timeout * 8,
  };
  mkdirSync(env.screenshotDir, { recursive: true });
  // Last run's pictures of these files go, so a stale -FAILED.png cannot mislead.
  const prefixes = [...new Set(cases.map((c) => `${slug(c.file)}-`))];
  for (const name of readdirSync(env.screenshotDir)) {
    if (name.endsWith('.png') && prefixes.some((p) => name.startsWith(p))) {
      rmSync(path.join(env.screenshotDir, name), { force: true });
    }
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'eventhub-chromium-'));
  let context;
  let failed = 0;
  console.log(`1..${cases.length}`);
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      timeout: 60000,
    });
    context.setDefaultTimeout(timeout);
    context.setDefaultNavigationTimeout(timeout);
    for (let i = 0; i < cases.length; i++) {
      if (!(await runCase(context, cases[i], i + 1, env))) failed++;
    }
  } catch (err) {
    console.log(`Bail out! ${String(err && err.stack ? err.stack : err).split('\n').join(' | ')}`);
    return 1;
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`# ${cases.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
