#!/usr/bin/env python3
"""
Dead letters: an event that exhausted max_deliveries, an event with no route, and a
stored message that is not JSON each land in the dead-letter stream with the
documented record, and the original is not delivered again.
"""

import datetime
import json

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"


class DeadLetter(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()

    def start(self, routes, **nats):
        n = {"max_deliveries": 3}
        n.update(nats)
        self.eh = self.eventhub(base_config(self.ns.url, routes, nats=n))

    def dlq_entries(self, count, timeout=15):
        def enough():
            try:
                msgs = self.ns.client().msgs(DLQ)
            except harness.natsclient.JetStreamError:
                return None
            return msgs if len(msgs) >= count else None
        return harness.wait_until(enough, timeout, "%d dead letter(s) in %s" % (count, DLQ))

    def check_common(self, rec, reason, stream_seq, subject):
        self.assertEqual(rec.get("reason"), reason, rec)
        self.assertIsInstance(rec.get("detail"), str, rec)
        self.assertEqual(rec.get("stream"), "EVENTS", rec)
        self.assertEqual(rec.get("stream_seq"), stream_seq, rec)
        self.assertEqual(rec.get("subject"), subject, rec)
        self.assertIsInstance(rec.get("attempts"), int, rec)
        ts = rec.get("dead_lettered_at")
        self.assertIsInstance(ts, str, rec)
        datetime.datetime.strptime(ts.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")

    def test_max_deliveries_exceeded(self):
        bad = self.receiver(status=500, name="bad")
        good = self.receiver(status=200, name="good")
        self.start([{"domain": "example.com", "endpoints": [bad.url("/bad"), good.url("/good")]}])
        sent = {"domain": "example.com", "type": "call.ended", "n": 7}
        j = self.assert_accepted(self.eh.post_event(sent))

        msg = self.dlq_entries(1)[0]
        self.assertEqual(msg["subject"], "dlq.EVENTS.example_com")
        rec = json.loads(msg["data"])
        self.check_common(rec, "max_deliveries_exceeded", j["stream_seq"], "events.example_com")
        self.assertEqual(rec["attempts"], 3, rec)
        self.assertEqual(rec.get("domain"), "example.com", rec)
        self.assertEqual(rec.get("event_id"), j["event_id"], rec)
        ev = rec.get("event")
        self.assertIsInstance(ev, dict, rec)
        for k, v in sent.items():
            self.assertEqual(ev.get(k), v, rec)
        self.assertEqual(ev.get("event_id"), j["event_id"])
        self.assertNotIn("delivery_attempt", ev, "the dead letter should hold the stored event")
        # The record is the failing endpoint's alone (the good one has the event): it
        # names that endpoint, and a replay of it goes to that endpoint only.
        eps = {e.get("url"): e for e in rec.get("endpoints", [])}
        self.assertEqual(set(eps), {bad.url("/bad")}, rec)
        self.assertRegex(rec.get("endpoint_key", ""), r"^[0-9a-f]{16}$", rec)
        self.assertEqual(eps[bad.url("/bad")].get("status"), 500, rec)
        self.assertIs(eps[bad.url("/bad")].get("delivered"), False, rec)
        self.assertIn("error", eps[bad.url("/bad")], rec)

        self.assertEqual([r.attempt for r in bad.requests], [1, 2, 3], bad.requests)
        self.assertEqual(good.count(), 1, good.requests)
        # Terminated: nothing pending, nothing awaiting an ack, so nothing will come back.
        self.wait_consumer_idle(self.ns)
        self.assertEqual(bad.count(), 3, bad.requests)
        self.assertEqual(self.ns.client().stream_info(DLQ)["state"]["messages"], 1)

    def test_no_route(self):
        routed = self.receiver(name="routed")
        self.start([{"domain": "example.com", "endpoints": [routed.url()]}])
        sent = {"domain": "nowhere.test", "x": [1, 2]}
        j = self.assert_accepted(self.eh.post_event(sent))
        msg = self.dlq_entries(1)[0]
        self.assertEqual(msg["subject"], "dlq.EVENTS.nowhere_test")
        rec = json.loads(msg["data"])
        self.check_common(rec, "no_route", j["stream_seq"], "events.nowhere_test")
        self.assertEqual(rec.get("domain"), "nowhere.test", rec)
        self.assertEqual(rec.get("event_id"), j["event_id"], rec)
        self.assertEqual(rec["event"]["x"], [1, 2], rec)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(routed.count(), 0, routed.requests)

        # Routed events still flow.
        self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        routed.wait_for(1, timeout=10)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.ns.client().stream_info(DLQ)["state"]["messages"], 1)

    def test_invalid_json_in_stream(self):
        rcv = self.receiver(name="rcv")
        self.start([{"domain": "example.com", "endpoints": [rcv.url()]}])
        raw = b'{"domain":"example.com", not json'
        ack = self.ns.client().publish_js("events.example_com", raw)
        self.assertEqual(ack["stream"], "EVENTS")
        msg = self.dlq_entries(1)[0]
        rec = json.loads(msg["data"])
        self.check_common(rec, "invalid_json", ack["seq"], "events.example_com")
        self.assertEqual(rec.get("event_raw"), raw.decode(), rec)
        self.assertNotIn("event", rec, "invalid JSON cannot be embedded as an event")
        self.assertTrue(msg["subject"].startswith("dlq.EVENTS."), msg["subject"])
        self.wait_consumer_idle(self.ns)
        self.assertEqual(rcv.count(), 0, rcv.requests)

        # A JSON object without a usable domain published straight into the stream is not
        # deliverable either; it must not wedge the consumer.
        ack2 = self.ns.client().publish_js("events.example_com", b"[1,2,3]")
        msgs = self.dlq_entries(2)
        rec2 = json.loads(msgs[1]["data"])
        self.assertEqual(rec2.get("stream_seq"), ack2["seq"], rec2)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(rcv.count(), 0, rcv.requests)

    def test_custom_dead_letter_names(self):
        bad = self.receiver(status=503, name="bad")
        self.start([{"domain": "example.com", "endpoints": [bad.url()]}],
                   max_deliveries=2,
                   dead_letter={"stream": "GRAVEYARD", "subject_prefix": "rip.events"})
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        msgs = harness.wait_until(lambda: self.ns.client().msgs("GRAVEYARD"), 15, "a dead letter in GRAVEYARD")
        self.assertEqual(msgs[0]["subject"], "rip.events.example_com")
        rec = json.loads(msgs[0]["data"])
        self.assertEqual(rec["reason"], "max_deliveries_exceeded")
        self.assertEqual(rec["attempts"], 2)
        self.assertEqual(rec["event_id"], j["event_id"])
        self.assertEqual(rec["endpoints"][0]["status"], 503)
        self.assertEqual(bad.count(), 2)


if __name__ == "__main__":
    harness.main()
