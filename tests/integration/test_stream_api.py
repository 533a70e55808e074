#!/usr/bin/env python3
"""
GET /api/stream/messages: the newest messages of the event stream first, each with
sequence, subject, RFC 3339 time, headers and data (JSON as JSON, text as a string,
binary as base64), the stream totals and the consumer's pending counts; `limit` and
`before` page through it, `domain` keeps one domain's subject. Bad parameters are
400 with a JSON error.
"""

import base64

import harness
from harness import base_config


class StreamApi(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        routes = [{"domain": "a.example.com", "endpoints": [self.rcv.url("/a")]},
                  {"domain": "b.example.com", "endpoints": [self.rcv.url("/b")]}]
        self.eh = self.eventhub(base_config(self.ns.url, routes))

    def get(self, query=""):
        r = self.eh.request("GET", "/api/stream/messages" + query)
        return r

    def post_some(self):
        acks = []
        for i in range(5):
            acks.append(self.assert_accepted(self.eh.post_event({"domain": "a.example.com", "n": i})))
        for i in range(3):
            acks.append(self.assert_accepted(self.eh.post_event({"domain": "b.example.com", "n": i})))
        self.rcv.wait_for(8)
        self.wait_consumer_idle(self.ns)
        return acks

    def test_shape_and_order(self):
        acks = self.post_some()
        r = self.get()
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertEqual(j["stream"], "EVENTS")
        t = j["totals"]
        self.assertEqual((t["messages"], t["first_seq"], t["last_seq"]), (8, 1, 8), t)
        self.assertGreater(t["bytes"], 0)
        self.assertEqual(t["consumers"], 1)
        c = j["consumer"]
        self.assertEqual(c["name"], "eventhub")
        self.assertEqual((c["pending"], c["ack_pending"]), (0, 0), c)
        self.assertEqual(j["limit"], 50)
        self.assertFalse(j["truncated"])
        msgs = j["messages"]
        self.assertEqual([m["seq"] for m in msgs], list(range(8, 0, -1)))
        by_seq = {a["stream_seq"]: a for a in acks}
        for m in msgs:
            harness.RFC3339_MS_UTC_RE.match(m["time"]) or self.fail(m)
            self.assertIsInstance(m["data"], dict, m)
            self.assertEqual(m["data"]["event_id"], by_seq[m["seq"]]["event_id"], m)
            # "<event_id> <domain>": the duplicate window is per domain.
            self.assertEqual(m["headers"]["Nats-Msg-Id"],
                             by_seq[m["seq"]]["event_id"] + " " + m["data"]["domain"], m)
            want = "events.a_example_com" if m["data"]["domain"] == "a.example.com" else "events.b_example_com"
            self.assertEqual(m["subject"], want, m)

    def test_limit_and_paging(self):
        self.post_some()
        p1 = self.get("?limit=3").json
        self.assertEqual([m["seq"] for m in p1["messages"]], [8, 7, 6])
        self.assertTrue(p1["truncated"])
        p2 = self.get("?limit=3&before=%d" % p1["next_before"]).json
        self.assertEqual([m["seq"] for m in p2["messages"]], [5, 4, 3])
        p3 = self.get("?limit=3&before=%d" % p2["next_before"]).json
        self.assertEqual([m["seq"] for m in p3["messages"]], [2, 1])
        self.assertFalse(p3["truncated"])
        self.assertNotIn("next_before", p3)
        self.assertEqual(self.eh.stop(), 0)

    def test_domain_filter(self):
        self.post_some()
        j = self.get("?domain=b.example.com").json
        self.assertEqual(j["domain"], "b.example.com")
        self.assertEqual(j["subject"], "events.b_example_com")
        self.assertEqual(j["domain_messages"], 3)
        self.assertEqual([m["seq"] for m in j["messages"]], [8, 7, 6])
        self.assertTrue(all(m["data"]["domain"] == "b.example.com" for m in j["messages"]))
        self.assertFalse(j["truncated"])
        j = self.get("?domain=a.example.com&limit=2").json
        self.assertEqual([m["seq"] for m in j["messages"]], [5, 4])
        self.assertTrue(j["truncated"])
        j2 = self.get("?domain=a.example.com&limit=10&before=%d" % j["next_before"]).json
        self.assertEqual([m["seq"] for m in j2["messages"]], [3, 2, 1])
        j = self.get("?domain=nobody.example.com").json
        self.assertEqual((j["messages"], j["domain_messages"], j["truncated"]), ([], 0, False), j)

    def test_data_that_is_not_json(self):
        c = self.ns.client()
        c.publish_js("events.x_example_com", b"plain text, not json")
        c.publish_js("events.x_example_com", b"\xff\xfe\x00binary")
        c.publish_js("events.x_example_com", b'{"domain":"x.example.com","big":12345678901234567890}')
        j = self.get("?domain=x.example.com").json
        m3, m2, m1 = j["messages"]
        self.assertEqual(m1["data"], "plain text, not json")
        self.assertNotIn("data", m2)
        self.assertEqual(base64.b64decode(m2["data_base64"]), b"\xff\xfe\x00binary")
        # JSON data is embedded with its bytes as stored: the 20-digit number survives.
        raw = self.get("?domain=x.example.com&limit=1").raw
        self.assertIn(b'"big":12345678901234567890', raw)
        self.assertNotIn("headers", m1)
        self.assertEqual(self.eh.stop(), 0)  # a clean exit (and, under ASan, no leak)

    def test_bad_parameters(self):
        for q in ("?limit=0", "?limit=1001", "?limit=abc", "?limit=%2B5", "?before=0", "?before=x",
                  "?domain=" + "d" * 300, "?domain=a%00b"):
            with self.subTest(query=q):
                self.assert_error_body(self.get(q), 400)
        self.assert_error_body(self.eh.request("POST", "/api/stream/messages"), 405)
        self.assert_error_body(self.eh.request("GET", "/api/stream"), 404)

    def test_empty_stream(self):
        j = self.get().json
        self.assertEqual(j["messages"], [])
        self.assertEqual(j["totals"]["messages"], 0)
        self.assertFalse(j["truncated"])


if __name__ == "__main__":
    harness.main()
