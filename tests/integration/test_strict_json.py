#!/usr/bin/env python3
"""
Ingress reads JSON exactly as RFC 8259 defines it, so eventhub and every receiver read
the same event: a byte order mark, numbers RFC 8259 forbids, NaN, duplicate keys
(also spelled with escapes), and U+0000 in domain or event_id are refused with
400 invalid_json / invalid_domain / invalid_event_id, nothing is stored, and the
service stays up. A request that once crashed eventhub (a BOM) is among them.
"""

import json

import harness
from harness import base_config


class StrictJson(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver()
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.rcv.url()]},
                          {"domain": "tenant-b.example", "endpoints": [self.rcv.url("/b")]}]))

    def stored(self):
        return self.ns.client().stream_info("EVENTS")["state"]["messages"]

    def refused(self, body, error, what):
        resp = self.eh.post_event(body)
        with self.subTest(what=what):
            self.assert_error_body(resp, 400)
            self.assertEqual(resp.json["error"], error, "%s: %r" % (what, resp.json))
        return resp

    def test_bom_is_refused_and_does_not_crash(self):
        before = self.stored()
        resp = self.refused(b'\xef\xbb\xbf{"domain":"example.com"}', "invalid_json", "BOM")
        self.assertIn("byte order mark", resp.json["detail"])
        self.assertTrue(self.eh.running, "eventhub died on a body with a byte order mark")
        self.assertEqual(self.eh.health().status, 200)
        self.assert_accepted(self.eh.post_event({"domain": "example.com", "after": "bom"}))
        self.assertEqual(self.stored(), before + 1)

    def test_numbers_rfc8259_forbids(self):
        before = self.stored()
        for num in [b"01", b"-01", b"1.", b".5", b"+1", b"NaN", b"Infinity", b"-Infinity",
                    b"1e", b"0x1f", b"1.e5"]:
            body = b'{"domain":"example.com","n":' + num + b"}"
            resp = self.refused(body, "invalid_json", num.decode())
            self.assertIn("byte ", resp.json["detail"])
        self.assertEqual(self.stored(), before, "a number RFC 8259 forbids was stored")
        # what is allowed stays byte-exact
        ok = b'{"domain":"example.com","n":[0,-0,1.5e+10,-0.0E-2,12345678901234567890]}'
        eid = self.assert_accepted(self.eh.post_event(ok))["event_id"]
        self.rcv.wait_for(1)
        got = self.rcv.requests_for(eid)[0].body
        self.assertTrue(got.startswith(ok[:-1]), got)
        harness.strict_json(got)

    def test_duplicate_keys_are_refused(self):
        before = self.stored()
        cases = [
            ("two domains", b'{"domain":"example.com","domain":"tenant-b.example"}'),
            ("a domain spelled with an escape",
             b'{"domain":"example.com","dom\\u0061in":"tenant-b.example"}'),
            ("two event_ids", b'{"domain":"example.com","event_id":"a","event_id":"b"}'),
            ("two delivery_attempts",
             b'{"domain":"example.com","delivery_attempt":1,"delivery_attempt":2}'),
            ("any other key", b'{"domain":"example.com","x":1,"x":2}'),
            ("a nested object", b'{"domain":"example.com","x":{"y":1,"y":2}}'),
        ]
        for what, body in cases:
            resp = self.refused(body, "invalid_json", what)
            self.assertIn("duplicate key", resp.json["detail"], what)
        self.assertEqual(self.stored(), before)
        self.assertEqual(self.rcv.count(), 0)

    def test_nul_in_domain_or_event_id(self):
        before = self.stored()
        self.refused(b'{"domain":"example.com\\u0000.evil"}', "invalid_domain", "NUL in domain")
        self.refused(b'{"domain":"example.com","event_id":"id-1\\u0000a"}', "invalid_event_id",
                     "NUL in event_id")
        self.refused(b'{"domain":"example.com","event_id":"id-1\\u0000b"}', "invalid_event_id",
                     "NUL in event_id (second)")
        self.assertEqual(self.stored(), before)

    def test_escaped_keys_are_read_as_receivers_read_them(self):
        # The domain key and value spelled with escapes route like the plain spelling.
        eid = self.assert_accepted(self.eh.post_event(
            b'{"dom\\u0061in":"tenant-b.ex\\u0061mple","x":1}'))["event_id"]
        self.rcv.wait_for(1)
        req = self.rcv.requests_for(eid)[0]
        self.assertEqual(req.path, "/b")
        self.assertEqual(req.header("x-domain"), "tenant-b.example")
        # A sender's escaped delivery_attempt is replaced: the body has exactly one.
        eid2 = self.assert_accepted(self.eh.post_event(
            b'{"domain":"example.com","delivery_\\u0061ttempt":99}'))["event_id"]
        self.rcv.wait_for(2)
        body = harness.strict_json(self.rcv.requests_for(eid2)[0].body)
        self.assertEqual(body["delivery_attempt"], 1, body)

    def test_deep_nesting_is_refused_clearly(self):
        body = b'{"domain":"example.com","deep":' + b"[" * 100 + b"]" * 100 + b"}"
        resp = self.refused(body, "invalid_json", "100 levels")
        self.assertIn("nested too deeply", resp.json["detail"])
        self.assert_accepted(self.eh.post_event(
            b'{"domain":"example.com","deep":' + b"[" * 60 + b"]" * 60 + b"}"))


if __name__ == "__main__":
    harness.main()
