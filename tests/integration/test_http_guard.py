#!/usr/bin/env python3
"""
What the HTTP server refuses before any handler, over raw HTTP against the real binary
(http_policy; the browser's side of it is test_dashboard_cross_origin.py):

- Host allowlist: IP literals, localhost, the machine's names and server.allowed_hosts
  are answered; any other name gets 421 misdirected_request (DNS rebinding) on the
  dashboard, /health, /metrics and /api/...; POST /events answers any Host; "*" opts out;
  HTTP/1.1 without Host is 400, HTTP/1.0 without Host is answered.
- the control plane refuses pages of other origins: Sec-Fetch-Site cross-site or
  same-site, an Origin that is not the Host's own, "null" → 403 cross_origin, on reads
  and changes; navigating to the dashboard from another site still works;
- a change (config reload, dead-letter replay) must be Content-Type: application/json,
  even without a body → 415 otherwise, and nothing happens: no reload, the dead letter
  stays;
- each refusal is counted in GET /metrics (eventhub_http_refused_total{reason}) and
  /api/stats ("http"), and logged with the subsystem tag "http".
"""

import json
import socket

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"


class HttpGuard(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")

    def start(self, **server):
        cfg = base_config(self.ns.url, [{"domain": "example.com", "endpoints": [self.crm.url()]}],
                          nats={"max_deliveries": 2},
                          server=dict({"watch_config": False}, **server))
        self.eh = self.eventhub(cfg)
        self.hostport = "127.0.0.1:%d" % self.eh.port
        return self.eh

    def raw(self, method, path, headers=(), body=b"", version="HTTP/1.1", host="default"):
        """One request with exactly these header lines (Host added unless host=None)."""
        lines = ["%s %s %s" % (method, path, version)]
        if host == "default":
            host = self.hostport
        if host is not None:
            lines.append("Host: " + host)
        lines += ["%s: %s" % kv for kv in headers]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: %d" % len(body))
        lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        return harness.raw_http("127.0.0.1", self.eh.port, data)

    def assert_refused(self, resp, status, error):
        self.assert_error_body(resp, status)
        self.assertEqual(resp.json["error"], error, resp)
        self.assertTrue(resp.headers.get("content-type", "").startswith("application/json"), resp)

    def stats_http(self):
        r = self.eh.request("GET", "/api/stats")
        self.assertEqual(r.status, 200, r)
        return r.json["http"]

    def reloads(self):
        return self.eh.request("GET", "/api/config").json["reloads"]

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def test_host_allowlist(self):
        self.start(allowed_hosts=["eventhub.test", "*.svc.test"])
        port = self.eh.port
        machine = socket.gethostname()
        allowed = ["127.0.0.1:%d" % port, "127.0.0.1", "127.9.8.7:%d" % port,
                   "localhost:%d" % port, "LOCALHOST", "[::1]:%d" % port, "192.0.2.1:%d" % port,
                   "eventhub.test:%d" % port, "EventHub.Test.", "a.svc.test", machine,
                   machine.split(".")[0]]
        for host in allowed:
            for path in ("/health", "/api/stats", "/metrics", "/"):
                with self.subTest(host=host, path=path):
                    r = self.raw("GET", path, host=host)
                    self.assertEqual(r.status, 200, r)
        before = self.stats_http()["refused"]["host"]
        for host in ("attacker.example:%d" % port, "attacker.example", "svc.test",
                     "eventhub.test.attacker.example", "localhost.attacker.example"):
            for path in ("/health", "/api/stats", "/metrics", "/", "/index.html", "/api/config",
                         "/no/such/path"):
                with self.subTest(host=host, path=path):
                    self.assert_refused(self.raw("GET", path, host=host), 421,
                                        "misdirected_request")
            # A change with a rebinding name is refused before its handler too.
            r = self.raw("POST", "/api/config/reload", host=host,
                         headers=[("Content-Type", "application/json")])
            self.assert_refused(r, 421, "misdirected_request")
        self.assertEqual(self.reloads(), 0)
        self.assertGreaterEqual(self.stats_http()["refused"]["host"] - before, 40)
        # POST /events is the data plane: upstream systems use whatever name they resolve.
        ev = json.dumps({"domain": "example.com", "event_id": "by-any-name"}).encode()
        r = self.raw("POST", "/events", host="ingest.partner.example",
                     headers=[("Content-Type", "application/json")], body=ev)
        self.assert_accepted(r)
        self.crm.wait_for(1)
        # A malformed Host is a bad request; so are two of them and HTTP/1.1 without one.
        self.assert_refused(self.raw("GET", "/health", host="a b"), 400, "bad_request")
        self.assert_refused(self.raw("GET", "/health", host="x:99999"), 400, "bad_request")
        self.assert_refused(self.raw("GET", "/health", host=None), 400, "bad_request")
        self.assert_refused(self.raw("GET", "/health", headers=[("Host", "127.0.0.1")]), 400,
                            "bad_request")
        # HTTP/1.0 without Host: not a browser (every browser sends the name it resolved).
        self.assertEqual(self.raw("GET", "/health", version="HTTP/1.0", host=None).status, 200)
        hosts = [l for l in self.eh.run_logs()
                 if l.get("subsystem") == "http" and "misdirected_request" in str(l.get("msg"))]
        self.assertTrue(hosts, "no log line for the refused Host")
        self.assertIn("attacker.example", hosts[0]["msg"])
        r = self.eh.request("GET", "/metrics")
        self.assertRegex(r.raw.decode(), r'eventhub_http_refused_total\{reason="host"\} [1-9]')

    def test_any_host(self):
        self.start(allowed_hosts=["*"])
        self.assertEqual(self.raw("GET", "/api/stats", host="attacker.example").status, 200)
        self.assertEqual(self.raw("GET", "/", host="whatever.example:8080").status, 200)

    def test_changes_must_be_json(self):
        self.start()
        self.assert_accepted(self.eh.post_event({"domain": "nowhere.example.com"}))
        harness.wait_until(lambda: self.dlq_count() == 1, 15, "a dead letter")
        self.wait_consumer_idle(self.ns)
        for ct in (None, "text/plain", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x", "application/jsonp"):
            headers = [("Content-Type", ct)] if ct else []
            for path in ("/api/config/reload", "/api/dlq/1/replay",
                         "/api/dlq/replay?domain=nowhere.example.com"):
                with self.subTest(ct=ct, path=path):
                    r = self.raw("POST", path, headers=headers, body=b"x" if ct else b"")
                    self.assert_refused(r, 415, "unsupported_media_type")
        self.assertEqual(self.reloads(), 0)
        self.assertEqual(self.dlq_count(), 1)
        self.assertEqual(self.stats_http()["refused"]["media_type"], 15)
        # The same with the JSON type (no body) goes through.
        r = self.raw("POST", "/api/config/reload", headers=[("Content-Type", "application/json")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.reloads(), 1)
        r = self.raw("POST", "/api/dlq/1/replay",
                     headers=[("Content-Type", "application/json; charset=utf-8")])
        self.assertEqual(r.status, 200, r)
        # Reads need no content type.
        self.assertEqual(self.raw("GET", "/api/dlq").status, 200)

    def test_other_origins(self):
        self.start()
        own = "http://" + self.hostport
        json_ct = ("Content-Type", "application/json")
        refused = [
            [("Origin", "http://attacker.example")],
            [("Origin", "http://127.0.0.2:%d" % self.eh.port)],
            [("Origin", "http://127.0.0.1:1")],  # another port: same site, another origin
            [("Origin", "http://localhost:%d" % self.eh.port)],
            [("Origin", "null")],
            [("Sec-Fetch-Site", "cross-site")],
            [("Sec-Fetch-Site", "same-site")],
            [("Origin", own), ("Sec-Fetch-Site", "same-site")],
        ]
        n = 0
        for headers in refused:
            with self.subTest(headers=headers):
                r = self.raw("POST", "/api/config/reload", headers=headers + [json_ct])
                self.assert_refused(r, 403, "cross_origin")
                # reads too: nothing on another site needs the control plane
                for path in ("/api/stats", "/api/config", "/metrics", "/api/dlq"):
                    self.assert_refused(self.raw("GET", path, headers=headers), 403,
                                        "cross_origin")
                n += 5
        # cross_origin wins over the missing content type
        self.assert_refused(self.raw("POST", "/api/dlq/1/replay",
                                     headers=[("Sec-Fetch-Site", "cross-site")]), 403,
                            "cross_origin")
        n += 1
        self.assertEqual(self.reloads(), 0)
        self.assertEqual(self.stats_http()["refused"]["cross_origin"], n)
        # The dashboard itself: same origin, or typed into the address bar.
        for headers in ([("Origin", own), ("Sec-Fetch-Site", "same-origin")],
                        [("Sec-Fetch-Site", "none")], [("Origin", own)]):
            with self.subTest(headers=headers):
                r = self.raw("POST", "/api/config/reload", headers=headers + [json_ct])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.raw("GET", "/api/stats", headers=headers).status, 200)
        self.assertEqual(self.reloads(), 3)
        # A link from another site to the dashboard still opens it; /health stays open.
        nav = [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate"),
               ("Sec-Fetch-Dest", "document")]
        r = self.raw("GET", "/", headers=nav)
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"eventhub", r.raw)
        self.assertEqual(self.raw("GET", "/health", headers=nav).status, 200)
        # The data plane has no origin rule (a page cannot send it JSON without a preflight,
        # and ingress refuses anything else).
        ev = json.dumps({"domain": "example.com", "event_id": "cross"}).encode()
        r = self.raw("POST", "/events", body=ev,
                     headers=[json_ct, ("Origin", "http://partner.example")])
        self.assert_accepted(r)
        r = self.raw("POST", "/events", body=ev,
                     headers=[("Content-Type", "text/plain"), ("Origin", "http://attacker.example")])
        self.assert_error_body(r, 415)
        # A preflight is never approved.
        r = self.raw("OPTIONS", "/api/config/reload",
                     headers=[("Origin", "http://attacker.example"),
                              ("Access-Control-Request-Method", "POST")])
        self.assertIn(r.status, (403, 405), r)
        self.assertNotIn("access-control-allow-origin", r.headers)
        logs = [l for l in self.eh.run_logs()
                if l.get("subsystem") == "http" and "cross_origin" in str(l.get("msg"))]
        self.assertTrue(logs, "no log line for a cross-origin refusal")


if __name__ == "__main__":
    harness.main()
