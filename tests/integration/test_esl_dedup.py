#!/usr/bin/env python3
"""
Each call signal reaches the receiver once even when it is produced more than once:
after an eventhub restart (graceful or SIGKILL) FreeSWITCH sends the same call again,
after a FreeSWITCH disconnect the call is sent again, and two eventhub instances
(high availability) follow the same FreeSWITCH with the same stream and consumer. The
signal's Nats-Msg-Id ("call-<A-leg uuid>-end") makes JetStream store it once within the
duplicate window; the shared consumer delivers it once.
"""

import signal

import harness
from esl_harness import ANSWERED, BUSY, BUSY_SIGNAL, PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff


class EslDedup(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")

    def config(self, fs, **node):
        return esl_config(self.ns, [esl_node(fs, **node)],
                          [{"domain": "example.com", "endpoints": [self.rcv.url()]}])

    def wait_read(self, eh, conns, signals):
        """Waits until eventhub read every event the given connections sent and queued
        `signals` signals, with nothing left buffered."""
        for c in conns:
            harness.wait_until(c.script_done.is_set, 15, "fake connection #%d to finish" % c.index)
        sent = sum(len(c.sent) for c in conns)
        return self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("buffered") == 0
                             and e.get("signals_published") == signals, 20,
                             "%s: %d events read, %d signals published, nothing buffered" % (eh.name, sent, signals))

    def assert_once(self, calls):
        self.wait_consumer_idle(self.ns, timeout=20)
        self.assertEqual(self.rcv.event_ids(), {c.signal_id: 1 for c in calls})
        byid = self.by_msg_id(self.ns)
        for c in calls:
            self.assertEqual(len(byid.get(c.signal_id, [])), 1, "%s stored %d times" % (
                c.signal_id, len(byid.get(c.signal_id, []))))
        self.assertEqual(set(byid), {c.signal_id for c in calls}, "unexpected messages in the stream")

    def restart_case(self, how):
        fix = Fixture(PLAIN)
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])  # every connection gets the same call
        eh = self.eventhub(self.config(fs))
        c0 = fs.wait_subscribed(1)
        self.assert_signal(self.wait_signal(self.rcv, fix.signal_id).json(), fix, ANSWERED)
        self.wait_read(eh, [c0], 1)
        self.wait_consumer_idle(self.ns)
        if how == "kill":
            eh.kill9()
        else:
            self.assertEqual(eh.stop(signal.SIGTERM), 0)
        harness.wait_until(c0.closed.is_set, 10, "the fake to see eventhub's connection close")
        eh.start()
        c1 = fs.wait_subscribed(2)
        self.wait_read(eh, [c1], 1)  # the new process saw the call and published its signal again
        self.assert_once([fix])
        self.assertTrue(eh.running)

    def test_graceful_restart_replays_once(self):
        self.restart_case("term")

    def test_killed_restart_replays_once(self):
        self.restart_case("kill")

    def test_freeswitch_disconnect_and_resend(self):
        fix = Fixture(PLAIN)
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN), ff.DisconnectNotice()])
        fs.script_for(1, [ff.Replay(PLAIN)])
        eh = self.eventhub(self.config(fs))
        c1 = fs.wait_subscribed(2, timeout=15)
        harness.wait_until(c1.script_done.is_set, 15, "the second replay")
        sent = len(fs.conn(0).sent) + len(c1.sent)
        self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("buffered") == 0, 20,
                      "both replays read")
        self.assert_signal(self.wait_signal(self.rcv, fix.signal_id).json(), fix, ANSWERED)
        self.assert_once([fix])

    def test_two_instances_on_one_freeswitch(self):
        calls = [Fixture(PLAIN), Fixture(BUSY)] + [Fixture(PLAIN).distinct(i) for i in (1, 2, 3)]
        fs = self.fake_fs(script=[ff.Replay(c) for c in calls])  # both connections see every call
        a = self.eventhub(self.config(fs), name="eh-a")
        b = self.eventhub(self.config(fs), name="eh-b")
        conns = [fs.wait_subscribed(1), fs.wait_subscribed(2)]
        for c in calls:
            req = self.wait_signal(self.rcv, c.signal_id, timeout=20)
            self.assert_signal(req.json(), c, BUSY_SIGNAL if c.name.startswith("busy") else ANSWERED)
        # both instances produced every signal (so the single copy is JetStream's doing)
        for eh in (a, b):
            e = self.wait_esl(eh, lambda e: e.get("signals_published") == len(calls) and e.get("buffered") == 0,
                              20, "%s published %d signals" % (eh.name, len(calls)))
            self.assertEqual(e["dropped"], 0, e)
        self.assertEqual(fs.connection_count, 2, [c for c in fs.connections])
        self.assertEqual(sorted(c.index for c in conns), [0, 1])
        self.assert_once(calls)
        st = self.ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(st["messages"], len(calls), st)


if __name__ == "__main__":
    harness.main()
