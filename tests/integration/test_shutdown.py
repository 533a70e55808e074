#!/usr/bin/env python3
"""
Graceful shutdown: on SIGTERM/SIGINT eventhub stops accepting, lets the webhook call
in progress finish, acks, and exits 0; nothing is redelivered afterwards.
"""

import signal
import threading
import time

import harness
from harness import base_config


class Shutdown(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="slow", delay=1.5)
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.rcv.url()]}],
            nats={"ack_wait_seconds": 10}, delivery={"timeout": "5s"}))

    def drain_case(self, sig):
        j = self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": 1}))
        eid = j["event_id"]
        harness.wait_until(lambda: self.rcv.in_progress(), 10, "webhook call in progress")

        # Keep posting while eventhub drains; none of these may be accepted.
        answers = []
        done = threading.Event()

        def prober():
            # Probe once eventhub has taken the signal (its "draining" line): a POST that
            # raced the signal itself may rightly be stored.
            harness.wait_until(lambda: any("received: draining" in line
                                           for line in self.eh.log_lines()), 10,
                               "eventhub to take the signal")
            while not done.is_set():
                try:
                    r = self.eh.post_event({"domain": "example.com", "n": "during-drain"}, timeout=5)
                    answers.append((time.monotonic(), r.status, r))
                except OSError as e:
                    answers.append((time.monotonic(), "conn", e))
                time.sleep(0.05)

        t_sig = time.monotonic()
        self.eh.proc.send_signal(sig)
        th = threading.Thread(target=prober, daemon=True)
        th.start()
        try:
            code = self.eh.wait_exit(timeout=20)
        finally:
            done.set()
            th.join(timeout=10)
        t_exit = time.monotonic()
        self.eh.stop()  # reap readers

        self.assertEqual(code, 0, "exit status after signal %d" % sig)
        req = self.rcv.requests[0]
        self.assertTrue(req.answer_time is not None and t_exit >= req.answer_time,
                        "eventhub exited %.2fs after the signal, before the in-flight webhook call "
                        "was answered" % (t_exit - t_sig))
        self.assertEqual(req.status, 200)
        self.assertLess(t_exit - t_sig, 10, "drain took too long")

        during = [a for a in answers if a[0] < t_exit]
        self.assertTrue(during, "no probe was made while eventhub drained")
        accepted = [a for a in during if a[1] == 202]
        self.assertEqual(accepted, [], "a POST was accepted after the signal")
        for a in during:
            self.assertIn(a[1], (503, "conn"), "unexpected answer during drain: %r" % (a,))

        # Acked before exit: nothing pending, nothing awaiting an ack.
        ci = self.ns.client().consumer_info("EVENTS", "eventhub")
        self.assertEqual(ci["num_ack_pending"], 0, ci)
        self.assertEqual(ci["num_pending"], 0, ci)
        self.assertEqual(ci["ack_floor"]["stream_seq"], j["stream_seq"], ci)

        # After a fresh start, the event is not delivered again; a new one is.
        self.rcv.delay = 0
        self.eh.start()
        j2 = self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": 2}))
        harness.wait_until(lambda: self.rcv.answered_2xx(j2["event_id"]), 10, "delivery after restart")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(len(self.rcv.requests_for(eid)), 1, self.rcv.requests)

    def test_sigterm_finishes_in_flight_delivery(self):
        self.drain_case(signal.SIGTERM)

    def test_sigint_finishes_in_flight_delivery(self):
        self.drain_case(signal.SIGINT)

    def test_sigterm_when_idle_exits_0_quickly(self):
        self.rcv.delay = 0
        self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        self.rcv.wait_for(1, timeout=10)
        self.wait_consumer_idle(self.ns)
        t0 = time.monotonic()
        self.assertEqual(self.eh.stop(signal.SIGTERM, timeout=10), 0)
        self.assertLess(time.monotonic() - t0, 5, "idle shutdown took too long")
        self.assertIn("eventhub", self.ns.client().consumer_names("EVENTS"),
                      "shutdown deleted the durable consumer")


if __name__ == "__main__":
    harness.main()
