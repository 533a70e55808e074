#!/usr/bin/env python3
"""
A page on another origin, opened in the operator's browser, cannot change eventhub
(tests/browser/cross_origin.test.mjs drives Chromium): with no admin token (the
default: the control plane answers any loopback client) an attacking page served from
127.0.0.2 (another site) and one from another port of 127.0.0.1 (same site, another
origin) auto-submit forms and send no-cors fetches to POST /api/config/reload and the
dead-letter replays. Judged from eventhub's state, not from what the browser saw:

- the config file on disk was changed (watch_config off), yet nothing was reloaded:
  /api/config shows no reload and the old routes;
- the dead letter is still there and its domain's receiver got nothing;
- every attempt was counted as a cross_origin refusal.

Then the same reload and replay from the same origin (as the dashboard sends them:
JSON content type) go through, which shows the checks above could see a change.
Skipped (exit 77) without Chromium, node or tests/browser/node_modules (browser.py).
"""

import http.server
import threading

import browser
import harness
from harness import base_config

DLQ = "EVENTS_DLQ"

EVIL_HTML = """<!doctype html>
<html><head><title>prize</title></head><body>
<form id="f-reload" method="POST" action="{eh}/api/config/reload" target="sink1">
  <input name="x" value="1"></form>
<form id="f-replay" method="POST" action="{eh}/api/dlq/1/replay" target="sink2"
      enctype="text/plain"><input name='{{"a":"' value='"}}'></form>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<script>
window.results = {{}};
async function go() {{
  const eh = {eh_js};
  const plain = {{ method: 'POST', mode: 'no-cors', body: 'x',
                   headers: {{ 'Content-Type': 'text/plain' }} }};
  await Promise.allSettled([
    fetch(eh + '/api/config/reload', plain),
    fetch(eh + '/api/dlq/1/replay', plain),
    fetch(eh + '/api/dlq/replay?domain=nowhere.example.com', {{ method: 'POST', mode: 'no-cors' }}),
  ]);
  try {{
    await fetch(eh + '/api/config/reload', {{ method: 'POST', body: '{{}}',
      headers: {{ 'Content-Type': 'application/json' }} }});
    window.results.json = 'sent';
  }} catch (e) {{
    window.results.json = 'blocked';
  }}
  document.getElementById('f-reload').submit();
  document.getElementById('f-replay').submit();
  document.title = 'done';
}}
go();
</script></body></html>
"""


def evil_server(address, eh_url):
    page = EVIL_HTML.format(eh=eh_url, eh_js='"%s"' % eh_url).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    srv = http.server.ThreadingHTTPServer((address, 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class DashboardCrossOrigin(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")
        self.late = self.receiver(name="late")

        def config(routes):
            return base_config(self.ns.url, routes, nats={"max_deliveries": 2},
                               server={"watch_config": False})

        self.eh = self.eventhub(config([{"domain": "example.com",
                                         "endpoints": [self.crm.url()]}]))
        # One dead letter: a domain without a route.
        self.assert_accepted(self.eh.post_event({"domain": "nowhere.example.com",
                                                 "event_id": "dead-1"}))
        harness.wait_until(lambda: self.dlq_count() == 1, 15, "a dead letter")
        self.wait_consumer_idle(self.ns)
        # The file now routes that domain too; only a reload would apply it.
        self.eh.write_config(config([
            {"domain": "example.com", "endpoints": [self.crm.url()]},
            {"domain": "nowhere.example.com", "endpoints": [self.late.url()]}]))
        self.base = "http://127.0.0.1:%d" % self.eh.port
        self.servers = [evil_server("127.0.0.2", self.base), evil_server("127.0.0.1", self.base)]
        self.addCleanup(lambda: [(s.shutdown(), s.server_close()) for s in self.servers])

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def config_view(self):
        r = self.eh.request("GET", "/api/config")
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_other_origins_change_nothing(self):
        pages = ["http://%s:%d/prize.html" % s.server_address[:2] for s in self.servers]
        browser.run(self, ["cross_origin.test.mjs"], self.base, env={"EVIL_PAGES": " ".join(pages)})

        view = self.config_view()
        self.assertEqual(view["reloads"], 0, view)
        self.assertNotIn("nowhere.example.com", [r["domain"] for r in view["routes"]])
        self.assertEqual(self.dlq_count(), 1)
        self.assertEqual(self.late.count(), 0)
        refused = self.eh.request("GET", "/api/stats").json["http"]["refused"]
        self.assertGreaterEqual(refused["cross_origin"], 10, refused)  # 5 per page

        # The same changes from the same origin, as the dashboard sends them, work.
        json_ct = {"Content-Type": "application/json"}
        r = self.eh.request("POST", "/api/config/reload", headers=json_ct)
        self.assertEqual(r.status, 200, r)
        self.assertIn("nowhere.example.com", [r["domain"] for r in self.config_view()["routes"]])
        r = self.eh.request("POST", "/api/dlq/1/replay", headers=json_ct)
        self.assertEqual(r.status, 200, r)
        self.late.wait_for(1)
        self.assertEqual(self.late.requests[0].event_id, "dead-1")


if __name__ == "__main__":
    browser.skip_unless_available()
    harness.main()
