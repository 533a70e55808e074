#!/usr/bin/env python3
"""
Durability: a 202 means stored. Events survive eventhub being killed with SIGKILL
mid-delivery, and the durable consumer survives eventhub being away, so events
that entered the stream meanwhile are delivered when it comes back.
"""

import json
import uuid

import harness
from harness import base_config


class Durability(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        # ack_wait 5 s (> 2 s endpoint timeout + 2 s) keeps crash redelivery quick.
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.rcv.url()]}],
            nats={"ack_wait_seconds": 5}, delivery={"timeout": "2s"}))

    def test_kill9_while_endpoint_hangs_then_delivered_after_restart(self):
        self.rcv.hang()
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": 1}))
        harness.wait_until(lambda: self.rcv.in_progress(), 10, "delivery in progress")
        self.eh.kill9()
        self.rcv.release()
        self.rcv.set_status(200)
        self.eh.start()
        harness.wait_until(lambda: [r for r in self.rcv.requests_for(j["event_id"])
                                    if r.status == 200 and r.index > 0], 20,
                           "redelivery of %s after restart" % j["event_id"])
        self.wait_consumer_idle(self.ns, timeout=20)

    def test_kill9_while_endpoint_fails_then_delivered_after_restart(self):
        self.rcv.set_status(503)
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": 2}))
        self.rcv.wait_for(1, timeout=10)
        self.eh.kill9()
        self.rcv.set_status(200)
        self.eh.start()
        harness.wait_until(lambda: self.rcv.answered_2xx(j["event_id"]), 20,
                           "delivery of %s after restart" % j["event_id"])
        self.wait_consumer_idle(self.ns, timeout=20)

    def test_kill9_right_after_202s_loses_nothing(self):
        ids = [self.assert_accepted(self.eh.post_event({"domain": "example.com", "i": i}))["event_id"]
               for i in range(100)]
        self.eh.kill9()
        self.eh.start()
        harness.wait_until(lambda: set(ids) <= set(self.rcv.event_ids()), 30,
                           "all 100 accepted events delivered")
        self.wait_consumer_idle(self.ns, timeout=20)

    def test_durable_consumer_survives_eventhub_being_away(self):
        self.assertEqual(self.eh.stop(), 0)
        c = self.ns.client()
        self.assertIn("eventhub", c.consumer_names("EVENTS"), "the durable consumer went away with eventhub")
        ids = []
        for i in range(5):
            eid = str(uuid.uuid4())
            ids.append(eid)
            body = json.dumps({"domain": "example.com", "i": i, "event_id": eid,
                               "received_at": "2026-01-01T00:00:00.000Z"}).encode()
            c.publish_js("events.example_com", body, headers={"Nats-Msg-Id": eid})
        ci = c.consumer_info("EVENTS", "eventhub")
        self.assertEqual(ci["num_pending"], 5, ci)
        self.assertEqual(self.rcv.count(), 0)
        self.eh.start()
        harness.wait_until(lambda: set(ids) <= set(self.rcv.event_ids()), 15,
                           "events published while eventhub was away delivered")
        self.wait_consumer_idle(self.ns)
        for r in self.rcv.requests:
            self.assertEqual(r.json()["delivery_attempt"], 1)
            self.assertEqual(r.header("x-domain"), "example.com")


if __name__ == "__main__":
    harness.main()
