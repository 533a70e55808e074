#!/usr/bin/env python3
"""
FreeSWITCH calls become call signals: eventhub logs in to a (fake) FreeSWITCH over the
Event Socket, subscribes, and turns each finished call of the real captures into ONE
call signal, stored in JetStream (subject events.<domain token>, Nats-Msg-Id = its
event_id "call-<A-leg uuid>-end") and delivered once to the domain's endpoints.
/health reports the node; a FreeSWITCH that cannot be reached does not make eventhub
unhealthy (ingress keeps working).
"""

import json

import harness
from esl_harness import (ANSWERED, BUSY, BUSY_SIGNAL, DEFAULT_EVENTS, JSON, PLAIN, EslTestCase,
                         Fixture, esl_config, esl_node, ff)


class EslSignals(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        self.other = self.receiver(name="other")
        self.routes = [{"domain": "example.com", "endpoints": [self.rcv.url()]},
                       {"domain": "other.org", "endpoints": [self.other.url()]}]

    def start(self, fs, **node):
        return self.eventhub(esl_config(self.ns, [esl_node(fs, **node)], self.routes))

    def check_one_call(self, eh, fs, fix, expect, fmt="plain"):
        conn = fs.wait_subscribed(1)
        req = self.wait_signal(self.rcv, fix.signal_id)
        # the webhook
        self.assertEqual(req.header("x-event-id"), fix.signal_id)
        self.assertEqual(req.header("x-domain"), "example.com")
        self.assertEqual(req.header("x-delivery-attempt"), "1")
        delivered = req.json()
        self.assert_signal(delivered, fix, expect)
        self.assertEqual(delivered.get("delivery_attempt"), 1)
        # the stored message
        stored = self.assert_signal_stored_once(self.ns, fix, expect)
        for k, v in stored.items():
            self.assertEqual(delivered.get(k), v, "delivered signal differs from the stored one at %r" % k)
        # the conversation
        self.assertEqual(conn.commands[0], "auth ClueCon")
        verb, f, names = conn.commands[1].split(" ", 2)
        self.assertEqual((verb, f), ("event", fmt), conn.commands)
        self.assertEqual(sorted(names.split()), sorted(DEFAULT_EVENTS), conn.commands[1])
        self.assertEqual(len(conn.commands), 2, "commands beyond auth and event: %r" % (conn.commands,))
        # /health once everything sent was read and the signal stored
        harness.wait_until(conn.script_done.is_set, 10, "the fake to finish its replay")
        sent = len(conn.sent)
        e = self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("signals_published") == 1
                          and e.get("buffered") == 0,
                          what="esl health: events_received %d, signals_published 1, buffered 0" % sent)
        self.assert_esl_entry_shape(e)
        self.assertEqual(e["state"], "connected", e)
        self.assertEqual(e["events_published"], 0, e)
        self.assertEqual(e["dropped"], 0, e)
        self.assertEqual(e["reconnects"], 0, e)
        h = eh.health()
        self.assertEqual(h.status, 200, h)
        # exactly once
        self.wait_consumer_idle(self.ns)
        self.assertEqual(len(self.rcv.requests_for(fix.signal_id)), 1, self.rcv.requests)
        self.assertEqual(self.rcv.count(), 1, self.rcv.requests)
        self.assertEqual(self.other.count(), 0, "another domain's endpoint got the call")
        self.assertEqual(fs.connection_count, 1, "eventhub reconnected during a clean replay")
        self.assertTrue(eh.running)
        self.assertEqual(self.dlq_count(self.ns), 0)

    def test_answered_call_plain(self):
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        eh = self.start(fs)
        self.check_one_call(eh, fs, Fixture(PLAIN), ANSWERED)
        self.assertTrue(eh.find_log(lambda l: l.get("subsystem") == "esl"),
                        "no log line with subsystem \"esl\"")

    def test_answered_call_json(self):
        fs = self.fake_fs(script=[ff.Replay(JSON)])
        eh = self.start(fs, format="json")
        self.check_one_call(eh, fs, Fixture(JSON), ANSWERED, fmt="json")

    def test_busy_call(self):
        fs = self.fake_fs(script=[ff.Replay(BUSY)])
        eh = self.start(fs)
        self.check_one_call(eh, fs, Fixture(BUSY), BUSY_SIGNAL)

    def test_subscription_filters_and_logs(self):
        fs = self.fake_fs(script=[ff.WaitCommand("filter ", 2), ff.Replay(PLAIN)])
        eh = self.start(fs, events=["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP",
                                    "CHANNEL_HANGUP_COMPLETE"],
                        filters=["variable_domain_name example.com", "Event-Name HEARTBEAT"],
                        logs="warning")
        conn = fs.wait_subscribed(1)
        conn.wait_command("log ", 1)
        cmds = conn.commands
        self.assertEqual(cmds[0], "auth ClueCon")
        verb, fmt, names = cmds[1].split(" ", 2)
        self.assertEqual((verb, fmt), ("event", "plain"))
        # HEARTBEAT is added to a list without it (the watchdog needs it)
        self.assertEqual(sorted(names.split()), sorted(["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP",
                                                         "CHANNEL_HANGUP_COMPLETE", "HEARTBEAT"]), cmds[1])
        self.assertEqual(cmds[2:], ["filter variable_domain_name example.com", "filter Event-Name HEARTBEAT",
                                    "log warning"])
        self.assertEqual(conn.filters, [("variable_domain_name", "example.com"), ("Event-Name", "HEARTBEAT")])
        fix = Fixture(PLAIN)
        req = self.wait_signal(self.rcv, fix.signal_id)
        self.assert_signal(req.json(), fix, ANSWERED)
        self.wait_esl(eh, lambda e: e.get("state") == "connected")
        # the missing HEARTBEAT was warned about
        self.assertTrue(eh.find_log(lambda l: l.get("level") in ("warn", "warning") and
                                    "heartbeat" in str(l.get("msg", "")).lower()),
                        "no warning about HEARTBEAT missing from esl[0].events")

    def test_several_calls_on_one_connection(self):
        calls = [Fixture(PLAIN), Fixture(BUSY), Fixture(PLAIN).distinct(1), Fixture(PLAIN).distinct(2)]
        fs = self.fake_fs(script=[ff.Replay(c) for c in calls] + [ff.Replay(PLAIN)])  # the first again
        eh = self.start(fs)
        for c in calls:
            req = self.wait_signal(self.rcv, c.signal_id)
            self.assert_signal(req.json(), c, BUSY_SIGNAL if c.name.startswith("busy") else ANSWERED)
        conn = fs.conn(0)
        harness.wait_until(conn.script_done.is_set, 10, "the fake to finish its replay")
        sent = len(conn.sent)
        self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("buffered") == 0,
                      what="all %d events read" % sent)
        self.wait_consumer_idle(self.ns)
        counts = self.rcv.event_ids()
        self.assertEqual(counts, {c.signal_id: 1 for c in calls})
        byid = self.by_msg_id(self.ns)
        for c in calls:
            self.assertEqual(len(byid.get(c.signal_id, [])), 1, c.signal_id)
        self.assertEqual(len(byid), len(calls), "unexpected messages in the stream: %r" % list(byid))

    def test_call_without_domain(self):
        # the only domain source of the capture, variable_domain_name, becomes an IP
        # address, which is not a domain: no signal, counted, logged
        fix = Fixture(PLAIN).rewrite({"example.com": "192.0.2.77"}, name="no-domain")
        fs = self.fake_fs(script=[ff.Replay(fix)])
        eh = self.start(fs)
        conn = fs.wait_subscribed(1)
        harness.wait_until(conn.script_done.is_set, 10, "the fake to finish its replay")
        sent = len(conn.sent)
        e = self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("buffered") == 0,
                          what="every event read")
        self.assertEqual(e["signals_published"], 0, e)
        self.assertGreaterEqual(e.get("no_domain", 0), 1, "a call without a domain was not counted: %r" % e)
        self.wait_esl_log(eh, ("warn", "warning"), ["domain"])
        self.wait_consumer_idle(self.ns)
        self.assertNotIn(fix.signal_id, self.by_msg_id(self.ns))
        self.assertEqual(self.rcv.count() + self.other.count(), 0)

    def test_call_without_domain_uses_default_domain(self):
        fix = Fixture(PLAIN).rewrite({"example.com": "192.0.2.77"}, name="no-domain")
        fs = self.fake_fs(script=[ff.Replay(fix)])
        self.start(fs, default_domain="other.org")
        req = self.wait_signal(self.other, fix.signal_id)
        self.assert_signal(req.json(), fix, dict(ANSWERED, domain="other.org"))
        self.assert_signal_stored_once(self.ns, fix, dict(ANSWERED, domain="other.org"))
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rcv.count(), 0)

    def test_unreachable_freeswitch_keeps_ingress_healthy(self):
        fs = self.fake_fs()
        port = fs.port
        fs.close()  # nothing listens there any more
        eh = self.eventhub(esl_config(self.ns, [esl_node(fs, port=port)], self.routes))
        e = self.wait_esl(eh, lambda e: e.get("reconnects", 0) >= 2,
                          what="at least 2 reconnect attempts to a closed port")
        self.assert_esl_entry_shape(e)
        self.assertNotEqual(e["state"], "connected", e)
        self.assertTrue(e.get("last_error"), "no last_error while FreeSWITCH is unreachable: %r" % e)
        h = eh.health()
        self.assertEqual(h.status, 200, "an unreachable FreeSWITCH made /health %d: %r" % (h.status, h.raw))
        self.assertEqual(h.json.get("status"), "ok", h.json)
        j = self.assert_accepted(eh.post_event({"domain": "example.com", "n": "ingress-still-works"}))
        req = self.wait_signal(self.rcv, j["event_id"])
        self.assertEqual(json.loads(req.body)["n"], "ingress-still-works")
        self.assertTrue(eh.running)


if __name__ == "__main__":
    harness.main()
