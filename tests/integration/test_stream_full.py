#!/usr/bin/env python3
"""
Stream limits: with nats.stream.max_msgs 3 (discard new), the 4th event is refused
with 503 + Retry-After and nothing already accepted is dropped.
"""

import harness
from harness import base_config


class StreamFull(harness.TestCase):
    def test_fourth_event_is_503_and_first_three_are_kept(self):
        ns = self.nats()
        rcv = self.receiver(name="rcv")
        eh = self.eventhub(base_config(
            ns.url, [{"domain": "example.com", "endpoints": [rcv.url()]}],
            nats={"stream": {"max_msgs": 3}}))

        info = ns.client().stream_info("EVENTS")
        self.assertEqual(info["config"]["max_msgs"], 3, info["config"])
        self.assertEqual(info["config"]["discard"], "new", info["config"])

        ids = [self.assert_accepted(eh.post_event({"domain": "example.com", "n": i}))["event_id"]
               for i in range(3)]
        for n in (3, 4):
            r = eh.post_event({"domain": "example.com", "n": n})
            self.assert_error_body(r, 503)
            self.assertIn("retry-after", r.headers, r.headers)

        state = ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(state["messages"], 3, state)
        self.assertEqual(state["first_seq"], 1, state)
        self.assertEqual(state["last_seq"], 3, state)
        harness.wait_until(lambda: set(ids) <= set(rcv.event_ids()), 10, "the 3 accepted events delivered")
        self.wait_consumer_idle(ns)
        self.assertEqual(sorted(rcv.event_ids().values()), [1, 1, 1], rcv.requests)
        self.assertEqual(eh.health().status, 200, "a full stream is not a broken connection")

    def test_max_bytes_full_is_503(self):
        ns = self.nats()
        rcv = self.receiver(name="rcv")
        eh = self.eventhub(base_config(
            ns.url, [{"domain": "example.com", "endpoints": [rcv.url()]}],
            nats={"stream": {"max_bytes": 4096}}))
        accepted, refused = [], None
        for i in range(20):
            r = eh.post_event({"domain": "example.com", "n": i, "pad": "x" * 500})
            if r.status == 202:
                accepted.append(r.json["event_id"])
                continue
            refused = r
            break
        self.assertIsNotNone(refused, "20 x 600 bytes fit into a 4 KiB stream?")
        self.assert_error_body(refused, 503)
        self.assertIn("retry-after", refused.headers)
        self.assertTrue(accepted, "nothing was accepted before the stream filled up")
        self.assertEqual(ns.client().stream_info("EVENTS")["state"]["messages"], len(accepted))
        harness.wait_until(lambda: set(accepted) <= set(rcv.event_ids()), 10, "accepted events delivered")


if __name__ == "__main__":
    harness.main()
