#!/usr/bin/env python3
"""
Every error the HTTP server shapes has a JSON body {"error", "detail"} with
Content-Type application/json — walked over raw HTTP against the real binary: 400
(framing: two Content-Length, Content-Length with Transfer-Encoding, two Host, no Host
on HTTP/1.1; an invalid event), 401, 403, 404, 405, 413 (declared and chunked), 414
(request target over 8 KiB), 415, 421, 431 (header fields over 16 KiB or over 100),
501 (a transfer coding other than chunked).

A request with two framings is refused, not guessed: the connection closes after the
one answer, so nothing smuggled after the body is ever read as a second request. Past
libmicrohttpd's connection memory (64 KiB of head), and for a malformed
Content-Length, libmicrohttpd answers itself (HTML): checked too, so a change of that
boundary shows.
"""

import json
import re
import socket

import harness
from harness import base_config

MAX_BODY = 4096
TOKEN = "errors-walk-token"


class HttpErrors(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.crm.url()]}],
            server={"max_body_bytes": MAX_BODY, "admin_token": TOKEN}))
        self.host = "127.0.0.1:%d" % self.eh.port

    def send(self, data):
        return harness.raw_http("127.0.0.1", self.eh.port, data)

    def request(self, method, path, headers=(), body=b"", host=True, close=True):
        lines = ["%s %s HTTP/1.1" % (method, path)]
        if host:
            lines.append("Host: " + self.host)
        lines += ["%s: %s" % kv for kv in headers]
        if close:
            lines.append("Connection: close")
        return (("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")) + body

    def check(self, what, resp, status, error=None):
        with self.subTest(what=what):
            self.assert_error_body(resp, status)
            self.assertTrue(resp.headers.get("content-type", "").startswith("application/json"),
                            "%s: %r" % (what, resp))
            if error:
                self.assertEqual(resp.json["error"], error, resp)

    def answers(self, data):
        """Every status line the server sends on one connection until it closes."""
        s = socket.create_connection(("127.0.0.1", self.eh.port))
        s.settimeout(5)
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        s.close()
        return re.findall(rb"HTTP/1\.[01] \d{3} [^\r]*", out)

    def test_walk(self):
        ev = json.dumps({"domain": "example.com", "event_id": "e-1"}).encode()
        json_ct = ("Content-Type", "application/json")
        cl = lambda b: ("Content-Length", str(len(b)))  # noqa: E731
        cases = [
            ("404 unknown path", self.request("GET", "/nope"), 404, "not_found"),
            ("404 unknown API", self.request("GET", "/api/nope"), 404, "not_found"),
            ("405 wrong method", self.request("DELETE", "/events"), 405, "method_not_allowed"),
            ("405 GET of a POST route",
             self.request("GET", "/api/config/reload"), 405, "method_not_allowed"),
            ("413 declared", self.request("POST", "/events", [json_ct, ("Content-Length", "99999")]),
             413, "payload_too_large"),
            ("413 chunked",
             self.request("POST", "/events", [json_ct, ("Transfer-Encoding", "chunked")],
                          b"%x\r\n%s\r\n0\r\n\r\n" % (MAX_BODY + 10, b"x" * (MAX_BODY + 10))),
             413, "payload_too_large"),
            ("400 invalid event",
             self.request("POST", "/events", [json_ct, cl(b"{")], b"{"), 400, None),
            ("415 ingress", self.request("POST", "/events", [("Content-Type", "text/plain"),
                                                             cl(ev)], ev), 415, None),
            ("415 control plane",
             self.request("POST", "/api/config/reload", [("Content-Type", "text/plain"),
                                                         ("Content-Length", "0")]),
             415, "unsupported_media_type"),
            ("401 token", self.request("POST", "/api/config/reload", [json_ct,
                                                                       ("Content-Length", "0")]),
             401, "unauthorized"),
            ("403 cross origin",
             self.request("GET", "/api/stats", [("Sec-Fetch-Site", "cross-site")]), 403,
             "cross_origin"),
            ("421 Host", self.request("GET", "/health", [("Host", "rebind.attacker.example")],
                                      host=False), 421, "misdirected_request"),
            ("400 two Hosts", self.request("GET", "/health", [("Host", "localhost")]), 400,
             "bad_request"),
            ("400 HTTP/1.1 without Host", self.request("GET", "/health", host=False), 400,
             "bad_request"),
            ("400 two Content-Length",
             self.request("POST", "/events", [json_ct, cl(ev), ("Content-Length", "2")], ev),
             400, "bad_request"),
            ("400 Content-Length and Transfer-Encoding",
             self.request("POST", "/events", [json_ct, cl(ev), ("Transfer-Encoding", "chunked")],
                          ev), 400, "bad_request"),
            ("400 two Transfer-Encoding",
             self.request("POST", "/events", [json_ct, ("Transfer-Encoding", "chunked"),
                                              ("Transfer-Encoding", "chunked")], b"0\r\n\r\n"),
             400, "bad_request"),
            ("501 gzip transfer coding",
             self.request("POST", "/events", [json_ct, ("Transfer-Encoding", "gzip, chunked")],
                          b"0\r\n\r\n"), 501, "not_implemented"),
            ("414 target", self.request("GET", "/api/events?domain=" + "a" * 8200), 414,
             "uri_too_long"),
            ("414 target of a POST",
             self.request("POST", "/events?" + "a" * 9000, [json_ct, cl(ev)], ev), 414,
             "uri_too_long"),
            ("431 header bytes", self.request("GET", "/health", [("X-Big", "b" * 17000)]), 431,
             "headers_too_large"),
            ("431 header count",
             self.request("GET", "/health", [("X-%d" % i, "v") for i in range(101)]), 431,
             "headers_too_large"),
        ]
        for what, data, status, error in cases:
            self.check(what, self.send(data), status, error)
        # Just inside the limits: answered normally.
        self.assertEqual(self.send(self.request("GET", "/health?" + "a" * 8000)).status, 200)
        self.assertEqual(self.send(self.request("GET", "/health",
                                                [("X-Big", "b" * 15000)])).status, 200)
        self.assertEqual(self.send(self.request("GET", "/health",
                                                [("X-%d" % i, "v") for i in range(90)])).status,
                         200)
        # HTTP/1.0 may leave Host out.
        r = self.send(b"GET /health HTTP/1.0\r\n\r\n")
        self.assertEqual(r.status, 200, r)
        # Nothing of the refused requests reached the stream.
        self.assertEqual(self.ns.client().stream_info("EVENTS")["state"]["messages"], 0)

    def test_versioned_paths_and_aliases(self):
        """Every control-plane path answers under /api/v1/ and under its pre-v1 alias,
        with the same access rule; a path served by two routes (GET and POST
        /api/v1/dlq) names both methods in Allow."""
        auth = ("Authorization", "Bearer " + TOKEN)
        json_ct = ("Content-Type", "application/json")
        for v1, old in (("/api/v1/stats", "/api/stats"), ("/api/v1/events", "/api/events"),
                        ("/api/v1/config", "/api/config"),
                        ("/api/v1/stream/messages?limit=1", "/api/stream/messages?limit=1"),
                        ("/api/v1/dlq?limit=1", "/api/dlq?limit=1"),
                        ("/api/v1/logs/domains", "/api/logs/domains")):
            a = self.send(self.request("GET", v1))
            b = self.send(self.request("GET", old))
            with self.subTest(path=v1):
                self.assertEqual((a.status, b.status), (200, 200), (a, b))
                self.assertEqual(set(a.json), set(b.json))
        for path in ("/api/v1/config/reload", "/api/config/reload", "/api/v1/dlq/replay",
                     "/api/dlq/replay"):
            with self.subTest(path=path):
                r = self.send(self.request("POST", path, [json_ct, ("Content-Length", "0")]))
                self.check(path + " without the token", r, 401, "unauthorized")
        r = self.send(self.request("POST", "/api/v1/config/reload",
                                   [json_ct, auth, ("Content-Length", "0")]))
        self.assertEqual(r.status, 200, r)
        for path in ("/api/v1/dlq", "/api/dlq/7"):
            r = self.send(self.request("PUT", path, [json_ct, ("Content-Length", "0")]))
            self.check("PUT " + path, r, 405, "method_not_allowed")
            self.assertEqual(r.headers.get("allow"), "GET, POST", r)
        # A prefix route ends at a segment: /api/v1/dlqX is no dead-letter path.
        r = self.send(self.request("GET", "/api/v1/dlqX", [auth]))
        self.check("GET /api/v1/dlqX", r, 404, "not_found")
        # /health lists the sources through the one source interface.
        h = self.send(self.request("GET", "/health")).json
        self.assertEqual(h["esl"], [])
        self.assertEqual([(s["name"], s["state"]) for s in h["ingress"]], [("http", "accepting")])

    def test_no_smuggling(self):
        """What follows a body with two framings is never read as a request."""
        ev = json.dumps({"domain": "example.com", "event_id": "smuggle"}).encode()
        hidden = self.request("POST", "/events", [("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(ev)))], ev,
                              close=False)
        for headers, body in (
                ([("Content-Length", "0"), ("Content-Length", str(len(hidden)))], hidden),
                ([("Content-Length", str(len(hidden))), ("Content-Length", "0")], hidden),
                ([("Transfer-Encoding", "chunked"), ("Content-Length", str(len(hidden) + 5))],
                 b"0\r\n\r\n" + hidden),
                # a space before the colon: a proxy may read it as Transfer-Encoding
                ([("Transfer-Encoding ", "chunked"), ("Content-Length", str(len(hidden) + 5))],
                 b"0\r\n\r\n" + hidden),
        ):
            with self.subTest(headers=headers):
                data = self.request("POST", "/events",
                                    [("Content-Type", "application/json")] + headers, body,
                                    close=False)
                self.assertEqual(self.answers(data), [b"HTTP/1.1 400 Bad Request"])
        self.assertEqual(self.ns.client().stream_info("EVENTS")["state"]["messages"], 0)
        # A plain keep-alive pipeline still works: two requests, two answers, two events.
        last = self.request("POST", "/events", [("Content-Type", "application/json"),
                                                ("Content-Length", str(len(ev)))], ev)
        self.assertEqual(self.answers(hidden + last),
                         [b"HTTP/1.1 202 Accepted", b"HTTP/1.1 202 Accepted"])
        self.crm.wait_for(1)
        self.assertEqual(self.crm.count(), 1)  # one event_id, stored once

    def test_left_to_libmicrohttpd(self):
        """Documented: libmicrohttpd's own (HTML) answers, past eventhub's reach."""
        r = self.send(self.request("POST", "/events", [("Content-Type", "application/json"),
                                                       ("Content-Length", "+3")], b"{}x"))
        self.assertEqual(r.status, 400, r)
        r = self.send(self.request("GET", "/health?" + "a" * 70000))
        self.assertEqual(r.status, 414, r)
        r = self.send(self.request("GET", "/health", [("X-Big", "b" * 70000)]))
        self.assertEqual(r.status, 431, r)
        # the server is fine afterwards
        self.assertEqual(self.eh.health().status, 200)


if __name__ == "__main__":
    harness.main()
