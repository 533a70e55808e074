// run.mjs — runs browser test files against a running eventhub (see harness.mjs).
//
//   EVENTHUB_URL=http://127.0.0.1:8080 SCREENSHOT_DIR=build/screenshots \
//     node tests/browser/run.mjs tests/browser/smoke.test.mjs [more.test.mjs ...]
//
// It starts nothing itself: tests/integration/test_dashboard_*.py start nats-server and
// eventhub, then call this (tests/integration/browser.py).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { run, setCurrentFile } from './harness.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node run.mjs FILE.test.mjs [...]');
  process.exit(2);
}
for (const file of files) {
  setCurrentFile(file);
  await import(pathToFileURL(path.resolve(file)).href);
}
process.exitCode = await run();
