#!/usr/bin/env python3
"""
Retries: a failing endpoint is retried after the backoff delay with an increasing
attempt number, endpoints that already answered 2xx are not called again, and once
everyone has answered 2xx the message is acked.
"""

import harness
from harness import base_config


class Retry(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()

    def start(self, routes, **sections):
        self.eh = self.eventhub(base_config(self.ns.url, routes, **sections))

    def test_failing_endpoint_is_retried_others_are_not(self):
        flaky = self.receiver(status=[500, 500, 200], name="flaky")
        ok1 = self.receiver(name="ok1")
        ok2 = self.receiver(name="ok2")
        self.start([{"domain": "example.com", "endpoints": [flaky.url(), ok1.url(), ok2.url()]}])

        j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": 1}))
        eid = j["event_id"]
        reqs = flaky.wait_for(3, timeout=15)
        self.wait_consumer_idle(self.ns)

        self.assertEqual([r.attempt for r in flaky.requests], [1, 2, 3],
                         "X-Delivery-Attempt sequence: %r" % (flaky.requests,))
        self.assertEqual([r.json()["delivery_attempt"] for r in flaky.requests], [1, 2, 3])
        self.assertEqual([r.event_id for r in reqs], [eid] * 3)
        self.assertEqual([r.status for r in flaky.requests], [500, 500, 200])
        for rcv in (ok1, ok2):
            self.assertEqual(rcv.count(), 1, "%s called again after its 2xx: %r" % (rcv.name, rcv.requests))
            self.assertEqual(rcv.requests[0].attempt, 1)
        # backoff is [200ms, 200ms, 500ms]: attempt n+1 comes no sooner than backoff[n-1]
        r = flaky.requests
        gap1 = r[1].time - r[0].done_time
        gap2 = r[2].time - r[1].done_time
        self.assertGreaterEqual(gap1, 0.15, "attempt 2 came %.3fs after attempt 1 failed" % gap1)
        self.assertGreaterEqual(gap2, 0.15, "attempt 3 came %.3fs after attempt 2 failed" % gap2)
        self.assertLess(gap1, 5.0, "attempt 2 waited %.1fs (ack_wait instead of backoff?)" % gap1)

        ci = self.ns.client().consumer_info("EVENTS", "eventhub")
        self.assertEqual(ci["num_ack_pending"], 0)
        self.assertEqual(ci["num_pending"], 0)
        self.assertEqual(ci["ack_floor"]["stream_seq"], j["stream_seq"], ci)

    def test_timeouts_and_connection_errors_are_retried(self):
        # One endpoint answers too slowly the first time, one refuses connections at
        # first (nothing listening), one is fine.
        slow = self.receiver(name="slow", delay=lambda req: 3.0 if req.index == 0 else 0)
        ok = self.receiver(name="ok")
        dead_port = harness.free_port()
        self.start([{"domain": "example.com", "endpoints": [
            {"url": slow.url(), "timeout": "1s"},
            ok.url(),
            "http://127.0.0.1:%d/hook" % dead_port,
        ]}], nats={"max_deliveries": 10})
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        slow.wait_for(2, timeout=15)
        self.assertEqual(slow.requests[1].attempt, 2)
        self.assertEqual(ok.count(), 1, "ok endpoint called again: %r" % (ok.requests,))
        # Now bring the refused endpoint up on its port; a later retry must land there.
        late = self.receiver(name="late", port=dead_port)
        got = late.wait_for(1, timeout=15)
        self.assertGreaterEqual(got[0].attempt, 2, "first request to a refused endpoint must be a retry")
        self.assertEqual(got[0].event_id, j["event_id"])
        self.wait_consumer_idle(self.ns)
        self.assertEqual(ok.count(), 1, ok.requests)
        self.assertEqual(late.count(), 1, late.requests)
        self.assertEqual(slow.count(), 2, "slow endpoint called again after its 2xx: %r" % (slow.requests,))

if __name__ == "__main__":
    harness.main()
