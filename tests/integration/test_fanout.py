#!/usr/bin/env python3
"""
Fan-out: every endpoint of a domain gets each event once, concurrently, with the
documented headers (and its own configured ones); other domains' endpoints get
nothing; the default route catches domains without a route of their own.
"""

import json

import harness
from harness import base_config


class Fanout(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.a = self.receiver(name="a")
        self.b = self.receiver(name="b")
        self.c = self.receiver(name="c")
        self.other = self.receiver(name="other")
        self.default = self.receiver(name="default")
        self.eh = self.eventhub(base_config(self.ns.url, [
            {"domain": "example.com", "endpoints": [
                self.a.url("/hook-a"),
                self.b.url("/hook-b"),
                {"url": self.c.url("/hook-c"), "timeout": "2s",
                 "headers": {"X-Token": "abc", "X-Tenant": "example"}},
            ]},
            {"domain": "other.org", "endpoints": [self.other.url("/other")]},
            {"domain": "*", "endpoints": [self.default.url("/catch-all")]},
        ]))
        self.all = [self.a, self.b, self.c, self.other, self.default]

    def check_delivery(self, req, event_id, domain, path):
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.path, path)
        self.assertTrue((req.header("content-type") or "").startswith("application/json"),
                        req.headers)
        self.assertEqual(req.header("x-event-id"), event_id, req.headers)
        self.assertEqual(req.header("x-delivery-attempt"), "1", req.headers)
        self.assertEqual(req.header("x-domain"), domain, req.headers)
        body = req.json()
        self.assertEqual(body["event_id"], event_id)
        self.assertEqual(body["domain"], domain)
        self.assertEqual(body["delivery_attempt"], 1)

    def test_each_endpoint_of_the_domain_gets_the_event_once(self):
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "type": "call.started"}))
        eid = j["event_id"]
        for rcv, path in [(self.a, "/hook-a"), (self.b, "/hook-b"), (self.c, "/hook-c")]:
            reqs = rcv.wait_for(1, timeout=10)
            self.check_delivery(reqs[0], eid, "example.com", path)
        self.assertEqual(self.c.requests[0].header("x-token"), "abc")
        self.assertEqual(self.c.requests[0].header("x-tenant"), "example")
        self.assertIsNone(self.a.requests[0].header("x-token"), "a got c's configured header")
        self.assertIsNone(self.b.requests[0].header("x-token"), "b got c's configured header")

        self.wait_consumer_idle(self.ns)
        for rcv in (self.a, self.b, self.c):
            self.assertEqual(rcv.count(), 1, "%s: %r" % (rcv.name, rcv.requests))
        self.assertEqual(self.other.count(), 0, "other.org's endpoint got example.com's event")
        self.assertEqual(self.default.count(), 0, "the default route got a routed event")

    def test_other_domain_and_default_route(self):
        j1 = self.assert_accepted(self.eh.post_event({"domain": "other.org", "n": 1}))
        j2 = self.assert_accepted(self.eh.post_event({"domain": "unknown.net", "n": 2}))
        r1 = self.other.wait_for(1, timeout=10)[0]
        self.check_delivery(r1, j1["event_id"], "other.org", "/other")
        r2 = self.default.wait_for(1, timeout=10)[0]
        self.check_delivery(r2, j2["event_id"], "unknown.net", "/catch-all")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.other.count(), 1, self.other.requests)
        self.assertEqual(self.default.count(), 1, self.default.requests)
        for rcv in (self.a, self.b, self.c):
            self.assertEqual(rcv.count(), 0, "%s got another domain's event" % rcv.name)

    def test_many_events_reach_every_endpoint_exactly_once(self):
        n = 50
        ids = []
        for i in range(n):
            ids.append(self.assert_accepted(self.eh.post_event({"domain": "example.com", "i": i}))["event_id"])
        for rcv in (self.a, self.b, self.c):
            rcv.wait_for(n, timeout=20)
        self.wait_consumer_idle(self.ns)
        for rcv in (self.a, self.b, self.c):
            counts = rcv.event_ids()
            self.assertEqual(set(counts), set(ids), rcv.name)
            self.assertEqual(sorted(set(counts.values())), [1], "%s got duplicates" % rcv.name)
            for r in rcv.requests:
                self.assertEqual(r.json()["delivery_attempt"], 1)

    def test_endpoints_are_called_concurrently(self):
        for rcv in (self.a, self.b, self.c):
            rcv.delay = 1.0
        self.assert_accepted(self.eh.post_event({"domain": "example.com", "slow": True}))
        reqs = [rcv.wait_for(1, timeout=10)[0] for rcv in (self.a, self.b, self.c)]
        starts = [r.time for r in reqs]
        spread = max(starts) - min(starts)
        self.assertLess(spread, 0.7, "endpoints were called one after another (start spread %.2fs)" % spread)


if __name__ == "__main__":
    harness.main()
