#!/usr/bin/env python3
"""
SIGHUP reloads the routes: a new route is used at once (its events are delivered, not
dead-lettered); a file that does not load changes nothing and its error is logged with
file:line; a reload that also changes other settings (delivery.timeout, backoff) swaps
the routes only, says so in the log ("other settings take effect at restart"), and
those settings do take effect at the next start.
"""

import json
import signal

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"
RELOADED = "routes reloaded from"


def msg_of(line):
    m = line.get("msg")
    return m if isinstance(m, str) else ""


class Reload(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.r1 = self.receiver(name="r1")
        self.routes = [{"domain": "example.com", "endpoints": [self.r1.url("/one")]}]
        self.eh = self.eventhub(base_config(self.ns.url, self.routes))

    def sighup(self, config):
        """Writes config (dict or YAML text), sends SIGHUP and waits for the outcome log
        line: returns ("ok"|"refused", line)."""
        eh = self.eh
        before = len(eh.run_logs())
        eh.write_config(config)
        eh.proc.send_signal(signal.SIGHUP)

        def outcome():
            for l in eh.run_logs()[before:]:
                if l.get("subsystem") == "config" and msg_of(l).startswith(RELOADED):
                    return ("ok", l)
                if l.get("subsystem") == "config" and l.get("level") == "error":
                    return ("refused", l)
            return None
        got = harness.wait_until(outcome, 10, "the reload's log line")
        self.assertTrue(eh.running, "eventhub exited on SIGHUP (code %s)" % eh.proc.returncode)
        return got

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def dlq_records(self, count, timeout=10):
        def enough():
            msgs = self.ns.client().msgs(DLQ)
            return msgs if len(msgs) >= count else None
        return [json.loads(m["data"]) for m in harness.wait_until(enough, timeout, "%d dead letter(s)" % count)]

    def post(self, domain, event_id):
        return self.assert_accepted(self.eh.post_event({"domain": domain, "event_id": event_id}))

    def test_new_route_is_used_after_sighup(self):
        r2 = self.receiver(name="r2")
        # Before the reload the domain has no route: dead-lettered.
        self.post("new.example.com", "before-reload")
        recs = self.dlq_records(1)
        self.assertEqual(recs[0].get("reason"), "no_route", recs)
        self.wait_consumer_idle(self.ns)

        routes = self.routes + [{"domain": "new.example.com", "endpoints": [r2.url("/two")]}]
        outcome, line = self.sighup(base_config(self.ns.url, routes))
        self.assertEqual(outcome, "ok", line)
        self.assertIn("(2 routes)", msg_of(line), line)

        self.post("new.example.com", "after-reload")
        self.post("example.com", "old-route")
        got = r2.wait_for(1, timeout=10)
        self.assertEqual(got[0].event_id, "after-reload")
        self.assertEqual(got[0].path, "/two")
        self.r1.wait_for(1, timeout=10)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.dlq_count(), 1, "an event of the new route was dead-lettered: %r"
                         % (self.ns.client().msgs(DLQ),))
        self.assertEqual([r.event_id for r in r2.requests], ["after-reload"])
        self.assertEqual([r.event_id for r in self.r1.requests], ["old-route"])

    def test_broken_file_keeps_the_running_routes(self):
        r2 = self.receiver(name="r2")
        routes = self.routes + [{"domain": "broken.example.com", "endpoints": [r2.url("/two")]}]

        # 1. A value out of range, at a line we know.
        text = harness.to_yaml(base_config(self.ns.url, routes, nats={"max_deliveries": 0}))
        line_no = text.splitlines().index("  max_deliveries: 0") + 1
        outcome, line = self.sighup(text)
        self.assertEqual(outcome, "refused", line)
        where = "%s:%d:" % (self.eh.config_path, line_no)
        self.assertIn(where, msg_of(line), "the error does not name %s: %r" % (where, line))
        self.assertIn("max_deliveries", msg_of(line), line)

        # 2. A YAML syntax error.
        lines = harness.to_yaml(base_config(self.ns.url, routes)).splitlines()
        i = next(k for k, l in enumerate(lines) if "broken.example.com" in l)
        lines[i] = lines[i] + ": oops"
        outcome, line = self.sighup("\n".join(lines) + "\n")
        self.assertEqual(outcome, "refused", line)
        where = "%s:%d:" % (self.eh.config_path, i + 1)
        self.assertIn(where, msg_of(line), "the error does not name %s: %r" % (where, line))
        self.assertFalse(self.eh.find_log(lambda l: msg_of(l).startswith(RELOADED)),
                         "a broken file was reported as reloaded")

        # The running routes stay: the old one delivers, the broken file's one does not exist.
        self.assertEqual(self.eh.health().status, 200)
        self.post("example.com", "old-route")
        self.post("broken.example.com", "not-routed")
        self.r1.wait_for(1, timeout=10)
        recs = self.dlq_records(1)
        self.assertEqual((recs[0].get("event_id"), recs[0].get("reason")), ("not-routed", "no_route"), recs)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(r2.count(), 0, r2.requests)
        self.assertEqual([r.event_id for r in self.r1.requests], ["old-route"])

        # A fixed file is taken.
        outcome, line = self.sighup(base_config(self.ns.url, routes))
        self.assertEqual(outcome, "ok", line)
        self.post("broken.example.com", "now-routed")
        self.assertEqual(r2.wait_for(1, timeout=10)[0].event_id, "now-routed")

    def test_other_settings_take_effect_at_restart(self):
        flaky = self.receiver(status=[500, 200], name="flaky")
        routes = self.routes + [{"domain": "retry.example.com", "endpoints": [flaky.url("/flaky")]}]
        # Startup settings: timeout 3s, backoff [200ms, 200ms, 500ms].
        new_cfg = base_config(self.ns.url, routes,
                              delivery={"timeout": "4s", "backoff": ["20s"]})
        outcome, line = self.sighup(new_cfg)
        self.assertEqual(outcome, "ok", line)
        self.assertIn("other settings take effect at restart", msg_of(line), line)

        # The route is live; the retry still uses the startup backoff (200 ms, not 20 s).
        j = self.post("retry.example.com", "retry-1")
        harness.wait_until(lambda: flaky.answered_2xx("retry-1"), 10, "retry-1 answered 2xx by flaky")
        got = flaky.requests
        self.assertEqual([(r.event_id, r.attempt, r.status) for r in got],
                         [("retry-1", 1, 500), ("retry-1", 2, 200)])
        gap = got[1].time - got[0].done_time
        self.assertLess(gap, 5.0, "the retry came %.1fs later: the reloaded backoff was applied" % gap)
        warn = self.eh.wait_log(lambda l: "retry-1" in msg_of(l) and "retry in" in msg_of(l), 5,
                                "the retry warning of retry-1")
        self.assertIn("retry in 200 ms", msg_of(warn[0]), warn)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.ns.client().consumer_info("EVENTS", "eventhub")["ack_floor"]["stream_seq"],
                         j["stream_seq"])

        # After a restart the file's settings apply: the first retry waits 20 s.
        self.assertEqual(self.eh.stop(), 0)
        self.eh.start()
        flaky.set_status(500)
        self.post("retry.example.com", "retry-2")
        warn = self.eh.wait_log(lambda l: "retry-2" in msg_of(l) and "retry in" in msg_of(l), 10,
                                "the retry warning of retry-2")
        self.assertIn("retry in 20000 ms", msg_of(warn[0]), warn)


if __name__ == "__main__":
    harness.main()
