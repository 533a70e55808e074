#!/usr/bin/env python3
"""
GET /api/events: the in-memory history of recent events per domain. A delivered event
shows as successful with its endpoint results; an event whose endpoint keeps failing
shows as failed (will_retry true), then dead_lettered (will_retry false) once
max_deliveries is spent; filters, limits and 400s; history.per_domain bounds what is
kept; big events are kept truncated.
"""

import json
import signal
import threading

import harness
from harness import RFC3339_MS_UTC_RE, base_config


class EventsApi(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.good = self.receiver(status=200, name="good")
        self.bad = self.receiver(status=500, name="bad")

    def start(self, history=None):
        routes = [
            {"domain": "good.test", "endpoints": [self.good.url("/g")]},
            {"domain": "bad.test", "endpoints": [self.bad.url("/b"), self.good.url("/g2")]},
        ]
        cfg = base_config(self.ns.url, routes,
                          nats={"max_deliveries": 2},
                          # 1 s between attempt 1 and 2 leaves time to see "will retry".
                          delivery={"backoff": ["1s"]},
                          history=history or {"per_domain": 5})
        self.eh = self.eventhub(cfg)

    def stop_clean(self):
        """SIGTERM: a clean exit, and nothing from the sanitizers (ASan/UBSan builds)."""
        self.assertEqual(self.eh.stop(signal.SIGTERM), 0)
        bad = [l for l in self.eh.log_lines() if "Sanitizer" in l or "runtime error" in l]
        self.assertEqual(bad, [])

    def events(self, query=""):
        r = self.eh.request("GET", "/api/events" + query)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "application/json", r)
        self.assertIsInstance(r.json, dict, r)
        return r.json

    def find(self, event_id, query=""):
        """(map name, event) for event_id in the current answer, or None."""
        j = self.events(query)
        for name in ("events_by_domain", "failed_events_by_domain"):
            for evs in j[name].values():
                for ev in evs:
                    if ev["event_id"] == event_id:
                        return name, ev
        return None

    def wait_status(self, event_id, status, timeout=15):
        def there():
            got = self.find(event_id)
            return got if got and got[1]["status"] == status else None
        return harness.wait_until(there, timeout, "event %s %s in /api/events" % (event_id, status))

    def check_common(self, ev, domain, accepted, sent):
        self.assertEqual(ev["event_id"], accepted["event_id"], ev)
        self.assertEqual(ev["domain"], domain, ev)
        self.assertEqual(ev["stream_seq"], accepted["stream_seq"], ev)
        for k in ("received_at", "updated_at"):
            self.assertRegex(ev[k], RFC3339_MS_UTC_RE, ev)
        self.assertLessEqual(ev["received_at"], ev["updated_at"], ev)
        self.assertEqual(ev["max_deliver"], 2, ev)
        self.assertIs(ev["truncated"], False, ev)
        p = ev["payload"]
        self.assertIsInstance(p, dict, ev)
        for k, v in sent.items():
            self.assertEqual(p.get(k), v, ev)
        self.assertEqual(p.get("event_id"), accepted["event_id"], ev)
        self.assertNotIn("delivery_attempt", p, "the stored event, not a delivery body")
        self.assertEqual(ev["payload_bytes"], len(json.dumps(p, separators=(",", ":"),
                                                             ensure_ascii=False).encode()), ev)

    def test_successful_and_dead_lettered(self):
        self.start()
        sent_ok = {"domain": "good.test", "call_id": "c-1", "n": 1}
        ok = self.assert_accepted(self.eh.post_event(sent_ok))
        sent_bad = {"domain": "bad.test", "call_id": "c-2", "n": 2}
        bad = self.assert_accepted(self.eh.post_event(sent_bad))

        where, ev = self.wait_status(ok["event_id"], "successful")
        self.assertEqual(where, "events_by_domain")
        self.check_common(ev, "good.test", ok, sent_ok)
        self.assertEqual(ev["delivery_attempt"], 1, ev)
        self.assertIs(ev["will_retry"], False, ev)
        self.assertEqual(ev["endpoints"], [{"url": self.good.url("/g"), "status": 200,
                                            "error": None, "delivered": True, "called": True}], ev)
        self.assertEqual(len(ev["attempts"]), 1, ev)
        a = ev["attempts"][0]
        self.assertEqual((a["attempt"], a["outcome"], a["will_retry"]), (1, "forwarded", False), a)
        self.assertRegex(a["at"], RFC3339_MS_UTC_RE)
        self.assertEqual(a["endpoints"], ev["endpoints"])
        self.assertEqual(ev["attempts_omitted"], 0)

        # Attempt 1 failed at one endpoint: failed, will retry (backoff 1 s).
        where, ev = self.wait_status(bad["event_id"], "failed")
        self.assertEqual(where, "failed_events_by_domain")
        self.assertIs(ev["will_retry"], True, ev)
        self.assertEqual(ev["delivery_attempt"], 1, ev)

        # Attempt 2 fails too: max_deliveries 2 spent, dead-lettered.
        where, ev = self.wait_status(bad["event_id"], "dead_lettered")
        self.assertEqual(where, "failed_events_by_domain")
        self.check_common(ev, "bad.test", bad, sent_bad)
        self.assertIs(ev["will_retry"], False, ev)
        self.assertEqual(ev["delivery_attempt"], 2, ev)
        self.assertEqual(ev["reason"], "max_deliveries_exceeded", ev)
        self.assertIsInstance(ev["detail"], str, ev)
        eps = {e["url"]: e for e in ev["endpoints"]}
        b, g = eps[self.bad.url("/b")], eps[self.good.url("/g2")]
        self.assertEqual((b["status"], b["delivered"], b["called"]), (500, False, True), ev)
        self.assertIsInstance(b["error"], str, ev)
        self.assertTrue(b["error"], ev)
        # The good endpoint got it on attempt 1 and was not called again.
        self.assertEqual((g["delivered"], g["called"]), (True, False), ev)
        self.assertEqual([(a["attempt"], a["outcome"], a["will_retry"]) for a in ev["attempts"]],
                         [(1, "failed", True), (2, "dead_lettered", False)], ev)
        self.assertEqual(ev["attempts"][1]["reason"], "max_deliveries_exceeded")
        first = {e["url"]: e for e in ev["attempts"][0]["endpoints"]}
        self.assertEqual((first[self.good.url("/g2")]["status"],
                          first[self.good.url("/g2")]["called"]), (200, True), ev)

        # An event for a domain without a route is dead-lettered at once.
        nr = self.assert_accepted(self.eh.post_event({"domain": "nowhere.test"}))
        _, ev = self.wait_status(nr["event_id"], "dead_lettered")
        self.assertEqual(ev["reason"], "no_route", ev)
        self.assertEqual(ev["endpoints"], [], ev)

        # Filters: type picks the maps, domain is exact and case-insensitive.
        j = self.events("?type=successful")
        self.assertEqual(j["failed_events_by_domain"], {}, j)
        self.assertEqual(list(j["events_by_domain"]), ["good.test"], j)
        j = self.events("?type=failed")
        self.assertEqual(j["events_by_domain"], {}, j)
        self.assertEqual(set(j["failed_events_by_domain"]), {"bad.test", "nowhere.test"}, j)
        j = self.events("?type=all&domain=BAD.Test")
        self.assertEqual(j["events_by_domain"], {}, j)
        self.assertEqual(list(j["failed_events_by_domain"]), ["bad.test"], j)
        j = self.events("?domain=bad")
        self.assertEqual(j, {"events_by_domain": {}, "failed_events_by_domain": {}})
        j = self.events("")  # defaults: all maps
        self.assertIn("good.test", j["events_by_domain"], j)
        self.assertIn("bad.test", j["failed_events_by_domain"], j)
        self.assertNotIn("truncated", j)
        self.stop_clean()

    def test_bad_parameters(self):
        self.start()
        for q in ("?type=ok", "?type=", "?limit=0", "?limit=1001", "?limit=abc", "?limit=-1",
                  "?limit=5x", "?domain=" + "a" * 256):
            r = self.eh.request("GET", "/api/events" + q)
            self.assert_error_body(r, 400)
            self.assertEqual(r.json["error"], "invalid_parameter", (q, r))
        self.assertEqual(self.eh.request("GET", "/api/events?limit=1000").status, 200)
        r = self.eh.request("POST", "/api/events", body=b"{}",
                            headers={"Content-Type": "application/json"})
        self.assert_error_body(r, 405)
        self.stop_clean()

    def test_protect_read_apis(self):
        routes = [{"domain": "good.test", "endpoints": [self.good.url("/g")]}]
        self.eh = self.eventhub(base_config(self.ns.url, routes, server={
            "admin_token": "s3cret-token-for-tests", "protect_read_apis": True}))
        r = self.eh.request("GET", "/api/events")
        self.assert_error_body(r, 401)
        r = self.eh.request("GET", "/api/events",
                            headers={"Authorization": "Bearer s3cret-token-for-tests"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"events_by_domain": {}, "failed_events_by_domain": {}})
        self.stop_clean()

    def test_per_domain_bound_and_limit(self):
        self.start({"per_domain": 5})
        ids = []
        for i in range(15):  # 3 x per_domain
            ids.append(self.assert_accepted(self.eh.post_event({"domain": "good.test", "i": i}))
                       ["event_id"])
        self.good.wait_for(15, timeout=15)

        def five_delivered():
            evs = self.events("?limit=1000")["events_by_domain"].get("good.test", [])
            return evs if [e["status"] for e in evs] == ["successful"] * 5 else None
        evs = harness.wait_until(five_delivered, 15, "5 successful events kept")
        self.assertEqual([e["event_id"] for e in evs], ids[:-6:-1], "the newest 5, newest first")
        self.assertEqual([e["payload"]["i"] for e in evs], [14, 13, 12, 11, 10])

        j = self.events("?limit=2&domain=good.test")
        self.assertEqual([e["event_id"] for e in j["events_by_domain"]["good.test"]], ids[:-3:-1])
        self.stop_clean()

    def test_bounded_under_concurrent_traffic_and_queries(self):
        self.start({"per_domain": 5, "max_domains": 4})
        stop = threading.Event()
        answers = []

        def reader():
            while not stop.is_set():
                r = self.eh.request("GET", "/api/events?limit=1000")
                answers.append(r.status if isinstance(r.json, dict) else -1)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            domains = ["good.test", "bad.test", "nowhere.test"] + ["x%d.test" % i for i in range(4)]
            for i in range(210):  # 30 per domain, 7 domains
                self.assert_accepted(self.eh.post_event({"domain": domains[i % 7], "i": i}))
        finally:
            stop.set()
            t.join(10)
        self.assertTrue(answers and set(answers) == {200}, answers[:20])

        def settled():
            j = self.events("?limit=1000")
            statuses = [e["status"] for m in j.values() for evs in m.values() for e in evs]
            return j if "pending" not in statuses and "failed" not in statuses else None
        j = harness.wait_until(settled, 20, "every kept event settled")
        domains = set(j["events_by_domain"]) | set(j["failed_events_by_domain"])
        self.assertLessEqual(len(domains), 4, j)
        for m in j.values():
            for evs in m.values():
                self.assertLessEqual(len(evs), 5, j)
        self.stop_clean()

    def test_max_domains_and_truncation(self):
        self.start({"per_domain": 5, "max_domains": 2, "max_event_bytes": 256})
        big = {"domain": "good.test", "blob": "é" * 400}
        b = self.assert_accepted(self.eh.post_event(big))
        _, ev = self.wait_status(b["event_id"], "successful")
        self.assertIs(ev["truncated"], True, ev)
        self.assertIsInstance(ev["payload"], str, ev)
        self.assertLessEqual(len(ev["payload"].encode()), 256, ev)
        self.assertTrue(ev["payload"].startswith('{"domain":"good.test","blob":"éé'), ev)
        self.assertGreater(ev["payload_bytes"], 800, ev)

        # A third domain pushes out the least recently active one (good.test).
        x = self.assert_accepted(self.eh.post_event({"domain": "bad.test"}))
        self.wait_status(x["event_id"], "failed")
        y = self.assert_accepted(self.eh.post_event({"domain": "nowhere.test"}))
        self.wait_status(y["event_id"], "dead_lettered")
        j = self.events()
        domains = set(j["events_by_domain"]) | set(j["failed_events_by_domain"])
        self.assertEqual(domains, {"bad.test", "nowhere.test"}, j)
        self.stop_clean()


if __name__ == "__main__":
    harness.main()
