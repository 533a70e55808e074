#!/usr/bin/env python3
"""
A stream renamed over an existing one: eventhub ran with nats.stream.name EVENTS, and is
started again with EVENTS2 and the same subject pattern. JetStream refuses the new
stream (its subjects are taken by EVENTS). eventhub does not retry silently for ever:
/health answers 503 with a reason that names the stream that holds the subjects and
how to fix it, the log says it once (not at every retry), and ingress refuses with 503.
Put back, it starts as before.
"""

import harness
from harness import base_config


class StreamNameChange(harness.TestCase):
    def test_renamed_stream_over_the_old_one(self):
        ns = self.nats()
        rcv = self.receiver(name="rcv")
        routes = [{"domain": "example.com", "endpoints": [rcv.url()]}]
        first = self.eventhub(base_config(ns.url, routes), name="first")
        self.assertEqual(first.health().status, 200)
        first.stop()

        renamed = self.eventhub(base_config(ns.url, routes, nats={"stream_name": "EVENTS2"}),
                                name="renamed", wait=False)
        renamed.wait_listening(20)

        def explained():
            r = renamed.health()
            reason = (r.json or {}).get("reason", "")
            return r if r.status == 503 and "EVENTS2" in reason and "taken by stream EVENTS " in reason else None
        r = harness.wait_until(explained, 20, "/health explaining the subject overlap")
        reason = r.json["reason"]
        self.assertIn("nats.stream.name", reason)
        self.assertIn("events.*", reason)
        # Said once in the log (an error), though setup keeps retrying.
        errs = harness.wait_until(lambda: renamed.find_log(lambda l: "taken by stream" in l.get("msg", "")),
                                  10, "the overlap logged")
        self.assertEqual(errs[0].get("level"), "error", errs)
        # Setup keeps retrying (its debug lines), and the error is still said once.
        retries = lambda: renamed.find_log(lambda l: "setup did not complete" in l.get("msg", ""))
        harness.wait_until(lambda: len(retries()) >= 3, 20, "three setup retries")
        self.assertEqual(renamed.health().status, 503)
        said = renamed.find_log(lambda l: "taken by stream" in l.get("msg", ""))
        self.assertEqual(len(said), 1, [l.get("msg") for l in renamed.run_logs()][-10:])
        r = renamed.post_event({"domain": "example.com", "n": 1})
        self.assertEqual(r.status, 503, r)
        renamed.stop()

        # Back to the old name: it works again.
        again = self.eventhub(base_config(ns.url, routes), name="again")
        self.assertEqual(again.health().status, 200)
        self.assert_accepted(again.post_event({"domain": "example.com", "n": 2}))


if __name__ == "__main__":
    harness.main()
