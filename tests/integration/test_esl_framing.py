#!/usr/bin/env python3
"""
Frames split at awkward byte boundaries: the same call sent one byte at a time, in
7-byte and 1000-byte pieces (pieces that end one frame and start the next), or cut
inside a header line, inside the Content-Length value, between the two newlines that
end the header block and in the middle of the body, must give exactly the same call
signal as when it arrives whole — on one connection, with no protocol error.
"""

import json

import harness
from esl_harness import (ANSWERED, BUSY, BUSY_SIGNAL, JSON, PLAIN, EslTestCase, Fixture, esl_config,
                         esl_node, ff)


class EslFraming(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")

    def run_call(self, replay, fix, expect, fmt="plain", publish="signals"):
        fs = self.fake_fs(script=[replay])
        eh = self.eventhub(esl_config(self.ns, [esl_node(fs, format=fmt, publish=publish)],
                                      [{"domain": "example.com", "endpoints": [self.rcv.url()]}]))
        conn = fs.wait_subscribed(1)
        req = self.wait_signal(self.rcv, fix.signal_id, timeout=60)
        self.assert_signal(req.json(), fix, expect)
        harness.wait_until(conn.script_done.is_set, 60, "the fake to finish its replay")
        sent = len(conn.sent)
        self.assertEqual(sent, len(fix.select(ff.DEFAULT_EVENTS)))
        e = self.wait_esl(eh, lambda e: e.get("events_received") == sent and e.get("buffered") == 0,
                          what="every one of the %d events read" % sent)
        self.assertEqual(e["signals_published"], 1, e)
        self.assertEqual(e["events_published"], sent - 1 if publish == "both" else 0, e)  # all but HEARTBEAT
        self.assertEqual(e["reconnects"], 0, e)
        self.assertEqual(e["state"], "connected", e)
        self.assertEqual(fs.connection_count, 1, "eventhub dropped the connection over a split frame")
        self.assertFalse(conn.closed.is_set(), "eventhub closed the connection")
        self.assertFalse(self.esl_logs(eh, ("error",)), "esl error lines: %r" % self.esl_logs(eh, ("error",)))
        self.wait_consumer_idle(self.ns)
        want = {fix.signal_id: 1}
        if publish == "both":
            want.update({f.event_id: 1 for f in fix.select(ff.DEFAULT_EVENTS) if f.event_name != "HEARTBEAT"})
        self.assertEqual(self.rcv.event_ids(), want)
        self.assertEqual(len(self.by_msg_id(self.ns).get(fix.signal_id, [])), 1)
        return eh

    def test_one_byte_at_a_time(self):
        self.run_call(ff.Replay(PLAIN, chunk=1), Fixture(PLAIN), ANSWERED)

    def test_one_byte_at_a_time_json(self):
        self.run_call(ff.Replay(JSON, chunk=1), Fixture(JSON), ANSWERED, fmt="json")

    def test_small_pieces_across_frames(self):
        self.run_call(ff.Replay(BUSY, chunk=7, pace=0.0002), Fixture(BUSY), BUSY_SIGNAL)

    def test_large_pieces_across_frames(self):
        self.run_call(ff.Replay(PLAIN, chunk=1000, pace=0.001), Fixture(PLAIN), ANSWERED)

    def test_awkward_cuts(self):
        self.run_call(ff.Replay(PLAIN, cuts="awkward"), Fixture(PLAIN), ANSWERED)

    def test_awkward_cuts_json_raw_events(self):
        fix = Fixture(JSON)
        eh = self.run_call(ff.Replay(JSON, cuts="awkward"), fix, ANSWERED, fmt="json", publish="both")
        byid = self.by_msg_id(self.ns)
        for f in fix.select(ff.DEFAULT_EVENTS):
            if f.event_name == "HEARTBEAT":
                continue
            self.assertIn(f.event_id, byid, "raw event %s missing" % f.event_id)
            self.assert_raw_event(json.loads(byid[f.event_id][0]["data"]), f, "example.com")
        self.assertTrue(eh.running)

    def test_log_frames_between_events(self):
        # with logs: set, FreeSWITCH interleaves log/data frames with the events
        fix = Fixture(PLAIN)
        k = fix.index_of("CHANNEL_ANSWER")
        fs = self.fake_fs(script=[ff.WaitCommand("log "), ff.Replay(fix, stop=k), ff.LogData(),
                                  ff.LogData("an error line", level=3), ff.Replay(fix, start=k, chunk=3)])
        eh = self.eventhub(esl_config(self.ns, [esl_node(fs, logs="warning")],
                                      [{"domain": "example.com", "endpoints": [self.rcv.url()]}]))
        conn = fs.wait_subscribed(1)
        self.assertEqual(conn.wait_command("log "), ["log warning"])
        req = self.wait_signal(self.rcv, fix.signal_id)
        self.assert_signal(req.json(), fix, ANSWERED)
        harness.wait_until(conn.script_done.is_set, 15, "the fake to finish")
        n = len([f for f in conn.sent if f.is_event])
        e = self.wait_esl(eh, lambda e: e.get("events_received") == n and e.get("buffered") == 0,
                          what="the %d events read" % n)
        self.assertEqual(e["reconnects"], 0, e)
        self.assertEqual(fs.connection_count, 1)
        self.assertFalse(self.esl_logs(eh, ("error",)), self.esl_logs(eh, ("error",)))
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rcv.event_ids(), {fix.signal_id: 1})


if __name__ == "__main__":
    harness.main()
