#!/usr/bin/env python3
"""
W3C trace context end to end: a traceparent (and tracestate) on POST /events is kept
with the stored event and sent on every webhook call for it, as a new span of the same
trace each attempt — also on retries from the retry stream. Invalid values are
ignored, and an event without one gets none. Real binary, nats-server and receivers.
"""

import harness
from harness import base_config

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


class TraceContext(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.a = self.receiver(status=[500, 200], name="a")  # first call fails: a retry
        self.b = self.receiver(name="b")
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.a.url("/a"), self.b.url("/b")]}],
            delivery={"backoff": ["100ms"]}))

    def post(self, event_id, headers):
        return self.assert_accepted(self.eh.post_event(
            {"domain": "example.com", "event_id": event_id}, headers=headers))

    def assert_child(self, value, what):
        self.assertIsNotNone(value, "%s: no traceparent" % what)
        version, trace_id, span, flags = value.split("-")
        self.assertEqual((version, trace_id, flags), ("00", PARENT.split("-")[1], "01"), value)
        self.assertRegex(span, r"^[0-9a-f]{16}$")
        self.assertNotEqual(span, PARENT.split("-")[2], "%s: the upstream's own span id" % what)
        return span

    def test_traceparent_follows_every_attempt(self):
        self.post("t-1", {"traceparent": PARENT, "tracestate": STATE})
        calls = self.a.wait_for(2, timeout=15, pred=lambda r: r.event_id == "t-1")
        self.b.wait_for(1, timeout=10)
        spans = [self.assert_child(r.header("traceparent"), "a attempt %d" % r.attempt) for r in calls]
        spans.append(self.assert_child(self.b.requests[0].header("traceparent"), "b"))
        self.assertEqual(len(set(spans)), 3, "each call is its own span: %r" % spans)
        for r in calls + self.b.requests:
            self.assertEqual(r.header("tracestate"), STATE)
        self.assertEqual([r.attempt for r in calls], [1, 2])
        # The stored message keeps the upstream's own value.
        msgs = self.ns.client().msgs("EVENTS")
        hdrs = {k.lower(): v for k, v in msgs[0]["headers"].items()}
        self.assertEqual(hdrs.get("traceparent"), [PARENT], hdrs)

    def test_invalid_or_missing_traceparent_sends_none(self):
        self.a.set_status(200)
        self.post("t-2", {"traceparent": PARENT.upper(), "tracestate": STATE})
        self.post("t-3", {})
        for eid in ("t-2", "t-3"):
            got = self.b.wait_for(1, timeout=10, pred=lambda r, e=eid: r.event_id == e)[0]
            self.assertIsNone(got.header("traceparent"), got.headers)
            self.assertIsNone(got.header("tracestate"), got.headers)


if __name__ == "__main__":
    harness.main()
