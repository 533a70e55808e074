#!/usr/bin/env python3
"""
A NATS server whose max_payload (64 KiB) is smaller than server.max_body_bytes (1 MiB):
an event that passes the HTTP body limit but cannot be a NATS message is refused with
413 payload_too_large (the sender's problem, not a 503 to retry for ever) and nothing is
stored. Events that are stored but too large to embed in their dead-letter record (one
just under the max payload, whose record cannot fit) is dead-lettered with
"event_omitted": true and "event_bytes" (one of ~40 KB still fits, embedded), and the
originals are terminated (not redelivered). A small event is still embedded.
"""

import json
import os
import subprocess

import harness
from harness import base_config

MAX_PAYLOAD = 65536
DLQ = "EVENTS_DLQ"


class SmallPayloadNats(harness.NatsServer):
    """A NatsServer started with a config file that sets max_payload (the harness has no
    way to pass extra nats-server options; this is its _spawn plus "-c FILE")."""

    def __init__(self, tmpdir, name="nats", max_payload=MAX_PAYLOAD):
        super().__init__(tmpdir, name)
        self.conf_path = os.path.join(self.dir, "nats-server.conf")
        with open(self.conf_path, "w") as f:
            f.write("max_payload: %d\n" % max_payload)

    def _spawn(self):
        args = [harness.NATS_SERVER, "-c", self.conf_path, "-a", "127.0.0.1", "-p", str(self.port),
                "-js", "-sd", self.store_dir, "-m", str(self.monitor_port)]
        logf = open(self.log_path, "ab")
        logf.write(("=== start %s\n" % " ".join(args)).encode())
        logf.flush()
        self.proc = subprocess.Popen(harness.PDEATHSIG + args, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        harness._register(self.proc)


def event_of_size(domain, event_id, size):
    """An event whose JSON text is `size` bytes."""
    base = {"domain": domain, "event_id": event_id, "pad": ""}
    overhead = len(json.dumps(base, separators=(",", ":")))
    base["pad"] = "x" * (size - overhead)
    body = json.dumps(base, separators=(",", ":")).encode()
    assert len(body) == size, (len(body), size)
    return body


class MaxPayload(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = SmallPayloadNats(self.tmp)
        self._fixtures.append(self.ns)
        self.ns.start()
        self.assertEqual(self.ns.client().server_info.get("max_payload"), MAX_PAYLOAD,
                         "nats-server did not take max_payload from its config file")

    def start(self, routes, **sections):
        cfg = base_config(self.ns.url, routes, **sections)
        self.assertEqual(cfg["server"]["max_body_bytes"], 1048576)
        self.eh = self.eventhub(cfg)

    def dlq_records(self, count, timeout=15):
        def enough():
            try:
                msgs = self.ns.client().msgs(DLQ)
            except harness.natsclient.JetStreamError:
                return None
            return msgs if len(msgs) >= count else None
        return harness.wait_until(enough, timeout, "%d dead letter(s) in %s" % (count, DLQ))

    def test_event_over_nats_max_payload_is_413_and_not_stored(self):
        rcv = self.receiver(name="rcv")
        self.start([{"domain": "example.com", "endpoints": [rcv.url()]}])

        body = event_of_size("example.com", "too-big-1", 100 * 1024)
        resp = self.eh.post_event(body)
        self.assert_error_body(resp, 413)
        self.assertEqual(resp.json["error"], "payload_too_large", resp)
        self.assertNotIn("retry-after", resp.headers, "a 413 must not invite a retry: %r" % (resp,))
        # Refused every time, not a transient 503.
        resp2 = self.eh.post_event(body)
        self.assertEqual((resp2.status, resp2.json and resp2.json.get("error")),
                         (413, "payload_too_large"), resp2)

        # Still healthy and accepting events that fit; the big one never got stored.
        self.assertEqual(self.eh.health().status, 200)
        small = self.assert_accepted(self.eh.post_event({"domain": "example.com", "event_id": "small-1"}))
        self.assertEqual(small["stream_seq"], 1, "something was stored before the small event: %r" % (small,))
        rcv.wait_for(1, timeout=10)
        self.wait_consumer_idle(self.ns)
        state = self.ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(state["messages"], 1, state)
        self.assertEqual([r.event_id for r in rcv.requests], ["small-1"])

    def test_large_event_dead_letter_omits_the_event_and_terminates_it(self):
        bad = self.receiver(status=500, name="bad")
        good = self.receiver(name="good")
        self.start([{"domain": "example.com", "endpoints": [bad.url("/bad")]},
                    {"domain": "ok.example.com", "endpoints": [good.url("/good")]}],
                   nats={"max_deliveries": 2})

        # ~40 KB: a record embedding it still fits the 64 KiB max payload, so it is
        # embedded. ~64 KB: accepted at ingress (it fits the max payload), but a record
        # embedding it cannot fit: the event is left out.
        big = {}
        for eid, size in (("big-40k", 40 * 1024), ("near-limit", MAX_PAYLOAD - 400)):
            big[eid] = self.assert_accepted(self.eh.post_event(event_of_size("example.com", eid, size)))
        js = self.assert_accepted(self.eh.post_event({"domain": "example.com", "event_id": "small-1"}))

        recs = {}
        for m in self.dlq_records(3, timeout=20):
            rec = json.loads(m["data"])
            self.assertLess(len(m["data"]), MAX_PAYLOAD)
            recs[rec.get("event_id")] = rec
        self.assertEqual(sorted(recs), ["big-40k", "near-limit", "small-1"], recs)

        stored_40k = self.ns.client().get_msg("EVENTS", big["big-40k"]["stream_seq"])["data"]
        self.assertNotIn("event_omitted", recs["big-40k"])
        self.assertEqual(recs["big-40k"].get("event"), json.loads(stored_40k))
        for eid, j in big.items():
            if eid == "big-40k":
                continue
            stored = self.ns.client().get_msg("EVENTS", j["stream_seq"])["data"]
            rec = recs[eid]
            self.assertEqual(rec.get("reason"), "max_deliveries_exceeded", rec)
            self.assertEqual(rec.get("attempts"), 2, rec)
            self.assertEqual(rec.get("stream_seq"), j["stream_seq"], rec)
            self.assertIs(rec.get("event_omitted"), True,
                          "%s (%d bytes stored): no \"event_omitted\": true in %.300r" % (eid, len(stored), rec))
            self.assertEqual(rec.get("event_bytes"), len(stored), rec)
            self.assertNotIn("event", rec)
            self.assertNotIn("event_raw", rec)
            self.assertEqual(rec.get("endpoints"), [{"url": bad.url("/bad"), "status": 500,
                                                     "error": "HTTP 500", "delivered": False}], rec)

        stored_small = self.ns.client().get_msg("EVENTS", js["stream_seq"])["data"]
        rec = recs["small-1"]
        self.assertNotIn("event_omitted", rec)
        self.assertEqual(rec.get("event"), json.loads(stored_small), rec)

        # Terminated: nothing left pending or awaiting an ack, each event tried twice.
        self.wait_consumer_idle(self.ns)
        # A later event goes through; by then nothing of the dead-lettered ones came back.
        self.assert_accepted(self.eh.post_event({"domain": "ok.example.com", "event_id": "after"}))
        good.wait_for(1, timeout=10)
        self.wait_consumer_idle(self.ns)
        for eid in ("big-40k", "near-limit", "small-1"):
            self.assertEqual([r.attempt for r in bad.requests_for(eid)], [1, 2],
                             "%s: %r" % (eid, bad.requests_for(eid)))
        self.assertEqual(self.ns.client().stream_info(DLQ)["state"]["messages"], 3)
        ci = self.ns.client().consumer_info("EVENTS", "eventhub")
        self.assertEqual(ci["num_redelivered"], 0, ci)
        # The events themselves stay in the event stream under their stream_seq.
        for eid, j in big.items():
            self.assertEqual(self.ns.client().get_msg("EVENTS", j["stream_seq"])["headers"]
                             .get("Nats-Msg-Id"), [eid + " example.com"])
        dl_logs = self.eh.find_log(lambda l: l.get("subsystem") == "dead_letter"
                                   and "cannot store" in l.get("msg", ""))
        self.assertEqual(dl_logs, [], "dead-letter publishes failed")


if __name__ == "__main__":
    harness.main()
