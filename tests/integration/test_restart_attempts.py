#!/usr/bin/env python3
"""
Graceful restarts while a backlog is in hand must not use up delivery attempts.

JetStream counts every delivery, including the messages a stopping instance hands back
unstarted; eventhub counts only the attempts that really failed. With max_deliveries 3,
a slow endpoint, one call at a time and a short shutdown deadline, three SIGTERM/start
cycles with a backlog in hand must still end with every event delivered and nothing
dead-lettered.
"""
import json
import signal

import harness
from harness import base_config

N = 20
MAXD = 3


class RestartsKeepAttempts(harness.TestCase):
    def test_graceful_restarts_do_not_use_up_attempts(self):
        ns = self.nats()
        slow = self.receiver(name="slow", delay=0.5)
        eh = self.eventhub(base_config(ns.url, [{"domain": "example.com", "endpoints": [slow.url()]}],
                                       server={"shutdown_timeout": "1s"},
                                       nats={"max_deliveries": MAXD},
                                       delivery={"max_concurrent": 1}), start=False)
        eh.start()
        ids = [self.assert_accepted(eh.post_event({"domain": "example.com", "event_id": "ev-%02d" % i}))["event_id"]
               for i in range(N)]
        for cycle in range(MAXD):
            if cycle:
                eh.start()
            harness.wait_until(lambda: slow.in_progress(), 10, "a webhook call in progress")
            self.assertEqual(eh.stop(signal.SIGTERM), 0)
        self.assertLess(len(set(slow.event_ids()) & set(ids)), N,
                        "the backlog was gone before the last restart: the test proves nothing")
        slow.delay = 0
        eh.start()

        def idle():
            ci = ns.client().consumer_info("EVENTS", "eventhub")
            return ci["num_ack_pending"] == 0 and ci["num_pending"] == 0
        harness.wait_until(idle, 30, "the consumer to be idle")
        try:
            dlq = [json.loads(m["data"]) for m in ns.client().msgs("EVENTS_DLQ")]
        except harness.natsclient.JetStreamError:
            dlq = []
        self.assertEqual(dlq, [], "dead-lettered although never failing")
        self.assertEqual(sorted(set(slow.event_ids()) & set(ids)), sorted(ids), "events never sent")


if __name__ == "__main__":
    harness.main()
