"""
browser — runs the browser tests (tests/browser/*.test.mjs, playwright-core driving
Debian's Chromium) from an integration test that has started nats-server and eventhub.

  import browser                      # before harness.main(): skips the file (exit 77)
  browser.skip_unless_available()     # when Chromium, node or playwright-core is missing
  ...
  browser.run(self, ["smoke.test.mjs"], "http://127.0.0.1:%d" % self.eh.port)

Prerequisites: /usr/bin/chromium (or $CHROMIUM), node on PATH, and
tests/browser/node_modules/playwright-core (`make browser-deps`, or
scripts/install-deps.sh --browser). Without them the test is skipped (meson shows
SKIP) unless EVENTHUB_REQUIRE_BROWSER=1 (CI sets it), which makes it fail instead.
Screenshots go to $SCREENSHOT_DIR, else <build dir>/screenshots next to the binary.
"""

import os
import shutil
import subprocess
import sys

import harness

BROWSER_DIR = os.path.join(harness.REPO, "tests", "browser")
SKIP = 77  # meson's exit code for a skipped test


def chromium_path():
    return os.environ.get("CHROMIUM") or "/usr/bin/chromium"


def missing():
    """Why the browser tests cannot run here, or None."""
    if not os.access(chromium_path(), os.X_OK):
        return "%s not found (apt-get install chromium, or make browser-deps)" % chromium_path()
    if not shutil.which("node"):
        return "node not found (apt-get install nodejs npm)"
    if not os.path.isfile(os.path.join(BROWSER_DIR, "node_modules", "playwright-core",
                                       "package.json")):
        return "tests/browser/node_modules/playwright-core missing (make browser-deps)"
    return None


def skip_unless_available():
    why = missing()
    if why is None:
        return
    if os.environ.get("EVENTHUB_REQUIRE_BROWSER") == "1":
        sys.stderr.write("browser tests required (EVENTHUB_REQUIRE_BROWSER=1) but %s\n" % why)
        sys.exit(1)
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(SKIP)


def screenshot_dir():
    if os.environ.get("SCREENSHOT_DIR"):
        return os.environ["SCREENSHOT_DIR"]
    # EVENTHUB_BIN is <build>/cmd/eventhub/eventhub
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(harness.eventhub_bin()))))
    return os.path.join(build, "screenshots")


def run(testcase, scripts, base_url, timeout=240, env=None):
    """Runs tests/browser/run.mjs on the given test files (names relative to
    tests/browser/) against base_url; fails the testcase with the TAP output unless every
    browser case passed. Returns the output."""
    full_env = dict(os.environ)
    full_env.update({"EVENTHUB_URL": base_url, "SCREENSHOT_DIR": screenshot_dir()})
    full_env.update(env or {})
    cmd = ["node", os.path.join(BROWSER_DIR, "run.mjs")] + [
        os.path.join(BROWSER_DIR, s) for s in scripts]
    try:
        p = subprocess.run(cmd, cwd=BROWSER_DIR, env=full_env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        testcase.fail("browser tests did not finish within %ds:\n%s" % (timeout, out))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode == 0:
        sys.stderr.write(out)  # the TAP lines and screenshot paths; a failure shows them below
    testcase.assertEqual(p.returncode, 0, "browser tests failed (exit %d):\n%s" % (p.returncode, out))
    return out
