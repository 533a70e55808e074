#!/usr/bin/env python3
"""
Raw FreeSWITCH events (esl[].publish: events | both): each event FreeSWITCH sends
becomes one JSON object with every header (a repeated header as an array, "ARRAY::"
values as arrays), "_body" when it has one, plus "domain", "event_id" =
"<Core-UUID>:<Event-Sequence>" (also its Nats-Msg-Id), "received_at" and "esl_node".
Events without a resolvable domain are not published unless default_domain is set.
routes[].events picks the kinds a route gets; what a route does not want is acked
without calling it.
"""

import json

import harness
from esl_harness import (ANSWERED, JSON, PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff,
                         resolve_domain, subject_for)


class EslRawEvents(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")

    def replayed(self, fs, eh, index=0):
        """The frames the fake sent on connection `index`, once eventhub read them all."""
        conn = fs.wait_subscribed(index + 1)
        harness.wait_until(conn.script_done.is_set, 15, "the fake to finish its replay")
        sent = list(conn.sent)
        self.wait_esl(eh, lambda e: e.get("events_received") == len(sent) and e.get("buffered") == 0,
                      15, "eventhub to read all %d events and store them" % len(sent))
        return sent

    def check_stream(self, sent, default=None, signals=(), skip=()):
        """Every sent event with a domain is stored once, as documented; nothing else but
        the given signals is. Events named in skip are left out of the check."""
        expected = [(f, resolve_domain(f, default)) for f in sent if f.event_name not in skip]
        published = [(f, d) for f, d in expected if d is not None]
        self.assertTrue(published, "nothing to publish in this replay")
        last = {}

        def all_stored():
            last["byid"] = b = self.by_msg_id(self.ns)
            return b if all(f.event_id in b for f, _ in published) else None
        try:
            byid = harness.wait_until(all_stored, 15, "all %d raw events in the stream" % len(published))
        except harness.WaitTimeout as e:
            missing = [f for f, _ in published if f.event_id not in last.get("byid", {})]
            raise AssertionError("%s; missing: %r" % (e, missing))
        for f, d in published:
            msgs = byid[f.event_id]
            self.assertEqual(len(msgs), 1, "raw event %s stored %d times" % (f.event_id, len(msgs)))
            self.assertEqual(msgs[0]["subject"], subject_for(d), f)
            obj = json.loads(msgs[0]["data"])
            self.assert_raw_event(obj, f, d)
        unpublished = [f.event_id for f, d in expected if d is None]
        for eid in unpublished:
            self.assertNotIn(eid, byid, "an event without a domain was published")
        want = {f.event_id for f, _ in published} | set(signals)
        skipped = {f.event_id for f in sent if f.event_name in skip}
        self.assertEqual(set(byid) - skipped, want, "unexpected messages in the stream")
        return published, unpublished

    def test_publish_events_plain_all(self):
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        eh = self.eventhub(esl_config(self.ns, [esl_node(fs, publish="events", events=["ALL"])],
                                      [{"domain": "example.com", "endpoints": [self.rcv.url()]}]))
        sent = self.replayed(fs, eh)
        self.assertEqual(len(sent), len(Fixture(PLAIN).events))
        published, unpublished = self.check_stream(sent)
        self.assertIn("BACKGROUND_JOB", [f.event_name for f in sent])
        self.assertTrue(unpublished, "the capture has events without a domain (HEARTBEAT, CODEC, ...)")
        e = self.wait_esl(eh, lambda e: e.get("events_published") == len(published),
                          what="events_published == %d" % len(published))
        self.assertEqual(e["signals_published"], 0, "publish: events published a call signal: %r" % e)
        # events without a domain are counted (HEARTBEAT among them or not: see
        # test_heartbeat_with_default_domain)
        not_hb = [i for i in unpublished if i != Fixture(PLAIN).heartbeat().event_id]
        self.assertIn(e.get("no_domain"), (len(unpublished), len(not_hb)), e)
        self.assertEqual(e["dropped"], 0, e)
        # each stored raw event is delivered once, with its id
        self.wait_consumer_idle(self.ns, timeout=20)
        counts = self.rcv.event_ids()
        self.assertEqual(counts, {f.event_id: 1 for f, _ in published})
        for r in self.rcv.requests:
            self.assertEqual(r.json()["event_id"], r.event_id)
            self.assertEqual(r.header("x-domain"), "example.com")
        self.assertEqual(self.dlq_count(self.ns), 0)

    def test_publish_both_json_with_default_domain(self):
        pbx = self.receiver(name="pbx")
        fs = self.fake_fs(script=[ff.Replay(JSON)])
        eh = self.eventhub(esl_config(
            self.ns, [esl_node(fs, publish="both", format="json", events=["ALL"],
                               default_domain="pbx.example.net")],
            [{"domain": "example.com", "endpoints": [self.rcv.url()]},
             {"domain": "pbx.example.net", "endpoints": [pbx.url()]}]))
        fix = Fixture(JSON)
        sent = self.replayed(fs, eh)
        self.assertEqual(len(sent), len(fix.events))
        # (HEARTBEAT is published too: it resolves to the default domain)
        published, unpublished = self.check_stream(sent, default="pbx.example.net", signals=[fix.signal_id])
        self.assertEqual(unpublished, [])
        self.assert_signal_stored_once(self.ns, fix, ANSWERED)
        # the shapes that need care: a body, a repeated header, an array value
        bj = json.loads(self.by_msg_id(self.ns)[fix.first("BACKGROUND_JOB").event_id][0]["data"])
        self.assertEqual(bj["_body"], "+OK af3b144d-cb2d-46c5-b118-839e114b8041\n")
        self.assertEqual(bj["domain"], "pbx.example.net")
        hc = fix.first("CHANNEL_HANGUP_COMPLETE")
        obj = json.loads(self.by_msg_id(self.ns)[hc.event_id][0]["data"])
        self.assertIsInstance(obj["Hangup-Cause"], list, obj.get("Hangup-Cause"))
        self.assertEqual(obj["variable_DP_MATCH"], ["0987654321", "0987654321"])
        e = self.wait_esl(eh, lambda e: e.get("events_published") == len(published)
                          and e.get("signals_published") == 1,
                          what="events_published %d, signals_published 1" % len(published))
        self.assertEqual(e["dropped"], 0, e)
        self.wait_consumer_idle(self.ns, timeout=20)
        to_pbx = {f.event_id for f, d in published if d == "pbx.example.net"}
        to_rcv = {f.event_id for f, d in published if d == "example.com"} | {fix.signal_id}
        self.assertEqual(self.rcv.event_ids(), {i: 1 for i in to_rcv})
        self.assertEqual(pbx.event_ids(), {i: 1 for i in to_pbx})

    def test_heartbeat_with_default_domain(self):
        # HEARTBEAT is a selected event (it is even in the default list): with a
        # default_domain it has a domain, so it is published like any other event.
        pbx = self.receiver(name="pbx")
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        eh = self.eventhub(esl_config(
            self.ns, [esl_node(fs, publish="events", default_domain="pbx.example.net")],
            [{"domain": "example.com", "endpoints": [self.rcv.url()]},
             {"domain": "pbx.example.net", "endpoints": [pbx.url()]}]))
        sent = self.replayed(fs, eh)
        self.assertIn("HEARTBEAT", [f.event_name for f in sent])
        published, unpublished = self.check_stream(sent, default="pbx.example.net")
        self.assertEqual(unpublished, [])
        hb = Fixture(PLAIN).heartbeat()
        pbx.wait_for(1, timeout=15)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(pbx.event_ids(), {hb.event_id: 1})

    def test_route_event_kinds(self):
        net = self.receiver(name="net")
        call1 = Fixture(PLAIN)
        call2 = Fixture(PLAIN).distinct(1).rewrite({"example.com": "example.net"}, name="call2@example.net")
        fs = self.fake_fs(script=[ff.Replay(call1), ff.Replay(call2)])
        eh = self.eventhub(esl_config(
            self.ns, [esl_node(fs, publish="both")],
            [{"domain": "example.com", "endpoints": [self.rcv.url()], "events": ["call_signal"]},
             {"domain": "example.net", "endpoints": [net.url()], "events": ["CHANNEL_ANSWER", "ingress"]}]))
        sent = self.replayed(fs, eh)
        signal2 = call2.signal_id
        self.check_stream(sent, signals=[call1.signal_id, signal2])
        ing1 = self.assert_accepted(eh.post_event({"domain": "example.com", "n": "not-wanted"}))
        ing2 = self.assert_accepted(eh.post_event({"domain": "example.net", "n": "wanted"}))
        self.wait_consumer_idle(self.ns, timeout=20)
        answers2 = [f.event_id for f in sent if f.event_name == "CHANNEL_ANSWER" and "example.net" in f.raw.decode()]
        self.assertEqual(len(answers2), 2)
        self.assertEqual(self.rcv.event_ids(), {call1.signal_id: 1},
                         "a route with events: [call_signal] got other kinds")
        self.assertEqual(net.event_ids(), dict([(i, 1) for i in answers2] + [(ing2["event_id"], 1)]),
                         "a route with events: [CHANNEL_ANSWER, ingress] got other kinds")
        self.assertNotIn(ing1["event_id"], self.rcv.event_ids())
        self.assertEqual(self.dlq_count(self.ns), 0, "unwanted kinds were dead-lettered instead of acked")
        sig = self.rcv.requests_for(call1.signal_id)[0].json()
        self.assert_signal(sig, call1, ANSWERED)
        self.assertTrue(eh.running)

    def test_custom_events(self):
        # esl[].events lists CUSTOM first: FreeSWITCH reads every word after "CUSTOM" as
        # a subclass, so eventhub must still get CHANNEL_ANSWER and HEARTBEAT subscribed.
        def custom(sub, seq):
            return ff.make_event([("Event-Name", "CUSTOM"), ("Core-UUID", "7b0c0e1a-1111-4222-8333-944455556666"),
                                  ("Event-Sequence", str(seq)), ("Event-Subclass", sub),
                                  ("variable_domain_name", "example.com"), ("Profile-Name", "internal")])
        reg = custom("sofia::register", 10)
        fix = Fixture(PLAIN)
        fs = self.fake_fs(script=[ff.Replay(Fixture([reg])), ff.Replay(fix)])
        eh = self.eventhub(esl_config(
            self.ns, [esl_node(fs, publish="events", events=["CUSTOM sofia::register", "CHANNEL_ANSWER"])],
            [{"domain": "example.com", "endpoints": [self.rcv.url()], "events": ["CUSTOM sofia::register"]}]))
        conn = fs.wait_subscribed(1)
        self.assertIn("CHANNEL_ANSWER", conn.events,
                      "CHANNEL_ANSWER not subscribed as FreeSWITCH reads %r" % conn.commands[1])
        self.assertIn("HEARTBEAT", conn.events,
                      "HEARTBEAT not subscribed as FreeSWITCH reads %r (the watchdog would fire)" % conn.commands[1])
        self.assertEqual(conn.subclasses, {"sofia::register"}, conn.commands[1])
        sent = self.replayed(fs, eh)
        answers = [f for f in sent if f.event_name == "CHANNEL_ANSWER"]
        self.assertEqual(len(answers), 2)
        self.check_stream(sent)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rcv.event_ids(), {reg.event_id: 1},
                         "a route with events: [CUSTOM sofia::register] got other kinds")
        self.assert_raw_event(self.rcv.requests[0].json(), reg, "example.com")
        self.assertEqual(self.dlq_count(self.ns), 0)


if __name__ == "__main__":
    harness.main()
