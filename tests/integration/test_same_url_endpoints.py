#!/usr/bin/env python3
"""
Two endpoints of one route may share a URL and differ by their headers (one gateway,
two targets). When one answers 2xx and the other fails, the retry must still call the
failing one: "already delivered" is remembered per endpoint (URL and headers), not per
URL. The event is acked only once both targets have it.
"""
import harness
from harness import base_config


class SameUrlEndpoints(harness.TestCase):
    def test_retry_reaches_the_endpoint_that_failed(self):
        ns = self.nats()
        failed_once = set()

        def status(req):
            # Target b fails its first request, then succeeds; target a always succeeds.
            if req.header("X-Target") == "b" and "b" not in failed_once:
                failed_once.add("b")
                return 500
            return 200
        gw = self.receiver(status=status, name="gateway")
        route = {"domain": "example.com", "endpoints": [
            {"url": gw.url("/in"), "headers": {"X-Target": "a"}},
            {"url": gw.url("/in"), "headers": {"X-Target": "b"}},
        ]}
        eh = self.eventhub(base_config(ns.url, [route], delivery={"backoff": ["200ms"]}))
        eid = self.assert_accepted(eh.post_event({"domain": "example.com"}))["event_id"]

        def both_delivered():
            got = [(r.header("X-Target"), r.status) for r in gw.requests_for(eid)]
            return got if ("a", 200) in got and ("b", 200) in got else None
        got = harness.wait_until(both_delivered, 15, "both targets to answer 200")
        self.assertEqual(sorted(got), [("a", 200), ("b", 200), ("b", 500)], got)

        def idle():
            ci = ns.client().consumer_info("EVENTS", "eventhub")
            return ci["num_ack_pending"] == 0 and ci["num_pending"] == 0
        harness.wait_until(idle, 10, "the message to be acked")


if __name__ == "__main__":
    harness.main()
