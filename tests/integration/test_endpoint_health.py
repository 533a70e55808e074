#!/usr/bin/env python3
"""
Endpoint health, through the real binary: the circuit breaker opens after N failures
in a row (no calls while open: events wait, not counted as attempts), probes once
after its cool-down and closes on success; 429/503 with Retry-After (seconds or an
HTTP date) holds that endpoint's calls until then, without counting an attempt; 410
Gone dead-letters the event for that endpoint at once (endpoint_gone) and says so in
the log; a rate limit spaces the calls; an event that cannot be delivered within
delivery.max_retry_age is dead-lettered endpoint_unavailable.
"""

import email.utils
import json
import time

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"


def endpoint(stats, url):
    for e in stats.get("endpoints", []):
        if e["url"] == url:
            return e
    return None


class EndpointHealth(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()

    def start(self, routes, nats=None, **delivery):
        n = {"max_deliveries": 20}
        n.update(nats or {})
        self.eh = self.eventhub(base_config(self.ns.url, routes, nats=n, delivery=delivery))
        return self.eh

    def stats_of(self, url):
        r = self.eh.request("GET", "/api/stats")
        self.assertEqual(r.status, 200, r)
        return endpoint(r.json, url)

    def wait_state(self, url, states, timeout=15):
        return harness.wait_until(
            lambda: (lambda e: e if e and e["state"] in states else None)(self.stats_of(url)),
            timeout, "endpoint %s in state %s" % (url, states))

    def dlq_records(self, count, timeout=15):
        def enough():
            try:
                msgs = self.ns.client().msgs(DLQ)
            except harness.natsclient.JetStreamError:
                return None
            return msgs if len(msgs) >= count else None
        return [json.loads(m["data"]) for m in harness.wait_until(enough, timeout, "dead letters")]

    def test_breaker_opens_probes_and_closes(self):
        bad = self.receiver(status=500, name="bad")
        url = bad.url("/b")
        self.start([{"domain": "b.example", "endpoints": [url]}],
                   backoff=["100ms"], breaker={"failures": 3, "cooldown": "1s", "max_cooldown": "1s"})
        for i in range(10):
            self.assert_accepted(self.eh.post_event({"domain": "b.example", "event_id": "e%d" % i}))
        e = self.wait_state(url, ("open", "half_open"))
        self.assertGreaterEqual(e["consecutive_failures"], 3, e)
        self.assertIsNotNone(e["next_try_at"], e)
        self.assertEqual(e["last_status"], 500, e)
        self.assertIn("500", e["last_error"], e)
        # The overview must not say all is well: the metrics show it too.
        m = self.eh.request("GET", "/metrics").raw.decode()
        self.assertRegex(m, r'eventhub_endpoint_state\{domain="b.example",endpoint="[^"]*",'
                            r'key="[0-9a-f]{16}",state="(open|half_open)"\} 1')
        # While open, only the probe reaches the endpoint: wait for a failed probe (the
        # breaker opens again with a new next try) and count what arrived meanwhile.
        e = self.wait_state(url, ("open",))
        n0, t0 = bad.count(), e["next_try_at"]
        harness.wait_until(lambda: (lambda x: x if x and x["state"] == "open" and
                                    x["next_try_at"] != t0 else None)(self.stats_of(url)),
                           15, "a failed probe (open again, later next try)")
        self.assertLessEqual(bad.count() - n0, 1, "calls while the breaker was open: %r"
                             % bad.requests[n0:])
        # The endpoint recovers: the next probe succeeds, the breaker closes, all arrive.
        bad.set_status(200)
        harness.wait_until(lambda: len({r.event_id for r in bad.requests if r.status == 200}) >= 10,
                           30, "all 10 events delivered after the probe")
        self.wait_state(url, ("healthy",))
        # Waiting while open was not counted: no event spent more attempts than it failed.
        for i in range(10):
            calls = bad.requests_for("e%d" % i)
            self.assertEqual([r.attempt for r in calls], list(range(1, len(calls) + 1)), calls)
        self.wait_consumer_idle(self.ns)

    def test_retry_after_seconds_is_honoured_and_not_counted(self):
        answers = []
        rcv = self.receiver(name="limited")
        rcv.set_status(lambda req: 429 if req.index == 0 else 200)
        rcv.answer_headers = lambda req: {"Retry-After": "2"} if req.index == 0 else {}
        url = rcv.url("/r")
        self.start([{"domain": "r.example", "endpoints": [url]}], backoff=["100ms"])
        self.assert_accepted(self.eh.post_event({"domain": "r.example", "event_id": "ra-1"}))
        rcv.wait_for(2, timeout=15)
        first, second = rcv.requests[0], rcv.requests[1]
        self.assertGreaterEqual(second.time - first.time, 1.9, "called again before Retry-After passed")
        self.assertEqual((first.attempt, second.attempt), (1, 1), "a Retry-After wait counted as an attempt")
        self.wait_consumer_idle(self.ns)
        del answers

    def test_retry_after_http_date(self):
        rcv = self.receiver(name="unavailable")
        when = email.utils.formatdate(time.time() + 3, usegmt=True)
        rcv.set_status(lambda req: 503 if req.index == 0 else 200)
        rcv.answer_headers = lambda req: {"Retry-After": when} if req.index == 0 else {}
        url = rcv.url("/d")
        self.start([{"domain": "d.example", "endpoints": [url]}], backoff=["100ms"])
        self.assert_accepted(self.eh.post_event({"domain": "d.example", "event_id": "rd-1"}))
        e = self.wait_state(url, ("paused",), timeout=10)
        self.assertIsNotNone(e["next_try_at"], e)
        rcv.wait_for(2, timeout=15)
        self.assertGreaterEqual(rcv.requests[1].time - rcv.requests[0].time, 1.5)
        self.wait_consumer_idle(self.ns)

    def test_gone_dead_letters_at_once_for_that_endpoint(self):
        gone = self.receiver(status=410, name="gone")
        ok = self.receiver(name="ok")
        self.start([{"domain": "g.example", "endpoints": [gone.url("/x"), ok.url("/y")]}],
                   backoff=["100ms"])
        j = self.assert_accepted(self.eh.post_event({"domain": "g.example", "event_id": "g-1"}))
        rec = self.dlq_records(1)[0]
        self.assertEqual(rec["reason"], "endpoint_gone", rec)
        self.assertEqual(rec["stream_seq"], j["stream_seq"], rec)
        self.assertEqual([e["url"] for e in rec["endpoints"]], [gone.url("/x")], rec)
        self.assertEqual(gone.count(), 1, "a 410 is not retried")
        ok.wait_for(1)
        self.eh.wait_log(lambda l: l.get("level") == "error" and "410" in l.get("msg", ""),
                         what="the loud log line about 410 Gone")
        self.wait_consumer_idle(self.ns)
        # The endpoint is back: replaying its dead letter goes to it alone.
        gone.set_status(200)
        listing = self.eh.request("GET", "/api/dlq").json["records"]
        self.assertEqual(len(listing), 1, listing)
        r = self.eh.request("POST", "/api/dlq/%d/replay" % listing[0]["seq"],
                            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["to_endpoint"], True, r.json)
        gone.wait_for(2)
        self.assertEqual(gone.requests[1].event_id, "g-1")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(ok.count(), 1, "the replay called the endpoint that had the event")

    def test_rate_limit_spaces_the_calls(self):
        rcv = self.receiver(name="paced")
        url = rcv.url("/p")
        self.start([{"domain": "p.example", "endpoints": [{"url": url, "rate_limit": "5/s"}]}])
        for i in range(20):
            self.assert_accepted(self.eh.post_event({"domain": "p.example", "event_id": "p%d" % i}))
        rcv.wait_for(20, timeout=30)
        times = sorted(r.time for r in rcv.requests)
        # A bucket of 5 that refills 5 a second: 20 calls take at least 3 s, and no
        # second holds more than the burst plus what refilled in it.
        self.assertGreaterEqual(times[-1] - times[0], 2.5, times)
        for i, t in enumerate(times):
            in_window = [u for u in times[i:] if u - t < 1.0]
            self.assertLessEqual(len(in_window), 11, "calls within 1 s: %r" % in_window)
        self.wait_consumer_idle(self.ns)

    def test_endless_retry_after_still_ends_at_max_retry_age(self):
        rcv = self.receiver(status=503, name="always-busy")
        rcv.answer_headers = {"Retry-After": "1"}
        self.start([{"domain": "busy.example", "endpoints": [rcv.url("/u")]}],
                   backoff=["100ms"], max_retry_age="3s")
        self.assert_accepted(self.eh.post_event({"domain": "busy.example", "event_id": "busy-1"}))
        rec = self.dlq_records(1, timeout=20)[0]
        self.assertEqual(rec["reason"], "endpoint_unavailable", rec)
        self.wait_consumer_idle(self.ns)

    def test_max_retry_age_holds_while_paused(self):
        # A Retry-After far beyond max_retry_age: dead-lettered when the age is up, not at
        # the next try a minute later.
        rcv = self.receiver(status=503, name="later")
        rcv.answer_headers = {"Retry-After": "60"}
        self.start([{"domain": "late.example", "endpoints": [rcv.url("/l")]}],
                   backoff=["100ms"], max_retry_age="3s")
        self.assert_accepted(self.eh.post_event({"domain": "late.example", "event_id": "late-1"}))
        self.assert_accepted(self.eh.post_event({"domain": "late.example", "event_id": "late-2"}))
        recs = self.dlq_records(2, timeout=15)
        self.assertEqual({r["reason"] for r in recs}, {"endpoint_unavailable"}, recs)
        self.assertLessEqual(rcv.count(), 2, "called again while paused: %r" % rcv.requests)
        self.wait_consumer_idle(self.ns)

    def test_max_retry_age_dead_letters_endpoint_unavailable(self):
        bad = self.receiver(status=500, name="bad")
        self.start([{"domain": "a.example", "endpoints": [bad.url("/a")]}],
                   nats={"max_deliveries": 1000}, backoff=["300ms"], max_retry_age="2s")
        j = self.assert_accepted(self.eh.post_event({"domain": "a.example", "event_id": "old-1"}))
        rec = self.dlq_records(1, timeout=20)[0]
        self.assertEqual(rec["reason"], "endpoint_unavailable", rec)
        self.assertEqual(rec["event_id"], "old-1", rec)
        self.assertEqual(rec["stream_seq"], j["stream_seq"], rec)
        self.assertGreater(bad.count(), 1)
        self.wait_consumer_idle(self.ns)


if __name__ == "__main__":
    harness.main()
