#!/usr/bin/env python3
"""
A FreeSWITCH connection that goes wrong is a log line, a state, and a reconnect — never
a crash or a hang: a wrong password (state auth_failed, an error line, retries with
backoff), an ACL refusal (text/rude-rejection), a disconnect notice, a peer that closes
in the middle of a frame, garbage on the socket, and silence past heartbeat_timeout.
After each, the fake sees a new connection with a fresh auth and subscription, and the
call that was in progress produces its one call signal from what arrives next.
"""

import harness
from esl_harness import (ANSWERED, DEFAULT_EVENTS, PLAIN, EslTestCase, Fixture, esl_config, esl_node,
                         ff)

WARN = ("warn", "warning", "error")


class EslReconnect(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        self.fix = Fixture(PLAIN)
        # where the scripted trouble strikes: right at the first CHANNEL_ANSWER
        self.k = self.fix.index_of("CHANNEL_ANSWER")

    def start(self, fs, **node):
        return self.eventhub(esl_config(self.ns, [esl_node(fs, **node)],
                                        [{"domain": "example.com", "endpoints": [self.rcv.url()]}]))

    def assert_fresh_session(self, conn, fmt="plain"):
        conn.wait_command("event ", 1)
        self.assertEqual(conn.commands[0], "auth ClueCon", conn.commands)
        verb, f, names = conn.commands[1].split(" ", 2)
        self.assertEqual((verb, f), ("event", fmt))
        self.assertEqual(sorted(names.split()), sorted(DEFAULT_EVENTS))

    def assert_call_once(self, eh, fs, min_reconnects=1):
        req = self.wait_signal(self.rcv, self.fix.signal_id, timeout=20)
        self.assert_signal(req.json(), self.fix, ANSWERED)
        e = self.wait_esl(eh, lambda e: e.get("state") == "connected" and e.get("buffered") == 0,
                          what="esl connected again with nothing buffered")
        self.assertGreaterEqual(e["reconnects"], min_reconnects, e)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rcv.event_ids(), {self.fix.signal_id: 1})
        self.assertEqual(len(self.by_msg_id(self.ns).get(self.fix.signal_id, [])), 1)
        self.assertTrue(eh.running, "eventhub died")
        self.assertEqual(eh.health().status, 200)

    # -- authentication --

    def test_wrong_password(self):
        fs = self.fake_fs(password="not-ClueCon")
        eh = self.start(fs)
        fs.wait_connections(4, timeout=15)
        conns = fs.connections[:4]
        for c in conns:
            harness.wait_until(c.closed.is_set, 5, "connection #%d closed after -ERR invalid" % c.index)
            self.assertEqual(c.commands, ["auth ClueCon"],
                             "eventhub sent more than its auth line on a refused connection")
            self.assertFalse(c.auth_ok)
        e = self.wait_esl_state(eh, "auth_failed")
        self.assert_esl_entry_shape(e)
        self.assertTrue(e.get("last_error"), e)
        self.wait_esl_log(eh, ("error",), ["auth", "password", "invalid"])
        # retries back off (reconnect.initial 100ms, growing to 1s), not a busy loop
        gaps = [b.connected_at - a.connected_at for a, b in zip(conns, conns[1:])]
        self.assertGreaterEqual(sum(gaps), 0.25, "reconnect attempts too fast: gaps %r" % gaps)
        self.assertEqual(eh.health().status, 200, "a refused ESL login made /health unhealthy")
        self.assertTrue(eh.running)
        # the password is fixed on the FreeSWITCH side: the next attempt gets in
        fs.password = "ClueCon"
        conn = fs.wait_authenticated(timeout=15)
        self.assert_fresh_session(conn)
        conn.push(ff.Replay(PLAIN))
        self.assert_call_once(eh, fs)

    def test_wrong_password_is_told_after_other_trouble(self):
        # FreeSWITCH restarting: the first connections close at once (each a warning),
        # more than a minute's allowance of them; then it is up with another password.
        # The "wrong esl password?" line has an allowance of its own: it comes at once.
        fs = self.fake_fs(password="not-ClueCon")
        for i in range(8):
            fs.script_for(i, ff.Spec([ff.Close()], start="connect"))
        eh = self.start(fs)
        fs.wait_connections(9, timeout=20)
        closed = [l for l in self.esl_logs(eh) if l.get("level") in WARN
                  and "password" not in str(l.get("msg", "")).lower()]
        self.assertGreaterEqual(len(closed), 5, "the closed connections were not logged: %r" % closed)
        lines = self.wait_esl_log(eh, ("error",), ["wrong esl password"], timeout=10)
        self.assertIn("0 similar suppressed", lines[0]["msg"])

    def test_rude_rejection(self):
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        fs.script_for(0, ff.Spec([ff.RudeRejection()], start="connect"))
        eh = self.start(fs)
        fs.wait_connections(2, timeout=15)
        c0 = fs.conn(0)
        harness.wait_until(c0.closed.is_set, 5, "the rejected connection to close")
        self.assertEqual(c0.commands, [], "eventhub sent commands to a server that rejected it")
        self.wait_esl_log(eh, WARN, ["reject", "rude", "denied", "acl"])
        self.assert_fresh_session(fs.conn(1))
        self.assert_call_once(eh, fs)

    # -- a session that breaks --

    def test_disconnect_notice_mid_call(self):
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN, stop=self.k + 1), ff.DisconnectNotice()])
        fs.script_for(1, [ff.Replay(PLAIN)])  # FreeSWITCH sends the whole call again
        eh = self.start(fs)
        fs.wait_connections(2, timeout=15)
        self.wait_esl_log(eh, WARN + ("info",), ["disconnect"])
        self.assert_fresh_session(fs.conn(1))
        self.assert_call_once(eh, fs)

    def test_peer_closes_mid_frame(self):
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN, stop=self.k), ff.CloseMidFrame(self.fix.events[self.k])])
        # the next connection starts with the very frame that was cut: a parser that kept
        # the half frame would corrupt it
        fs.script_for(1, [ff.Replay(PLAIN, start=self.k)])
        eh = self.start(fs)
        fs.wait_connections(2, timeout=15)
        lines = self.wait_esl_log(eh, WARN, ["clos", "eof", "lost", "reset", "disconnect", "mid", "partial"])
        # the line says what happened: the peer went away (not a heartbeat timeout)
        first = lines[0]["msg"]
        self.assertNotIn("heartbeat", first.lower(),
                         "a peer that closed mid-frame is logged as a heartbeat timeout: %r" % first)
        self.assert_fresh_session(fs.conn(1))
        self.assert_call_once(eh, fs)

    def test_garbage_content_length(self):
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN, stop=self.k), ff.Garbage()])
        fs.script_for(1, [ff.Replay(PLAIN, start=self.k)])
        eh = self.start(fs)
        fs.wait_connections(2, timeout=15)
        harness.wait_until(fs.conn(0).peer_closed.is_set, 10, "eventhub to drop the garbled connection")
        self.wait_esl_log(eh, WARN, ["protocol", "content-length", "invalid", "malformed", "parse", "garbage"])
        self.assert_fresh_session(fs.conn(1))
        self.assert_call_once(eh, fs)

    def test_oversized_frame(self):
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN, stop=self.k),
                          ff.Garbage(b"Content-Length: 999999999999\nContent-Type: text/event-plain\n\n")])
        fs.script_for(1, [ff.Replay(PLAIN, start=self.k)])
        eh = self.start(fs, max_frame_bytes="64KiB")
        fs.wait_connections(2, timeout=15)
        harness.wait_until(fs.conn(0).peer_closed.is_set, 10, "eventhub to drop the connection")
        self.wait_esl_log(eh, WARN, ["protocol", "content-length", "too large", "larger", "exceed", "max"])
        self.assert_call_once(eh, fs)

    def test_silence_past_heartbeat_timeout(self):
        fs = self.fake_fs()
        fs.script_for(0, [ff.Replay(PLAIN, stop=self.k), ff.Silence()])
        fs.script_for(1, [ff.Replay(PLAIN, start=self.k)])
        eh = self.start(fs, heartbeat_timeout="2s")
        c0 = fs.wait_subscribed(1)
        c1 = fs.wait_connections(2, timeout=20)
        harness.wait_until(c0.peer_closed.is_set, 10, "eventhub to close the silent connection")
        silent_for = c1.connected_at - (c0.last_write_at or c0.connected_at)
        self.assertGreaterEqual(silent_for, 1.5, "reconnected after %.2fs of silence (timeout 2s)" % silent_for)
        self.assertLess(silent_for, 8.0, "took %.2fs to notice 2s of silence" % silent_for)
        self.wait_esl_log(eh, WARN, ["heartbeat", "silen", "timeout", "timed out", "idle", "no data"])
        self.assert_fresh_session(c1)
        self.assert_call_once(eh, fs)

    def test_silent_before_auth_request(self):
        # TCP accepted, then nothing: connect_timeout covers the whole login
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        fs.script_for(0, ff.Spec([ff.Silence()], start="connect"))
        eh = self.start(fs, connect_timeout="1s")
        c0 = fs.wait_connections(1)
        c1 = fs.wait_connections(2, timeout=15)
        harness.wait_until(c0.peer_closed.is_set, 10, "eventhub to give up on the mute connection")
        self.assertEqual(c0.commands, [], "eventhub sent commands before any auth/request")
        waited = c1.connected_at - c0.connected_at
        self.assertGreaterEqual(waited, 0.8, "gave up after %.2fs (connect_timeout 1s)" % waited)
        self.wait_esl_log(eh, WARN, ["timeout", "timed out", "no data", "auth/request"])
        self.assert_fresh_session(c1)
        self.assert_call_once(eh, fs)

    def test_no_reply_to_the_subscription(self):
        # auth accepted, then the "event plain ..." command is never answered
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        fs.script_for(0, ff.Spec([ff.Silence()], start="auth"))
        eh = self.start(fs, connect_timeout="1s", heartbeat_timeout="2s")
        c0 = fs.wait_connections(1)
        c0.wait_command("event ", 1)
        fs.wait_connections(2, timeout=15)
        harness.wait_until(c0.peer_closed.is_set, 10, "eventhub to give up on the unanswered subscription")
        self.wait_esl_log(eh, WARN, ["subscrib", "timeout", "timed out", "no data"])
        self.assert_fresh_session(fs.conn(1))
        self.assert_call_once(eh, fs)

    def test_freeswitch_restart(self):
        first = Fixture(PLAIN)
        fs = self.fake_fs(script=[ff.Replay(first, stop=self.k)])  # a call cut short by the restart
        eh = self.start(fs)
        conn = fs.wait_subscribed(1)
        harness.wait_until(conn.script_done.is_set, 10, "the first part of the call")
        sent = len(conn.sent)
        self.wait_esl(eh, lambda e: e.get("events_received") == sent, what="the first events read")
        port = fs.port
        fs.close()  # FreeSWITCH goes down: connection closed, then connections refused
        e = self.wait_esl(eh, lambda e: e.get("reconnects", 0) >= 3 and e.get("state") != "connected",
                          15, "eventhub retrying while FreeSWITCH is down")
        self.assertTrue(e.get("last_error"), e)
        self.assertEqual(eh.health().status, 200)
        nxt = Fixture(PLAIN).distinct(1)
        fs2 = self.fake_fs(name="fakefs-restarted", port=port, script=[ff.Replay(nxt)])
        c = fs2.wait_subscribed(1, timeout=15)
        self.assert_fresh_session(c)
        req = self.wait_signal(self.rcv, nxt.signal_id, timeout=20)
        self.assert_signal(req.json(), nxt, ANSWERED)
        self.wait_esl_state(eh, "connected")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rcv.event_ids(), {nxt.signal_id: 1}, "the cut call must not produce a signal yet")

    def test_heartbeats_keep_the_connection(self):
        fs = self.fake_fs(script=[ff.Replay(PLAIN)], heartbeat_interval=0.4)
        eh = self.start(fs, heartbeat_timeout="2s")
        conn = fs.wait_subscribed(1)
        self.wait_signal(self.rcv, self.fix.signal_id)
        # a quiet call-free stretch of over twice the timeout, with only heartbeats
        n = len(self.fix.select(DEFAULT_EVENTS))
        hb = lambda: len([f for f in conn.sent if f.event_name == "HEARTBEAT"])  # noqa: E731
        harness.wait_until(lambda: hb() >= 12, 15, "12 heartbeats sent")
        self.wait_esl(eh, lambda e: e.get("events_received", 0) >= n + 11,
                      what="the heartbeats counted as received events")
        self.assertEqual(fs.connection_count, 1, "eventhub reconnected although heartbeats kept coming")
        self.assertFalse(conn.closed.is_set())
        e = self.esl_entry(eh)
        self.assertEqual(e["reconnects"], 0, e)
        self.assertEqual(e["state"], "connected", e)


if __name__ == "__main__":
    harness.main()
