#!/usr/bin/env python3
"""
Byte fidelity: what a sender posts is what the stream stores and the endpoint receives,
member for member; eventhub only appends event_id / received_at (stored) and
delivery_attempt (delivered). Also: sender-supplied ids, duplicates, subjects.
"""

import datetime
import json
import time

import harness
from harness import base_config, raw_members, UUID4_RE, RFC3339_MS_UTC_RE

# Odd whitespace between tokens, a 20-digit integer, an exponent, nested containers,
# raw UTF-8 (2-, 3- and 4-byte sequences), \u escapes including a surrogate pair,
# escaped quotes, backslash, solidus and control escapes. Ends right after the last
# value so "sent minus the closing brace" is a prefix of what comes out.
TRICKY = (b'{ "domain" :\t"example.com" ,\n  "big": 12345678901234567890,"neg":-0.0E+10,'
          b'\r\n"nested" : { "a" : [ 1 , 2.50 , { "b" : null } ] , "t":true, "f" :false },'
          b'"uni":"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",'
          b'"esc":"\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\n\\t\\r\\b\\f",'
          b'"k\\u00e9y":1e400,"empty":{},"arr":[],"float":0.1000000000000000055511151231257827}')


def parse_tail(tail):
    """`tail` is what follows the sender's last member: ',"k":v,...}'. Returns the
    members as an ordered list of (key, value)."""
    assert tail.startswith(b","), "appended part does not start with ',': %r" % tail[:80]
    return json.loads(b"{" + tail[1:], object_pairs_hook=list)


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Fidelity(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver()
        self.eh = self.eventhub(base_config(
            self.ns.url,
            [{"domain": "example.com", "endpoints": [self.rcv.url()]},
             {"domain": "*", "endpoints": [self.rcv.url("/default")]}]))

    def post_and_fetch(self, body):
        t0 = time.time()
        j = self.assert_accepted(self.eh.post_event(body))
        t1 = time.time()
        stored = self.ns.client().get_msg("EVENTS", j["stream_seq"])
        return j, stored, (t0, t1)

    def test_tricky_body_is_kept_byte_for_byte(self):
        json.loads(TRICKY)  # the fixture itself is valid JSON
        j, stored, (t0, t1) = self.post_and_fetch(TRICKY)
        self.assertFalse(j["duplicate"])
        self.assertRegex(j["event_id"], UUID4_RE)

        # Stored: sender bytes minus '}' + ,"event_id":..,"received_at":..}
        data = stored["data"]
        prefix = TRICKY[:-1]
        self.assertTrue(data.startswith(prefix),
                        "stored bytes differ from the sent bytes:\nsent:   %r\nstored: %r" % (TRICKY, data))
        appended = parse_tail(data[len(prefix):])
        self.assertEqual([k for k, _ in appended], ["event_id", "received_at"],
                         "stored event appended %r" % (appended,))
        app = dict(appended)
        self.assertEqual(app["event_id"], j["event_id"])
        self.assertRegex(app["event_id"], UUID4_RE)
        self.assertRegex(app["received_at"], RFC3339_MS_UTC_RE)
        ts = parse_ts(app["received_at"])
        self.assertTrue(t0 - 2 <= ts <= t1 + 2, "received_at %s is not the receive time" % app["received_at"])
        self.assertEqual(stored["subject"], "events.example_com")

        # Delivered: the stored bytes minus '}' + ,"delivery_attempt":1}
        req = self.rcv.wait_for(1, timeout=10)[0]
        body = req.body
        self.assertTrue(body.startswith(prefix),
                        "delivered bytes differ from the sent bytes:\nsent:      %r\ndelivered: %r" % (TRICKY, body))
        delivered_appended = parse_tail(body[len(prefix):])
        self.assertEqual([k for k, _ in delivered_appended], ["event_id", "received_at", "delivery_attempt"],
                         "delivered body appended %r" % (delivered_appended,))
        self.assertEqual(dict(delivered_appended)["delivery_attempt"], 1)
        self.assertEqual(dict(delivered_appended)["event_id"], j["event_id"])
        self.assertEqual(dict(delivered_appended)["received_at"], app["received_at"])
        self.assertEqual(body, data[:-1] + body[len(data) - 1:],
                         "delivered body is not the stored body with delivery_attempt appended")
        self.assertEqual(req.header("x-event-id"), j["event_id"])

    def test_whitespace_around_the_object_keeps_members_identical(self):
        sent = b' \r\n{ "domain" : "example.com" ,\t"x" : [1,2] , "s":"a\\u0000b" }\n '
        j, stored, _ = self.post_and_fetch(sent)
        sent_members = raw_members(sent)
        got = raw_members(stored["data"])
        self.assertEqual(got[:len(sent_members)], sent_members,
                         "stored members differ: %r" % (stored["data"],))
        self.assertEqual([k for k, _ in got[len(sent_members):]], [b'"event_id"', b'"received_at"'])
        json.loads(stored["data"])
        req = self.rcv.wait_for(1, timeout=10)[0]
        dgot = raw_members(req.body)
        self.assertEqual(dgot[:len(sent_members)], sent_members,
                         "delivered members differ: %r" % (req.body,))
        self.assertEqual([k for k, _ in dgot[len(sent_members):]],
                         [b'"event_id"', b'"received_at"', b'"delivery_attempt"'])
        self.assertEqual(dgot[-1][1], b"1")

    def test_sender_event_id_and_received_at_are_kept(self):
        # Own event_id: kept, not appended again.
        sent = b'{"domain":"example.com","event_id":"evt-000042","n":1}'
        j, stored, _ = self.post_and_fetch(sent)
        self.assertEqual(j["event_id"], "evt-000042")
        self.assertTrue(stored["data"].startswith(sent[:-1]), stored["data"])
        tail = parse_tail(stored["data"][len(sent) - 1:])
        self.assertEqual([k for k, _ in tail], ["received_at"], stored["data"])

        # Own received_at (any format the sender likes): kept as sent, not appended.
        sent2 = b'{"domain":"example.com","received_at":"2020-01-01T00:00:00Z","n":2}'
        j2, stored2, _ = self.post_and_fetch(sent2)
        self.assertTrue(stored2["data"].startswith(sent2[:-1]), stored2["data"])
        tail2 = parse_tail(stored2["data"][len(sent2) - 1:])
        self.assertEqual([k for k, _ in tail2], ["event_id"], stored2["data"])
        self.assertEqual(dict(tail2)["event_id"], j2["event_id"])

        # Both: stored exactly as sent; delivered with only delivery_attempt appended.
        sent3 = b'{"received_at":"2021-05-06T07:08:09.123Z","event_id":"evt-000043","domain":"example.com"}'
        j3, stored3, _ = self.post_and_fetch(sent3)
        self.assertEqual(j3["event_id"], "evt-000043")
        self.assertEqual(stored3["data"], sent3)
        reqs = harness.wait_until(lambda: self.rcv.requests_for("evt-000043"), 10, "delivery of evt-000043")
        self.assertEqual(reqs[0].body, sent3[:-1] + b',"delivery_attempt":1}')

    def test_generated_ids_are_unique_uuid4(self):
        ids = set()
        for i in range(20):
            j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "i": i}))
            self.assertRegex(j["event_id"], UUID4_RE)
            ids.add(j["event_id"])
        self.assertEqual(len(ids), 20, "event ids repeat")

    def test_duplicate_event_id_is_stored_once(self):
        ev = {"domain": "example.com", "event_id": "dup-1", "n": 1}
        first = self.assert_accepted(self.eh.post_event(ev))
        self.assertFalse(first["duplicate"])
        self.assertEqual(first["event_id"], "dup-1")
        count_after_first = self.ns.client().stream_info("EVENTS")["state"]["messages"]
        second = self.assert_accepted(self.eh.post_event(ev))
        self.assertTrue(second["duplicate"], second)
        self.assertEqual(second["stream_seq"], first["stream_seq"])
        self.assertEqual(second["event_id"], "dup-1")
        # Same id, different payload: still the same event.
        third = self.assert_accepted(self.eh.post_event({"domain": "example.com", "event_id": "dup-1", "n": 2}))
        self.assertTrue(third["duplicate"], third)
        self.assertEqual(third["stream_seq"], first["stream_seq"])
        self.assertEqual(self.ns.client().stream_info("EVENTS")["state"]["messages"], count_after_first)

        self.rcv.wait_for(1, timeout=10, pred=lambda r: r.event_id == "dup-1")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(len(self.rcv.requests_for("dup-1")), 1,
                         "duplicate delivered: %r" % (self.rcv.requests_for("dup-1"),))
        self.assertIn(b'"n":1', self.rcv.requests_for("dup-1")[0].body)

    def test_idempotency_key_becomes_the_event_id(self):
        ev = {"domain": "example.com", "n": 1}
        key = {"Idempotency-Key": "order-4711"}
        first = self.assert_accepted(self.eh.post_event(ev, headers=key))
        self.assertEqual((first["event_id"], first["duplicate"]), ("order-4711", False))
        # The upstream retries the same POST: stored once, delivered once.
        second = self.assert_accepted(self.eh.post_event(ev, headers=key))
        self.assertEqual((second["event_id"], second["duplicate"]), ("order-4711", True))
        self.assertEqual(second["stream_seq"], first["stream_seq"])
        self.rcv.wait_for(1, timeout=10, pred=lambda r: r.event_id == "order-4711")
        self.wait_consumer_idle(self.ns)
        (call,) = self.rcv.requests_for("order-4711")
        self.assertEqual(json.loads(call.body)["event_id"], "order-4711")
        # A bad key, or one that contradicts the body's event_id: 400, nothing stored.
        before = self.ns.client().stream_info("EVENTS")["state"]["messages"]
        for headers, body in (({"Idempotency-Key": "has space"}, ev),
                              ({"Idempotency-Key": "k" * 129}, ev),
                              ({"Idempotency-Key": "a"}, dict(ev, event_id="b"))):
            r = self.eh.post_event(body, headers=headers)
            self.assert_error_body(r, 400)
            self.assertEqual(r.json["error"], "invalid_event_id", r)
        same = self.assert_accepted(self.eh.post_event(dict(ev, event_id="c"),
                                                       headers={"Idempotency-Key": "c"}))
        self.assertEqual(same["event_id"], "c")
        self.assertEqual(self.ns.client().stream_info("EVENTS")["state"]["messages"], before + 1)

    def test_subject_encoding(self):
        long_domain = "a" * 251 + ".com"
        cases = [
            ("example.com", "example_com"),
            ("Sub_Domain.Example-1.COM", "Sub%5FDomain_Example-1_COM"),
            ("a b*c>d", "a%20b%2Ac%3Ed"),
            ("tenant/x:y", "tenant%2Fx%3Ay"),
            ("\u00e9.fr", "%C3%A9_fr"),
            ("100%", "100%25"),
            (long_domain, "a" * 251 + "_com"),
        ]
        for domain, token in cases:
            with self.subTest(domain=domain):
                body = json.dumps({"domain": domain}, ensure_ascii=False).encode()
                j, stored, _ = self.post_and_fetch(body)
                self.assertEqual(stored["subject"], "events." + token)
                self.assertEqual(json.loads(stored["data"])["domain"], domain)
        # Each reached its route (example.com) or the default route.
        def delivered_domains():
            out = {}
            for r in self.rcv.requests:
                try:
                    out[r.json()["domain"]] = r
                except (ValueError, KeyError):
                    pass
            return out if set(out) >= {d for d, _ in cases} else None
        got = harness.wait_until(delivered_domains, 15, "every domain delivered")
        for domain, _ in cases:
            req = got[domain]
            self.assertEqual(req.path, "/hook" if domain == "example.com" else "/default", domain)
            if domain.isascii():
                self.assertEqual(req.header("x-domain"), domain)

if __name__ == "__main__":
    harness.main()
