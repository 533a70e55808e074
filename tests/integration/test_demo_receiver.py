#!/usr/bin/env python3
"""
make run's demo receiver (cmd/demo-receiver): a newcomer sees each webhook as it
arrives — the method and path, eventhub's headers, the body pretty-printed — and
nothing while idle. Runs the real receiver and the real eventhub on a real nats-server.
"""

import json
import os
import subprocess
import threading

import harness
from harness import base_config


def demo_receiver_bin():
    build = os.path.dirname(os.path.dirname(os.path.abspath(harness.eventhub_bin())))
    return os.path.join(build, "demo-receiver", "demo-receiver")


class DemoReceiver(harness.TestCase):
    def start_receiver(self):
        proc = subprocess.Popen(harness.PDEATHSIG + [demo_receiver_bin(), "--port", "0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(5)))
        lines = []
        threading.Thread(target=lambda: [lines.append(l.decode("utf-8", "replace").rstrip("\n"))
                                         for l in iter(proc.stdout.readline, b"")],
                         daemon=True).start()
        banner = harness.wait_until(lambda: [l for l in lines if "listening on" in l], 10,
                                    "the demo receiver's banner")[0]
        port = int(banner.split("127.0.0.1:")[1].split("/")[0])
        return proc, port, lines

    def test_prints_each_webhook(self):
        proc, port, lines = self.start_receiver()
        ns = self.nats()
        eh = self.eventhub(base_config(ns.url, [{"domain": "example.com", "endpoints": [
            {"url": "http://127.0.0.1:%d/webhook" % port, "headers": {"Authorization": "Bearer t0ps3cret"}}]}]))
        sent = {"domain": "example.com", "call_id": "c-1", "from_number": "0914315989",
                "nested": {"state": "answered"}}
        j = self.assert_accepted(eh.post_event(sent))
        block = harness.wait_until(
            lambda: [l for l in lines if l.strip() == "}"] and lines, 10, "the webhook printed")
        text = "\n".join(block)
        self.assertIn("── webhook #1  POST /webhook", text)
        self.assertIn("  X-Event-Id: %s" % j["event_id"], text)
        self.assertIn("  X-Delivery-Attempt: 1", text)
        self.assertIn("  X-Domain: example.com", text)
        self.assertIn('  "call_id": "c-1",', text)  # pretty-printed, two-space indent
        self.assertIn('    "state": "answered"', text)
        self.assertNotIn("t0ps3cret", text, "a credential header was printed")
        # The printed body is the JSON that was sent (plus eventhub's members).
        start = block.index("{")
        body = json.loads("\n".join(block[start:block.index("}", start) + 1]))
        for k, v in sent.items():
            self.assertEqual(body[k], v)
        # One block per webhook, and nothing while idle (no per-second counters).
        self.wait_consumer_idle(ns)
        self.assertEqual(sum(1 for l in lines if l.startswith("── webhook #")), 1, lines)
        idle = len(lines)
        self.assert_accepted(eh.post_event(dict(sent, call_id="c-2")))
        harness.wait_until(lambda: sum(1 for l in lines if l.startswith("── webhook #")) == 2, 10,
                           "the second webhook printed")
        self.assertTrue(lines[idle].startswith("── webhook #2"), lines[idle - 2:idle + 2])


if __name__ == "__main__":
    harness.main()
