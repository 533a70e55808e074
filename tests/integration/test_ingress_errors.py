#!/usr/bin/env python3
"""
Ingress refusals: every 4xx the contract names, 404, and /health — each checked for
status, a JSON {"error","detail"} body, and that nothing reached the stream.
"""

import http.client
import json

import harness
from harness import base_config


MAX_BODY = 4096


class IngressErrors(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver()
        self.eh = self.eventhub(base_config(
            self.ns.url,
            [{"domain": "example.com", "endpoints": [self.rcv.url()]}],
            server={"max_body_bytes": MAX_BODY}))

    def stored(self):
        return self.ns.client().stream_info("EVENTS")["state"]["messages"]

    def check_refused(self, resp, status, what):
        with self.subTest(what=what):
            self.assert_error_body(resp, status)
            ct = resp.headers.get("content-type", "")
            self.assertTrue(ct.startswith("application/json"),
                            "%s: error Content-Type is %r" % (what, ct))

    def test_bad_bodies_are_400_and_nothing_is_stored(self):
        before = self.stored()
        cases = [
            ("truncated JSON", b'{"domain": "example.com"'),
            ("garbage", b"not json at all"),
            ("trailing garbage after the object", b'{"domain":"example.com"} x'),
            ("two objects", b'{"domain":"example.com"}{"domain":"example.com"}'),
            ("empty body", b""),
            ("only whitespace", b"  \n "),
            ("unterminated string", b'{"domain":"example.com'),
            ("array", b'[{"domain":"example.com"}]'),
            ("string", b'"example.com"'),
            ("number", b"42"),
            ("null", b"null"),
            ("true", b"true"),
            ("missing domain", b'{"type":"call.started","id":1}'),
            ("empty object", b"{}"),
            ("empty domain", b'{"domain":""}'),
            ("numeric domain", b'{"domain":42}'),
            ("null domain", b'{"domain":null}'),
            ("object domain", b'{"domain":{"name":"example.com"}}'),
            ("array domain", b'{"domain":["example.com"]}'),
            ("boolean domain", b'{"domain":true}'),
            ("domain of 256 bytes", json.dumps({"domain": "a" * 252 + ".com"}).encode()),
            ("domain of 256 bytes (multibyte)", json.dumps({"domain": "\u00e9" * 128},
                                                           ensure_ascii=False).encode()),
        ]
        for what, body in cases:
            resp = self.eh.post_event(body)
            self.check_refused(resp, 400, what)
        self.assertEqual(self.stored(), before, "a refused body was stored")
        self.assertEqual(self.rcv.count(), 0, "a refused body was delivered")

    def test_json_text_must_be_valid_utf8_without_raw_control_chars(self):
        # RFC 8259: JSON text is UTF-8 and control characters inside strings must be
        # escaped. Accepting these stores events that strict receivers cannot parse
        # (Python's json.loads, for one), so they would fail at every endpoint.
        before = self.stored()
        cases = [
            ("raw control char (U+0001) in a string", b'{"domain":"example.com","x":"a\x01b"}'),
            ("raw newline in a string", b'{"domain":"example.com","x":"a\nb"}'),
            ("invalid UTF-8 in a string", b'{"domain":"example.com","x":"\xff\xfe"}'),
            ("overlong UTF-8 encoding", b'{"domain":"example.com","x":"\xc0\xaf"}'),
            ("invalid UTF-8 in the domain", b'{"domain":"ex\xffample.com"}'),
        ]
        for what, body in cases:
            self.check_refused(self.eh.post_event(body), 400, what)
        self.assertEqual(self.stored(), before, "a body that is not valid JSON text was stored")

    def test_body_over_limit_is_413(self):
        before = self.stored()
        pad = MAX_BODY  # whole body = pad + overhead > MAX_BODY
        body = json.dumps({"domain": "example.com", "pad": "x" * pad}).encode()
        resp = self.eh.post_event(body)
        self.check_refused(resp, 413, "Content-Length over the limit")

        # Chunked upload without Content-Length: the ceiling must hold while reading.
        conn = http.client.HTTPConnection(self.eh.host, self.eh.port, timeout=10)
        try:
            def chunks():
                yield b'{"domain":"example.com","pad":"'
                for _ in range(8):
                    yield b"y" * 1024
                yield b'"}'
            conn.request("POST", "/events", body=chunks(),
                         headers={"Content-Type": "application/json"}, encode_chunked=True)
            r = conn.getresponse()
            resp = harness.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        except (ConnectionError, http.client.HTTPException) as e:
            self.fail("chunked over-limit upload: connection failed instead of 413: %r" % (e,))
        finally:
            conn.close()
        self.check_refused(resp, 413, "chunked body over the limit")
        self.assertEqual(self.stored(), before, "an oversized body was stored")

        # The limit is inclusive: a body of exactly max_body_bytes is accepted.
        head = b'{"domain":"example.com","pad":"'
        tail = b'"}'
        exact = head + b"z" * (MAX_BODY - len(head) - len(tail)) + tail
        self.assertEqual(len(exact), MAX_BODY)
        self.assert_accepted(self.eh.post_event(exact))
        self.assertEqual(self.stored(), before + 1)

    def test_wrong_content_type_is_415(self):
        before = self.stored()
        body = b'{"domain":"example.com"}'
        for ct in ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                   "application/jsonp", "multipart/form-data; boundary=x", None]:
            resp = self.eh.post_event(body, content_type=ct)
            self.check_refused(resp, 415, "Content-Type %r" % (ct,))
        self.assertEqual(self.stored(), before, "a body with a wrong content type was stored")
        # Parameters are allowed.
        self.assert_accepted(self.eh.post_event(body, content_type="application/json; charset=utf-8"))
        self.assertEqual(self.stored(), before + 1)

    def test_other_methods_on_events_are_405_with_allow(self):
        before = self.stored()
        for method in ["GET", "PUT", "DELETE", "PATCH"]:
            body = None if method in ("GET", "DELETE") else b'{"domain":"example.com"}'
            resp = self.eh.request(method, "/events", body=body,
                                   headers={"Content-Type": "application/json"})
            self.check_refused(resp, 405, method)
            allow = resp.headers.get("allow")
            self.assertIsNotNone(allow, "%s /events: 405 without an Allow header" % method)
            self.assertIn("POST", [m.strip() for m in allow.split(",")],
                          "%s /events: Allow %r does not list POST" % (method, allow))
        self.assertEqual(self.stored(), before)

    def test_unknown_paths_are_404(self):
        before = self.stored()
        # (GET / is the dashboard: web_ui; test_web_ui covers its 404s.)
        for method, path in [("POST", "/"), ("GET", "/nope"), ("POST", "/event"),
                             ("POST", "/events/extra"), ("POST", "/eventsx"), ("GET", "/healthz")]:
            resp = self.eh.request(method, path, body=b'{"domain":"example.com"}',
                                   headers={"Content-Type": "application/json"})
            self.check_refused(resp, 404, "%s %s" % (method, path))
        self.assertEqual(self.stored(), before)

    def test_health_reports_connected(self):
        resp = self.eh.health()
        self.assertEqual(resp.status, 200, resp)
        self.assertIsInstance(resp.json, dict, resp.raw)
        self.assertEqual(resp.json.get("status"), "ok", resp.json)
        self.assertEqual(resp.json.get("nats"), "connected", resp.json)

    def test_deeply_nested_body_does_not_hurt_the_service(self):
        # As deep as fits under the body limit, so the JSON scanner (not the size
        # check) has to cope with it.
        depth = (MAX_BODY - 64) // 2
        body = b'{"domain":"example.com","deep":' + b"[" * depth + b"]" * depth + b"}"
        resp = self.eh.post_event(body)
        self.assertIn(resp.status, (202, 400), "deep nesting: %r" % (resp,))
        if resp.status == 400:
            self.assert_error_body(resp, 400)
        self.assertTrue(self.eh.running, "eventhub died on a deeply nested body")
        self.assertEqual(self.eh.health().status, 200)

    def test_errors_leave_the_service_usable_and_logs_are_json(self):
        # After a burst of refusals on one keep-alive connection, a good event still works.
        conn = http.client.HTTPConnection(self.eh.host, self.eh.port, timeout=10)
        try:
            for body in [b"{", b"[]", b'{"domain":1}']:
                conn.request("POST", "/events", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 400)
            conn.request("POST", "/events", body=b'{"domain":"example.com","n":1}',
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(r.status, 202, data)
        finally:
            conn.close()
        self.rcv.wait_for(1, timeout=10)
        lines = self.eh.log_lines()
        self.assertTrue(lines, "eventhub logged nothing on stderr")
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("stderr line is not JSON: %r" % line)
            self.assertIn(obj.get("level"), ("debug", "info", "warn", "error"), line)
            self.assertIsInstance(obj.get("subsystem"), str, line)
            self.assertIsInstance(obj.get("msg"), str, line)


if __name__ == "__main__":
    harness.main()
