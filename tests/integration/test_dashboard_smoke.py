#!/usr/bin/env python3
"""
Dashboard smoke test: nats-server + eventhub, then headless Chromium (playwright-core,
tests/browser/smoke.test.mjs) opens / and sees eventhub's title and heading with no
console error under the strict CSP. Over plain HTTP (urllib): the CSP header is there
and a matching If-None-Match gets 304. Skipped (exit 77) where Chromium, node or
tests/browser/node_modules is missing — see tests/integration/browser.py.
"""

import urllib.error
import urllib.request

import browser
import harness
from harness import base_config


class DashboardSmoke(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": ["http://127.0.0.1:9/hook"]}]))
        self.base = "http://127.0.0.1:%d" % self.eh.port

    def test_csp_and_revalidation_over_http(self):
        with urllib.request.urlopen(self.base + "/", timeout=10) as r:
            self.assertEqual(r.status, 200)
            csp = r.headers.get("Content-Security-Policy", "")
            etag = r.headers.get("ETag")
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertTrue(etag)
        req = urllib.request.Request(self.base + "/", headers={"If-None-Match": etag})
        with self.assertRaises(urllib.error.HTTPError) as cm:  # urllib raises on 304
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(cm.exception.code, 304)
        self.assertEqual(cm.exception.headers.get("ETag"), etag)

    def test_dashboard_in_chromium(self):
        browser.run(self, ["smoke.test.mjs"], self.base)


if __name__ == "__main__":
    browser.skip_unless_available()
    harness.main()
