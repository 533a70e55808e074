#!/usr/bin/env python3
"""
The fake FreeSWITCH itself, driven by fake_freeswitch.EslClient (no eventhub): it must
speak mod_event_socket's inbound protocol exactly (auth/request, command replies, the
wrong-password sequence, rude rejection), send only subscribed and filtered events,
deliver the same frames whatever the chunking, and do what each scripted action says.
If this test fails, the ESL integration tests cannot be trusted.
"""

import json
import socket
import unittest

import harness
import fake_freeswitch as ff
from fake_freeswitch import (DEFAULT_EVENTS, CloseMidFrame, DisconnectNotice, EslClient,
                             FakeFreeSwitch, Fixture, Garbage, Heartbeat, Replay, RudeRejection,
                             Silence, Spec)

PLAIN = "answered-call.plain.txt"
JSON = "answered-call.json.txt"
BUSY = "busy-call.plain.txt"


class FixtureSplitting(unittest.TestCase):
    def test_captures_split_into_frames(self):
        for name, fmt, a_leg in [(PLAIN, "plain", "48718434-77f1-4de1-8394-dfd80401e3aa"),
                                 (JSON, "json", "af3b144d-cb2d-46c5-b118-839e114b8041"),
                                 (BUSY, "plain", "c96df3d1-b8f8-44f9-b0e2-adc9b0d7c7fc")]:
            fx = Fixture(name)
            self.assertEqual(fx.frames[0].content_type, "auth/request", name)
            self.assertEqual(fx.frames[1].reply_text, "+OK accepted", name)
            self.assertEqual(fx.frames[-1].content_type, "text/disconnect-notice", name)
            self.assertEqual(fx.format, fmt, name)
            self.assertGreater(len(fx.events), 40, name)
            self.assertTrue(all(f.is_event for f in fx.events))
            self.assertEqual(fx.a_leg, a_leg, name)
            self.assertEqual(fx.signal_id, "call-%s-end" % a_leg)
            self.assertEqual(len(fx.leg_uuids), 2, name)
            # the frames cover the file byte for byte
            with open(ff.os.path.join(ff.FIXTURE_DIR, name), "rb") as f:
                self.assertEqual(b"".join(x.raw for x in fx.frames), f.read())
            names = [f.event_name for f in fx.select(DEFAULT_EVENTS)]
            for n in ("CHANNEL_CREATE", "CHANNEL_ANSWER" if name != BUSY else "CHANNEL_PROGRESS",
                      "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
                self.assertEqual(names.count(n), 2, (name, n, names))

    def test_plain_event_decoding(self):
        fx = Fixture(PLAIN)
        bj = fx.first("BACKGROUND_JOB")
        self.assertEqual(bj.event_get("_body"), "+OK 48718434-77f1-4de1-8394-dfd80401e3aa\n")
        self.assertIn("{origination_caller_id_number=0914315989", bj.event_get("Job-Command-Arg"))
        ans = fx.first("CHANNEL_ANSWER")
        self.assertEqual(ans.event_get("variable_domain_name"), "example.com")
        self.assertEqual(ans.event_id, "6059d0be-3e8b-4032-896c-a4da2ce96c1f:%s" % ans.sequence)

    def test_distinct_rewrites_ids_and_keeps_lengths(self):
        fx = Fixture(PLAIN)
        d1, d2 = fx.distinct(1), fx.distinct(2)
        self.assertNotEqual(d1.a_leg, fx.a_leg)
        self.assertNotEqual(d1.a_leg, d2.a_leg)
        self.assertEqual(d1.core_uuid, fx.core_uuid)
        self.assertEqual(len(d1.events), len(fx.events))
        for a, b in zip(fx.events, d1.events):
            self.assertEqual(a.event_name, b.event_name)
            self.assertEqual(int(b.sequence), int(a.sequence) + 100000)
            self.assertEqual(int(b.get("Content-Length")), len(b.body))
        # the rewritten stream still splits into the same frames
        again = ff.split_frames(b"".join(f.raw for f in d1.events))
        self.assertEqual([f.raw for f in again], [f.raw for f in d1.events])
        for f in d1.events:
            self.assertNotIn(fx.a_leg.encode(), f.raw)
            self.assertNotIn(fx.leg_uuids[1].encode(), f.raw)
        bj = d1.first("BACKGROUND_JOB")
        self.assertEqual(bj.event_get("_body"), "+OK %s\n" % d1.a_leg)
        j = Fixture(JSON).distinct(3)
        for f in j.events:
            json.loads(f.body)
        self.assertEqual(int(j.events[0].sequence), int(Fixture(JSON).events[0].sequence) + 300000)


class FakeServer(unittest.TestCase):
    def setUp(self):
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.close()

    def fake(self, **kw):
        f = FakeFreeSwitch(**kw)
        self.fakes.append(f)
        return f

    def client(self, fs):
        c = EslClient("127.0.0.1", fs.port)
        self.addCleanup(c.close)
        return c

    def subscribe(self, c, fmt="plain", names=DEFAULT_EVENTS):
        r = c.login()
        self.assertEqual(r.reply_text, "+OK accepted")
        r = c.command("event %s %s" % (fmt, " ".join(names)))
        self.assertEqual(r.reply_text, "+OK event listener enabled %s" % fmt)

    def test_handshake_subscription_and_replay(self):
        fs = self.fake(script=[Replay(PLAIN)])
        c = self.client(fs)
        self.subscribe(c)
        expect = Fixture(PLAIN).select(DEFAULT_EVENTS)
        got = c.events(len(expect))
        self.assertEqual([f.raw for f in got], [f.raw for f in expect])
        conn = fs.conn(0)
        self.assertEqual(conn.commands[0], "auth ClueCon")
        self.assertEqual(conn.commands[1], "event plain " + " ".join(DEFAULT_EVENTS))
        self.assertEqual(conn.format, "plain")
        self.assertEqual(fs.connection_count, 1)

    def test_filters_log_and_other_commands(self):
        fs = self.fake(script=[ff.WaitCommand("filter "), Replay(JSON)])
        c = self.client(fs)
        self.subscribe(c, "json", ["ALL"])
        r = c.command("filter Event-Name CHANNEL_ANSWER")
        self.assertEqual(r.reply_text, "+OK filter added. [Event-Name]=[CHANNEL_ANSWER]")
        expect = [f for f in Fixture(JSON).events if f.event_name == "CHANNEL_ANSWER"]
        got = c.events(len(expect))
        self.assertEqual([f.raw for f in got], [f.raw for f in expect])
        self.assertEqual(c.command("log debug").reply_text, "+OK log level debug [7]")
        self.assertEqual(c.command("bogus").reply_text, "-ERR command not found")
        self.assertEqual(c.command("api status").content_type, "api/response")
        self.assertEqual(fs.conn(0).filters, [("Event-Name", "CHANNEL_ANSWER")])
        r = c.command("exit")
        self.assertEqual(r.reply_text, "+OK bye")
        f = c.read_frame()
        self.assertEqual(f.content_type, "text/disconnect-notice")
        self.assertEqual(f.body, ff.DISCONNECT_BODY)
        self.assertIsNone(c.read_frame())

    def test_custom_subclasses_parse_like_freeswitch(self):
        reg = ff.make_event([("Event-Name", "CUSTOM"), ("Event-Subclass", "sofia::register"),
                             ("Core-UUID", "c"), ("Event-Sequence", "1")])
        unreg = ff.make_event([("Event-Name", "CUSTOM"), ("Event-Subclass", "sofia::unregister"),
                               ("Core-UUID", "c"), ("Event-Sequence", "2")])
        hb = Fixture(PLAIN).heartbeat()
        fs = self.fake(script=[Replay(Fixture([reg, unreg, hb]))])
        c = self.client(fs)
        # everything after CUSTOM is a subclass: HEARTBEAT here is not the event
        self.subscribe(c, "plain", ["CHANNEL_ANSWER", "CUSTOM", "sofia::register", "HEARTBEAT"])
        got = c.events(1)
        self.assertEqual([f.event_get("Event-Subclass") for f in got], ["sofia::register"])
        conn = fs.conn(0)
        self.assertEqual(conn.events, {"CHANNEL_ANSWER", "CUSTOM"})
        self.assertEqual(conn.subclasses, {"sofia::register", "HEARTBEAT"})
        harness.wait_until(conn.script_done.is_set, 5, "replay")
        self.assertEqual(len(conn.sent), 1)

    def test_wrong_password(self):
        fs = self.fake(password="secret")
        c = self.client(fs)
        r = c.login("ClueCon")
        self.assertEqual(r.reply_text, "-ERR invalid")
        f = c.read_frame()
        self.assertEqual(f.content_type, "text/disconnect-notice")
        self.assertEqual(int(f.get("Content-Length")), len(f.body))
        self.assertIsNone(c.read_frame(), "the fake did not close after -ERR invalid")
        self.assertEqual(fs.conn(0).commands, ["auth ClueCon"])
        self.assertFalse(fs.conn(0).auth_ok)
        # per-connection password
        fs.script_for(1, Spec([], password="ClueCon"))
        c2 = self.client(fs)
        self.assertEqual(c2.login("ClueCon").reply_text, "+OK accepted")

    def test_command_before_auth(self):
        fs = self.fake()
        c = self.client(fs)
        self.assertEqual(c.read_frame().content_type, "auth/request")
        self.assertEqual(c.command("event plain ALL").reply_text, "-ERR command not found")

    def test_rude_rejection(self):
        fs = self.fake(script=Spec([RudeRejection()], start="connect"))
        c = self.client(fs)
        f = c.read_frame()
        self.assertEqual(f.content_type, "text/rude-rejection")
        self.assertEqual(f.body, ff.RUDE_BODY)
        self.assertIsNone(c.read_frame())

    def test_same_frames_whatever_the_chunking(self):
        expect = [f.raw for f in Fixture(BUSY).select(DEFAULT_EVENTS)]
        for replay in (Replay(BUSY, chunk=1), Replay(BUSY, chunk=7), Replay(BUSY, chunk=4096),
                       Replay(BUSY, cuts="awkward", pace=0.0005)):
            fs = self.fake(script=[replay])
            c = self.client(fs)
            self.subscribe(c)
            got = c.events(len(expect), timeout=30)
            self.assertEqual([f.raw for f in got], expect, replay)
        pieces = ff.awkward_pieces(Fixture(BUSY).events[0])
        self.assertGreaterEqual(len(pieces), 6)
        self.assertTrue(pieces[1].startswith(b"gth: ") or any(p.startswith(b"ength") for p in pieces),
                        pieces[:3])

    def test_pause_after_and_release(self):
        fs = self.fake(script=[Replay(PLAIN, pause_after="CHANNEL_ANSWER", gate="g1")])
        c = self.client(fs)
        self.subscribe(c)
        conn = fs.conn(0)
        harness.wait_until(conn.paused.is_set, 5, "the replay to pause")
        got = []
        while not got or got[-1].event_name != "CHANNEL_ANSWER":
            got.extend(c.events(1))
        # the pause comes after the first CHANNEL_ANSWER was written: nothing follows it
        self.assertEqual(c.queue, [])
        self.assertEqual(c.reader.buf, b"")
        with self.assertRaises((BlockingIOError, TimeoutError)):
            c.sock.recv(1, socket.MSG_DONTWAIT)
        fs.release("g1")
        rest = c.events(len(Fixture(PLAIN).select(DEFAULT_EVENTS)) - len(got))
        self.assertEqual(rest[-1].event_name, "HEARTBEAT")
        self.assertIn("CHANNEL_HANGUP_COMPLETE", [f.event_name for f in rest])

    def test_heartbeat_on_demand_and_push(self):
        fs = self.fake()
        c = self.client(fs)
        self.subscribe(c, "json")
        fs.wait_subscribed(1)
        fs.heartbeat()
        h1 = c.events(1)[0]
        fs.push(Heartbeat())
        h2 = c.events(1)[0]
        self.assertEqual(h1.event_name, "HEARTBEAT")
        self.assertEqual(h1.format, "json")
        self.assertNotEqual(h1.sequence, h2.sequence)
        fs.push(DisconnectNotice())
        self.assertEqual(c.read_frame().content_type, "text/disconnect-notice")
        self.assertIsNone(c.read_frame())

    def test_garbage_close_mid_frame_silence(self):
        fx = Fixture(PLAIN)
        fs = self.fake()
        fs.script_for(0, [Garbage()])
        fs.script_for(1, [Replay(fx, stop=8), CloseMidFrame(fx.first("CHANNEL_ANSWER"))])
        fs.script_for(2, [Silence()])
        c = self.client(fs)
        self.subscribe(c)
        with self.assertRaises(ff.ProtocolError):
            c.read_frame()
        c2 = self.client(fs)
        self.subscribe(c2)
        with self.assertRaises(ff.ProtocolError):  # EOF inside a frame
            while True:
                if c2.read_frame() is None:
                    break
        c3 = self.client(fs)
        self.subscribe(c3)
        fs.wait_subscribed(3)
        harness.wait_until(fs.conn(2).script_done.is_set, 5, "silence script")
        c3.sock.sendall(b"api status\n\n")
        c3.sock.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            c3.sock.recv(1)
        self.assertEqual(fs.conn(2).commands[-1], "api status")
        self.assertEqual(fs.connection_count, 3)
        c3.close()
        harness.wait_until(fs.conn(2).closed.is_set, 5, "the fake to see the client close")


if __name__ == "__main__":
    harness.main()
