#!/usr/bin/env python3
"""
Parked deliveries survive what operators do to eventhub: kill -9 and a restart, a
NATS restart, and route reloads. A domain with a healthy and a failing endpoint
builds a parked backlog (the failing endpoint's copies in the retry stream); the
healthy endpoint has every event once. After the crash or restart the failing
endpoint recovers and gets every parked event, and the healthy one is never called
again. A reload that removes the failing endpoint dead-letters its parked events
(endpoint_removed: visible and replayable); an endpoint added by a reload gets the
events that arrive after it.
"""

import json
import signal
import time

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"
RETRY = "EVENTS_RETRY"
N = 120


class Parked(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.good = self.receiver(name="good")
        self.bad = self.receiver(status=500, name="bad")

    def config(self, endpoints, backoff="300ms"):
        return base_config(self.ns.url, [{"domain": "p.example", "endpoints": endpoints}],
                           nats={"max_deliveries": 1000}, delivery={"backoff": [backoff]},
                           server={"shutdown_timeout": "30s"})

    def parked(self):
        try:
            return self.ns.client().stream_info(RETRY)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return -1

    def build_backlog(self, backoff="300ms"):
        self.eh = self.eventhub(self.config([self.good.url("/g"), self.bad.url("/b")], backoff))
        ids = ["p-%d" % i for i in range(N)]
        for e in ids:
            self.assert_accepted(self.eh.post_event({"domain": "p.example", "event_id": e}))
        self.good.wait_for(N, timeout=20)
        harness.wait_until(lambda: self.parked() == N, 20, "%d parked deliveries" % N)
        # The events stream's consumer is done with all of them: parked, not pending.
        self.wait_consumer_idle(self.ns, parked=False)
        return ids

    def check_recovery(self, ids, timeout=60):
        self.bad.set_status(200)
        harness.wait_until(lambda: set(self.bad.event_ids()) >= set(ids), timeout,
                           "the recovered endpoint to get every parked event")
        self.wait_consumer_idle(self.ns, timeout=30)
        self.assertEqual(self.good.event_ids(), {e: 1 for e in ids},
                         "the healthy endpoint was called again (or missed an event)")

    def test_kill9_and_restart_lose_nothing_and_repeat_nothing(self):
        ids = self.build_backlog()
        self.eh.kill9()
        self.eh.start()
        self.check_recovery(ids)

    def test_graceful_stop_does_not_wait_for_parked_deliveries(self):
        # A long backoff: the lane holds the parked deliveries until they are due.
        ids = self.build_backlog(backoff="20s")
        harness.wait_until(lambda: any(e["waiting"] > 0 for e in
                                       self.eh.request("GET", "/api/stats").json["endpoints"]),
                           10, "parked deliveries held by the failing endpoint's lane")
        # They go back to the retry stream at once: the stop does not run into
        # server.shutdown_timeout (30 s here).
        t0 = time.monotonic()
        self.assertEqual(self.eh.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - t0, 10, "the stop waited for held deliveries")
        self.assertEqual(self.parked(), N)
        # Still due when they were: back after a restart, they reach the endpoint.
        self.eh.start()
        self.check_recovery(ids, timeout=60)

    def test_nats_restart_with_a_parked_backlog(self):
        ids = self.build_backlog()
        self.ns.stop()
        self.ns.restart()
        harness.wait_until(lambda: self.parked() == N, 20, "the parked backlog after the restart")
        self.check_recovery(ids)
        self.assertEqual(self.eh.stop(signal.SIGTERM), 0)

    def test_reload_removing_the_failing_endpoint_dead_letters_its_backlog(self):
        ids = self.build_backlog()
        extra = self.receiver(name="extra")
        self.eh.write_config(self.config([self.good.url("/g"), extra.url("/x")]))
        r = self.eh.request("POST", "/api/config/reload", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)

        def dlq():
            try:
                msgs = self.ns.client().msgs(DLQ)
            except harness.natsclient.JetStreamError:
                return None
            return msgs if len(msgs) >= N else None
        recs = [json.loads(m["data"]) for m in harness.wait_until(dlq, 30, "%d dead letters" % N)]
        self.assertEqual({r["reason"] for r in recs}, {"endpoint_removed"})
        self.assertEqual(sorted(r["event_id"] for r in recs), sorted(ids))
        harness.wait_until(lambda: self.parked() == 0, 20, "the retry stream emptied")
        # The added endpoint gets what arrives after the reload, the old one nothing more.
        self.assert_accepted(self.eh.post_event({"domain": "p.example", "event_id": "after"}))
        extra.wait_for(1)
        self.assertEqual(extra.event_ids(), {"after": 1})
        self.good.wait_for(N + 1)
        self.wait_consumer_idle(self.ns)
        self.assertNotIn("after", self.bad.event_ids())
        # A removed endpoint's dead letter replays to the route as it is now.
        bad_calls = len(self.bad.requests)
        seq = self.eh.request("GET", "/api/dlq?limit=1").json["records"][0]["seq"]
        r = self.eh.request("POST", "/api/dlq/%d/replay" % seq,
                            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["to_endpoint"], False, r.json)
        extra.wait_for(2)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(len(self.bad.requests), bad_calls, "the removed endpoint was called")


if __name__ == "__main__":
    harness.main()
