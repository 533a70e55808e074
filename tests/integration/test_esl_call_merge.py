#!/usr/bin/env python3
"""
One signal per call however FreeSWITCH built it, across reconnects and two instances:
the real binary, a real nats-server, a fake FreeSWITCH replaying the recorded SIP
hairpin, SIP caller cancel and hotline → agent captures, and a real webhook receiver.

A hairpin's two channels share only variable_sip_call_id; the connection drops before
and after the event that reveals it (the outbound channel's CHANNEL_PROGRESS), and the
call still yields exactly one signal, named by the outbound channel, with FreeSWITCH's
billsec. Also: calls.signal_format typed, and calls.fields read from channel variables.
"""

import harness
from esl_harness import EslTestCase, Fixture, esl_config, esl_node, ff

HAIRPIN = "sip-hairpin.plain.txt"
CANCEL_SIP = "cancel-call-sip.plain.txt"
HOTLINE = "hotline-bridge.plain.txt"

HAIRPIN_SIGNAL = {"domain": "example.com", "direction": "outbound", "from_number": "0914315993",
                  "to_number": "0987654321", "hotline": "", "receive_dest": "0987654321",
                  "sip_call_id": "27f5a1d8-68b3-1240-e9b3-d67693399e38", "state": "answered",
                  "status": "completed", "duration": "2", "billsec": "2",
                  "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "recv_bye",
                  "network": "", "provider": "", "actual_hotline": "", "crm_contact_id": "",
                  "live": False}
CANCEL_SIGNAL = {"direction": "outbound", "from_number": "0914315994", "state": "missed",
                 "status": "cancelled", "billsec": "0", "duration": "1", "time_answered": "",
                 "hangup_cause": "NO_ANSWER", "sip_hangup_disposition": "send_cancel"}
HOTLINE_SIGNAL = {"from_number": "0914315991", "to_number": "", "hotline": "02743857008",
                  "receive_dest": "2006", "state": "answered", "status": "completed",
                  "duration": "3", "billsec": "2"}


class EslCallMerge(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")

    def config(self, fs, calls=None):
        cfg = esl_config(self.ns, [esl_node(fs)],
                         [{"domain": "example.com", "endpoints": [self.rcv.url()]}])
        if calls:
            cfg["calls"].update(calls)
        return cfg

    def call_signals(self):
        return {e: n for e, n in self.rcv.event_ids().items() if e and e.startswith("call-")}

    def assert_one_signal(self, fix, expect, eh):
        req = self.wait_signal(self.rcv, fix.signal_id, timeout=20)
        sig = req.json()
        for k, v in expect.items():
            self.assertEqual(sig.get(k), v, "signal %s: %r" % (k, sig))
        self.assertEqual(sig["call_id"], fix.a_leg, sig)
        self.wait_esl(eh, lambda e: e.get("buffered") == 0 and e.get("live_calls", 0) == 0,
                      what="every call ended, nothing buffered")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.call_signals(), {fix.signal_id: 1})
        self.assertEqual(len(self.by_msg_id(self.ns).get(fix.signal_id, [])), 1)
        return sig

    def reconnect_at(self, fix, k):
        """A FreeSWITCH that drops the connection after event k and goes on from k."""
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(fix, stop=k), ff.DisconnectNotice()])
        fs.script_for(1, [ff.Replay(fix, start=k)])
        return fs

    def test_hairpin_is_one_call(self):
        fix = Fixture(HAIRPIN)
        fs = self.fake_fs(script=[ff.Replay(fix, chunk=97)])
        eh = self.eventhub(self.config(fs))
        sig = self.assert_one_signal(fix, HAIRPIN_SIGNAL, eh)
        self.assertEqual(sig["call_id"], "6e6d5074-54df-4ce1-a746-b2df2b65fc94")  # outbound

    def hairpin_across_a_reconnect(self, offset):
        fix = Fixture(HAIRPIN)
        progress = [i for i, f in enumerate(fix.events)
                    if f.event_name == "CHANNEL_PROGRESS" and f.unique_id == fix.a_leg][0]
        fs = self.reconnect_at(fix, progress + offset)
        eh = self.eventhub(self.config(fs))
        fs.wait_connections(2, timeout=15)
        self.assert_one_signal(fix, HAIRPIN_SIGNAL, eh)

    def test_hairpin_reconnect_before_the_dialog_is_named(self):
        # the outbound channel's CHANNEL_PROGRESS (its first event with the Call-ID)
        # comes on the second connection
        self.hairpin_across_a_reconnect(-1)

    def test_hairpin_reconnect_after_the_dialog_is_named(self):
        self.hairpin_across_a_reconnect(+1)

    def test_sip_caller_cancel_is_cancelled(self):
        fix = Fixture(CANCEL_SIP)
        k = fix.index_of("CHANNEL_HANGUP")
        fs = self.reconnect_at(fix, k)
        eh = self.eventhub(self.config(fs))
        self.assert_one_signal(fix, CANCEL_SIGNAL, eh)

    def test_hotline_across_a_reconnect(self):
        fix = Fixture(HOTLINE)
        fs = self.reconnect_at(fix, fix.index_of("CHANNEL_BRIDGE"))
        eh = self.eventhub(self.config(fs))
        self.assert_one_signal(fix, HOTLINE_SIGNAL, eh)

    def test_two_instances_store_the_hairpin_once(self):
        calls = [Fixture(HAIRPIN), Fixture(CANCEL_SIP), Fixture(HOTLINE)]
        fs = self.fake_fs(script=[ff.Replay(c) for c in calls])
        a = self.eventhub(self.config(fs), name="eh-a")
        b = self.eventhub(self.config(fs), name="eh-b")
        fs.wait_subscribed(1)
        fs.wait_subscribed(2)
        for c in calls:
            self.wait_signal(self.rcv, c.signal_id, timeout=20)
        for eh in (a, b):
            self.wait_esl(eh, lambda e: e.get("signals_published") == len(calls) and e.get("buffered") == 0,
                          20, "%s published %d signals" % (eh.name, len(calls)))
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.call_signals(), {c.signal_id: 1 for c in calls})
        by_id = self.by_msg_id(self.ns)
        for c in calls:
            self.assertEqual(len(by_id.get(c.signal_id, [])), 1, c.signal_id)

    def test_typed_form_and_named_fields(self):
        fix = Fixture(HAIRPIN)
        fs = self.fake_fs(script=[ff.Replay(fix)])
        eh = self.eventhub(self.config(fs, calls={
            "signal_format": "typed",
            "fields": {"network": "variable_sofia_profile_name", "provider": "variable_no_such"}}))
        sig = self.wait_signal(self.rcv, fix.signal_id, timeout=20).json()
        self.assertEqual(sig["billsec"], 2, sig)  # numbers in the typed form
        self.assertEqual(sig["duration"], 2, sig)
        self.assertEqual(sig["network"], "internal", sig)
        self.assertIsNone(sig["provider"], sig)  # configured, not on the channel
        self.assertNotIn("crm_contact_id", sig)  # not configured
        self.assertNotIn("hotline", sig)
        cfg = eh.request("GET", "/api/v1/config").json["settings"]
        self.assertEqual(cfg["calls"]["signal_format"], "typed", cfg["calls"])
        self.assertEqual(cfg["calls"]["fields"], {"network": "variable_sofia_profile_name",
                                                  "provider": "variable_no_such"})


if __name__ == "__main__":
    harness.main()
