#!/usr/bin/env python3
"""
Retry memory across a lost stream: eventhub remembers which endpoints already answered
2xx for a message that is being retried, so a retry calls only the failing ones. A
memory stream (nats.stream.storage: memory) is lost when nats-server restarts; eventhub
recreates it and its consumer, and stream sequences start again at 1. A new event that
gets the sequence of an old, half-delivered one must still go to EVERY endpoint: the
memory of the old event must not make eventhub skip an endpoint for the new one.
"""

import harness
from harness import base_config


class RetryMemory(harness.TestCase):
    def test_new_event_reusing_a_sequence_reaches_every_endpoint(self):
        ns = self.nats()
        a = self.receiver(name="A")
        b = self.receiver(status=500, name="B")
        # A long backoff: event 1 stays nak'ed (and remembered as "A delivered") until
        # the broker restart throws it away.
        eh = self.eventhub(base_config(
            ns.url, [{"domain": "example.com", "endpoints": [a.url("/a"), b.url("/b")]}],
            nats={"stream": {"storage": "memory"}, "max_deliveries": 10},
            delivery={"backoff": ["60s"]}))
        self.assertEqual(ns.client().stream_info("EVENTS")["config"]["storage"], "memory",
                         "the test needs a memory stream")

        j1 = self.assert_accepted(eh.post_event({"domain": "example.com", "event_id": "ev-1", "n": 1}))
        self.assertEqual(j1["stream_seq"], 1, j1)
        a.wait_for(1, timeout=10)
        b.wait_for(1, timeout=10)
        # The retry is scheduled (and A remembered) once the "attempt 1/10" warning is out.
        eh.wait_log(lambda l: "ev-1" in l.get("msg", "") and "attempt 1/10" in l.get("msg", ""),
                    timeout=10, what="event ev-1 nak'ed for a retry")
        got = harness.wait_until(lambda: a.answered_2xx("ev-1"), 5, "A's 2xx for ev-1 recorded")
        self.assertEqual(got[0].attempt, 1)

        # Lose the memory stream: eventhub reconnects and recreates stream and consumer.
        ready_before = len(eh.find_log(lambda l: l.get("msg", "").startswith("JetStream ready")))
        ns.stop()
        ns.restart()
        eh.wait_log(lambda l: l.get("msg", "").startswith("JetStream ready"), timeout=20,
                    what="first JetStream ready")
        harness.wait_until(
            lambda: len(eh.find_log(lambda l: l.get("msg", "").startswith("JetStream ready")))
            > ready_before, 20, "JetStream ready again after the nats-server restart")
        state = ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(state["messages"], 0, "the memory stream survived the restart: %r" % (state,))
        self.assertIn("eventhub", ns.client().consumer_names("EVENTS"))

        b.set_status(200)
        a_before = a.count()

        def post2():
            r = eh.post_event({"domain": "example.com", "event_id": "ev-2", "n": 2})
            return r if r.status == 202 else None
        j2 = self.assert_accepted(harness.wait_until(post2, 15, "event ev-2 accepted"))
        self.assertEqual(j2["stream_seq"], 1,
                         "precondition: the new stream reuses sequence 1 (got %r)" % (j2,))
        self.assertFalse(j2["duplicate"], j2)

        b.wait_for(1, timeout=10, pred=lambda r: r.event_id == "ev-2")
        self.wait_consumer_idle(ns)
        got_a = a.requests_for("ev-2")
        self.assertEqual(len(got_a), 1,
                         "endpoint A did not receive the new event ev-2 (stream seq 1, like the "
                         "old ev-1 that A had already answered): A got %r" % (a.requests,))
        self.assertEqual(got_a[0].attempt, 1, got_a)
        harness.wait_until(lambda: a.answered_2xx("ev-2") and b.answered_2xx("ev-2"), 5,
                           "the 2xx answers for ev-2 recorded")
        self.assertEqual(len(b.requests_for("ev-2")), 1, b.requests)
        self.assertEqual(a.count(), a_before + 1, "A: %r" % (a.requests,))
        # Nothing of the old event comes back: it went with the memory stream.
        self.assertEqual(len(b.requests_for("ev-1")), 1, b.requests)


if __name__ == "__main__":
    harness.main()
