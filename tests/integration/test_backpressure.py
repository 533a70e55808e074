#!/usr/bin/env python3
"""
Back-pressure: when JetStream does not ack in time, or too many publishes are in
flight, ingress answers 503 + Retry-After at once instead of hanging; a sender that
retries with the same event_id ends up with the event stored exactly once.

The broker is frozen with SIGSTOP (it keeps its connections but answers nothing),
which makes "no ack yet" deterministic.
"""

import signal
import threading
import time

import harness
from harness import base_config


class Backpressure(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        self.frozen = False
        self.addCleanup(self.thaw)

    def start(self, **nats):
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.rcv.url()]}], nats=nats))

    def freeze(self):
        self.ns._drop_client()
        self.ns.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.frozen and self.ns.running:
            self.ns.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    def test_no_ack_in_time_is_503_and_a_retry_stores_once(self):
        self.start(publish={"timeout": "1s"})
        self.freeze()
        t0 = time.monotonic()
        r = self.eh.post_event({"domain": "example.com", "event_id": "bp-1"}, timeout=15)
        took = time.monotonic() - t0
        self.assert_error_body(r, 503)
        self.assertIn("retry-after", r.headers, r.headers)
        self.assertLess(took, 5, "a publish without an ack held the request %.1fs (timeout 1s)" % took)
        self.thaw()

        def accepted():
            x = self.eh.post_event({"domain": "example.com", "event_id": "bp-1"}, timeout=15)
            return x if x.status == 202 else None
        ok = harness.wait_until(accepted, 15, "the retry with the same event_id accepted")
        self.assertEqual(ok.json["event_id"], "bp-1")
        msgs = [m for m in self.ns.client().msgs("EVENTS") if b'"bp-1"' in m["data"]]
        self.assertEqual(len(msgs), 1, "event stored %d times" % len(msgs))
        self.assertEqual(msgs[0]["seq"], ok.json["stream_seq"])
        harness.wait_until(lambda: self.rcv.answered_2xx("bp-1"), 10, "delivery of bp-1")

    def test_too_many_in_flight_is_503_at_once(self):
        self.start(publish={"timeout": "5s", "max_inflight": 1})
        self.freeze()
        # Five concurrent posts; with room for one publish and no acks coming, one of
        # them holds the slot and the other four must be refused at once.
        results = [None] * 5
        done_at = [None] * 5

        def post(i):
            try:
                results[i] = self.eh.post_event({"domain": "example.com", "event_id": "inflight-%d" % i},
                                                timeout=15)
            except OSError as e:
                results[i] = e
            done_at[i] = time.monotonic()
        t0 = time.monotonic()
        threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(5)]
        for t in threads:
            t.start()
        harness.wait_until(lambda: sum(1 for r in results if r is not None) >= 4, 4,
                           "four of five posts answered while one publish is in flight")
        answered = [r for r in results if r is not None]
        for r in answered:
            self.assertIsInstance(r, harness.Response, r)
            self.assert_error_body(r, 503)
            self.assertIn("retry-after", r.headers, r.headers)
        self.assertEqual(len(answered), 4, "more than one publish was in flight: %r" % (results,))
        held = [i for i, r in enumerate(results) if r is None]
        self.thaw()
        for t in threads:
            t.join(timeout=15)
        r = results[held[0]]
        self.assertIsInstance(r, harness.Response, r)
        # It got its ack once the broker woke up (or a 503 if its 5 s ran out first).
        self.assertIn(r.status, (202, 503), r)
        stored = self.ns.client().stream_info("EVENTS")["state"]["messages"]
        self.assertLessEqual(stored, 1, "refused events were stored")
        after = self.eh.post_event({"domain": "example.com", "n": "after"})
        self.assert_accepted(after)
        harness.wait_until(lambda: self.rcv.answered_2xx(after.json["event_id"]), 10, "delivery after thaw")

if __name__ == "__main__":
    harness.main()
