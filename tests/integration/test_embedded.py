#!/usr/bin/env python3
"""
Embedded broker: with nats.url "embedded" eventhub runs nats-server as its child,
accepts and delivers events, restarts the child when it dies, and leaves no broker
behind when it exits.
"""

import os
import signal

import harness
from harness import base_config, child_pids, cmdline, pid_alive


class Embedded(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.rcv = self.receiver(name="rcv")
        self.data_dir = os.path.join(self.tmp, "embedded-nats")
        cfg = base_config("embedded", [{"domain": "example.com", "endpoints": [self.rcv.url()]}],
                          nats={"embedded": {"data_dir": self.data_dir, "port": 0}})
        self.eh = self.eventhub(cfg)
        self.addCleanup(self._kill_orphans)
        self.seen = set()

    def _kill_orphans(self):
        # A broker left behind by a failing eventhub must not outlive the test.
        self.eh.kill9()
        for pid in self.seen:
            if pid_alive(pid) and any("nats-server" in a for a in cmdline(pid)):
                os.kill(pid, signal.SIGKILL)

    def broker_child(self):
        for pid in child_pids(self.eh.pid):
            if pid_alive(pid) and any(os.path.basename(a).startswith("nats-server") for a in cmdline(pid)[:1]):
                self.seen.add(pid)
                harness.register_pid(pid)
                return pid
        return None

    def deliver_one(self, tag, timeout=20):
        def accepted():
            try:
                r = self.eh.post_event({"domain": "example.com", "tag": tag}, timeout=10)
            except OSError:
                return None
            return r if r.status == 202 else None
        r = harness.wait_until(accepted, timeout, "a 202 for %s" % tag)
        harness.wait_until(lambda: self.rcv.answered_2xx(r.json["event_id"]), timeout, "delivery of %s" % tag)
        return r.json

    def test_accepts_delivers_and_survives_broker_death(self):
        child = harness.wait_until(self.broker_child, 10, "a nats-server child of eventhub")
        args = cmdline(child)
        self.assertTrue(any(self.data_dir in a for a in args),
                        "the child does not use nats.embedded.data_dir: %r" % (args,))
        j1 = self.deliver_one("before")
        self.assertTrue(os.path.isdir(os.path.join(self.data_dir, "jetstream")) or
                        any("jetstream" in d for _, dirs, _ in os.walk(self.data_dir) for d in dirs),
                        "nothing stored under the data_dir")
        self.assertEqual(self.eh.health().json.get("nats"), "connected")

        os.kill(child, signal.SIGKILL)
        new_child = harness.wait_until(lambda: (lambda p: p if p and p != child else None)(self.broker_child()),
                                       20, "a new nats-server child after the old one was killed")
        self.assertNotEqual(new_child, child)
        self.assertTrue(self.eh.running, "eventhub died with its broker")
        harness.wait_until(lambda: self.eh.health().status == 200, 20, "/health 200 after the broker restart")
        j2 = self.deliver_one("after")
        self.assertNotEqual(j1["event_id"], j2["event_id"])
        # The stream survived the broker's death (same data dir): sequence continues.
        self.assertGreater(j2["stream_seq"], j1["stream_seq"], "the stream restarted from scratch")

        self.assertEqual(self.eh.stop(signal.SIGTERM), 0)
        harness.wait_until(lambda: not pid_alive(new_child), 10, "the broker gone after eventhub exited")

    def test_no_broker_left_after_eventhub_is_killed(self):
        child = harness.wait_until(self.broker_child, 10, "a nats-server child of eventhub")
        self.deliver_one("x")
        self.eh.kill9()
        harness.wait_until(lambda: not pid_alive(child), 10,
                           "the embedded broker gone after eventhub was killed with SIGKILL")


if __name__ == "__main__":
    harness.main()
