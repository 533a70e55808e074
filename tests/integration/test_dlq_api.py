#!/usr/bin/env python3
"""
The dead-letter API: GET /api/dlq lists records newest first with their sequence;
POST /api/dlq/{seq}/replay puts the event back into the event stream with its
event_id unchanged (delivered again once its route works — even right after the
original, inside the duplicate window) and deletes the record; POST
/api/dlq/replay?domain= does it for a domain in bounded batches. Records without a
replayable event answer 409, unknown sequences 404. The control plane's access rules:
with an admin token the mutating calls need it (401 otherwise), protect_read_apis
extends that to the read APIs, and without a token only loopback clients may mutate.
"""

import json
import os
import signal
import socket

import harness
from harness import base_config

DLQ = "EVENTS_DLQ"
TOKEN = "s3cret-token"


def msg_of(line):
    m = line.get("msg")
    return m if isinstance(m, str) else ""


class DlqBase(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()

    def start(self, routes, server=None, **sections):
        cfg = base_config(self.ns.url, routes, nats={"max_deliveries": 2}, **sections)
        if server:
            cfg["server"].update(server)
        self.eh = self.eventhub(cfg)
        return self.eh

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def wait_dlq(self, count, timeout=15):
        harness.wait_until(lambda: self.dlq_count() >= count, timeout, "%d dead letter(s)" % count)
        self.wait_consumer_idle(self.ns)

    def api(self, method, path, token=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if method not in ("GET", "HEAD"):  # the control plane wants JSON for mutations
            h.setdefault("Content-Type", "application/json")
        return self.eh.request(method, path, headers=h)


class DlqApi(DlqBase):
    def test_replay_after_the_route_is_fixed(self):
        r1 = self.receiver(name="r1")
        r2 = self.receiver(name="r2")
        routes = [{"domain": "example.com", "endpoints": [r1.url("/one")]}]
        self.start(routes)
        sent = {"domain": "new.example.com", "event_id": "ev-1", "big": 12345678901234567890}
        body = json.dumps(sent).encode()
        j = self.assert_accepted(self.eh.post_event(body))
        self.wait_dlq(1)

        lst = self.api("GET", "/api/dlq")
        self.assertEqual(lst.status, 200, lst)
        self.assertEqual(lst.json["stream"], DLQ)
        self.assertEqual(lst.json["totals"]["messages"], 1)
        self.assertEqual(len(lst.json["records"]), 1, lst.json)
        item = lst.json["records"][0]
        self.assertEqual(item["seq"], 1)
        self.assertEqual(item["subject"], "dlq.EVENTS.new_example_com")
        harness.RFC3339_MS_UTC_RE.match(item["time"]) or self.fail(item)
        rec = item["record"]
        self.assertEqual((rec["reason"], rec["event_id"], rec["domain"], rec["stream_seq"]),
                         ("no_route", "ev-1", "new.example.com", j["stream_seq"]), rec)
        self.assertEqual(self.api("GET", "/api/dlq?domain=new.example.com").json["records"],
                         lst.json["records"])
        other = self.api("GET", "/api/dlq?domain=example.com").json
        self.assertEqual((other["records"], other["domain_records"]), ([], 0), other)
        one = self.api("GET", "/api/dlq/1")
        self.assertEqual(one.status, 200, one)
        self.assertEqual(one.json["record"], rec)

        # The route is fixed by a reload (SIGHUP).
        before = len(self.eh.run_logs())
        cfg = base_config(self.ns.url, routes + [{"domain": "new.example.com",
                                                  "endpoints": [r2.url("/two")]}],
                          nats={"max_deliveries": 2})
        self.eh.write_config(cfg)
        self.eh.proc.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: any(msg_of(l).startswith("routes reloaded from")
                                       for l in self.eh.run_logs()[before:]), 10, "the reload")

        # Replayed at once: well inside the duplicate window of the original.
        r = self.api("POST", "/api/dlq/1/replay")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["replayed"], r.json["dlq_seq"], r.json["event_id"], r.json["domain"],
                          r.json["duplicate"], r.json["record_deleted"]),
                         (True, 1, "ev-1", "new.example.com", False, True), r.json)
        self.assertGreater(r.json["stream_seq"], j["stream_seq"])
        got = r2.wait_for(1)[0]
        self.assertEqual(got.event_id, "ev-1")
        members = dict(harness.raw_members(got.body))
        self.assertEqual(members[b'"big"'], b"12345678901234567890", got.body)
        self.assertEqual(json.loads(got.body)["event_id"], "ev-1")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(r1.count(), 0)

        # The record is gone: not listed, not replayable twice.
        self.assertEqual(self.api("GET", "/api/dlq").json["records"], [])
        self.assert_error_body(self.api("POST", "/api/dlq/1/replay"), 404)
        self.assert_error_body(self.api("GET", "/api/dlq/1"), 404)
        self.assertEqual(r2.count(), 1)
        # Counted, logged, and in the domain log as received from "replay".
        self.eh.wait_log(lambda l: l.get("subsystem") == "dlq" and l.get("level") == "info"
                         and "replayed" in msg_of(l), what="the replay's log line")

        def replay_logged():
            day = __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
            lg = self.api("GET", "/api/logs?domain=new.example.com&date=" + day.strftime("%Y-%m-%d"))
            lines = lg.json["events_by_domain"].get("new.example.com", []) if lg.status == 200 else []
            return [l for l in lines if l.get("type") == "received" and l.get("source") == "replay"]
        harness.wait_until(replay_logged, 10, "the replay in the domain log")
        self.assertEqual(self.eh.stop(), 0)  # a clean exit (and, under ASan, no leak)

    def test_replay_all_for_a_domain(self):
        flaky = self.receiver(status=500, name="flaky")
        other = self.receiver(status=500, name="other")
        self.start([{"domain": "a.example.com", "endpoints": [flaky.url("/a")]},
                    {"domain": "b.example.com", "endpoints": [other.url("/b")]}])
        ids = []
        for i in range(5):
            ids.append(self.assert_accepted(self.eh.post_event({"domain": "a.example.com", "n": i}))["event_id"])
        self.assert_accepted(self.eh.post_event({"domain": "b.example.com"}))
        self.wait_dlq(6)
        flaky.set_status(200)

        self.assert_error_body(self.api("POST", "/api/dlq/replay"), 400)  # a domain is required
        r = self.api("POST", "/api/dlq/replay?domain=a.example.com&limit=3")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["replayed"], r.json["remaining"], r.json["truncated"],
                          r.json["not_replayable"], r.json["failed"]), (3, 2, True, 0, 0), r.json)
        self.assertEqual([x["status"] for x in r.json["results"]], ["replayed"] * 3)
        r = self.api("POST", "/api/dlq/replay?domain=a.example.com")
        self.assertEqual((r.json["replayed"], r.json["remaining"], r.json["truncated"]), (2, 0, False), r.json)
        delivered = flaky.answered_2xx
        harness.wait_until(lambda: all(delivered(e) for e in ids), 10, "the 5 replays delivered")
        for e in ids:
            self.assertEqual(len(delivered(e)), 1, flaky.requests_for(e))
        # The other domain's record stays.
        left = self.api("GET", "/api/dlq").json["records"]
        self.assertEqual([x["record"]["domain"] for x in left], ["b.example.com"])
        r = self.api("POST", "/api/dlq/replay?domain=nobody.example.com")
        self.assertEqual((r.json["replayed"], r.json["remaining"], r.json["results"]), (0, 0, []), r.json)

    def test_refusals(self):
        rcv = self.receiver()
        self.start([{"domain": "example.com", "endpoints": [rcv.url()]}])
        self.assert_error_body(self.api("POST", "/api/dlq/999/replay"), 404)
        self.assert_error_body(self.api("GET", "/api/dlq/999"), 404)
        for p in ("/api/dlq/abc/replay", "/api/dlq/0/replay", "/api/dlq/-1", "/api/dlq/1x"):
            with self.subTest(path=p):
                self.assert_error_body(self.api("POST" if p.endswith("replay") else "GET", p), 400)
        self.assert_error_body(self.api("GET", "/api/dlq/1/replay"), 405)
        self.assert_error_body(self.api("POST", "/api/dlq/1"), 405)
        self.assert_error_body(self.api("POST", "/api/dlq"), 405)
        self.assert_error_body(self.api("GET", "/api/dlq/replay"), 405)
        self.assert_error_body(self.api("GET", "/api/dlq/1/other"), 404)
        self.assert_error_body(self.api("GET", "/api/dlqx"), 404)
        for q in ("limit=0", "limit=1001", "limit=x", "before=0"):
            self.assert_error_body(self.api("GET", "/api/dlq?" + q), 400)

        # A stored message that is not an event: its record cannot be replayed (409), stays.
        self.ns.client().publish_js("events.example_com", b'{"domain":"example.com", not json')
        self.wait_dlq(1)
        r = self.api("POST", "/api/dlq/1/replay")
        self.assert_error_body(r, 409)
        self.assertEqual(r.json["error"], "not_replayable")
        self.assertIn("invalid_json", r.json["detail"])
        self.assertEqual(self.dlq_count(), 1)
        self.assertEqual(self.eh.stop(), 0)

    def test_replay_keeps_kind_and_marks_origin(self):
        rcv = self.receiver()
        self.start([{"domain": "example.com", "endpoints": [rcv.url()]}])
        ev = b'{"domain":"k.example.com","event_id":"k-1","n":1}'
        self.ns.client().publish_js("events.k_example_com", ev,
                                    headers={"Eventhub-Kind": "CHANNEL_ANSWER", "Nats-Msg-Id": "k-1"})
        self.wait_dlq(1)
        rec = self.api("GET", "/api/dlq/1").json["record"]
        self.assertEqual((rec["reason"], rec["kind"]), ("no_route", "CHANNEL_ANSWER"), rec)
        r = self.api("POST", "/api/dlq/1/replay")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["duplicate"], r.json)  # the original's msg id is k-1
        m = self.api("GET", "/api/stream/messages?domain=k.example.com&limit=1").json["messages"][0]
        self.assertEqual(m["seq"], r.json["stream_seq"])
        self.assertEqual(m["headers"]["Eventhub-Kind"], "CHANNEL_ANSWER", m)
        self.assertEqual(m["headers"]["Eventhub-Replay-Of"], DLQ + ":1", m)
        self.assertEqual(m["headers"]["Nats-Msg-Id"], "k-1:replay:1", m)
        self.assertEqual(json.dumps(m["data"], separators=(",", ":")).encode(), ev)

    def test_event_left_out_of_the_record(self):
        r2 = self.receiver(name="r2")
        self.start([{"domain": "example.com", "endpoints": [r2.url()]}])
        # Close to the server's max payload (1 MiB): stored, but too large for a record.
        big = {"domain": "nowhere.example.com", "pad": "x" * (1024 * 1024 - 1200)}
        acks = [self.assert_accepted(self.eh.post_event(dict(big, event_id="big-%d" % i))) for i in range(2)]
        self.wait_dlq(2)
        recs = self.api("GET", "/api/dlq").json["records"]
        self.assertTrue(all(x["record"].get("event_omitted") for x in recs), recs)
        by_id = {x["record"]["event_id"]: x["seq"] for x in recs}
        # The original is still in the event stream: replayed from there.
        r = self.api("POST", "/api/dlq/%d/replay" % by_id["big-0"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["event_id"], "big-0")
        # The other original is gone: 409, the record stays.
        self.ns.client().js_api("STREAM.MSG.DELETE.EVENTS", {"seq": acks[1]["stream_seq"]})
        r = self.api("POST", "/api/dlq/%d/replay" % by_id["big-1"])
        self.assert_error_body(r, 409)
        self.assertIn("no longer", r.json["detail"])
        self.assertEqual(self.api("GET", "/api/dlq/%d" % by_id["big-1"]).status, 200)
        self.assertEqual(self.eh.stop(), 0)


def non_loopback_address():
    """An address of this host that is not loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


class DlqAuth(DlqBase):
    def some_route(self):
        return [{"domain": "example.com", "endpoints": [self.receiver().url()]}]

    def dead_letter_one(self):
        self.assert_accepted(self.eh.post_event({"domain": "nowhere.example.com"}))
        self.wait_dlq(1)

    def test_admin_token(self):
        self.start(self.some_route(), server={"admin_token": TOKEN})
        self.dead_letter_one()
        r = self.api("POST", "/api/dlq/1/replay")
        self.assert_error_body(r, 401)
        self.assertEqual(r.json["error"], "unauthorized")
        self.assertTrue(r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers)
        r = self.api("POST", "/api/dlq/1/replay", token="wrong")
        self.assert_error_body(r, 401)
        self.assert_error_body(self.api("POST", "/api/dlq/1/replay", token=TOKEN + "x"), 401)
        self.assert_error_body(self.api("POST", "/api/dlq/1/replay", headers={"Authorization": TOKEN}), 401)
        self.assert_error_body(self.api("POST", "/api/dlq/replay?domain=nowhere.example.com"), 401)
        self.assertEqual(self.dlq_count(), 1)
        # Read APIs stay open (protect_read_apis is off); /health and ingress always are.
        self.assertEqual(self.api("GET", "/api/dlq").status, 200)
        self.assertEqual(self.api("GET", "/api/stream/messages").status, 200)
        self.assertEqual(self.api("GET", "/api/logs").status, 200)
        self.assertEqual(self.eh.health().status, 200)
        # With the token (scheme case-insensitive): done.
        r = self.api("POST", "/api/dlq/1/replay", headers={"Authorization": "bearer  " + TOKEN})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.eh.stop(), 0)

    def test_protect_read_apis(self):
        self.start(self.some_route(), server={"protect_read_apis": True})
        # The token comes from the environment here.
        os.environ["EVENTHUB_ADMIN_TOKEN"] = TOKEN
        try:
            self.eh.restart()
        finally:
            del os.environ["EVENTHUB_ADMIN_TOKEN"]
        self.dead_letter_one()
        for path in ("/api/dlq", "/api/dlq/1", "/api/stream/messages", "/api/logs",
                     "/api/logs/domains", "/api/v1/calls"):
            with self.subTest(path=path):
                r = self.api("GET", path)
                self.assert_error_body(r, 401)
                self.assertIn("www-authenticate", r.headers)
                self.assert_error_body(self.api("GET", path, token="nope"), 401)
                self.assertNotEqual(self.api("GET", path, token=TOKEN).status, 401)
        self.assertEqual(self.api("GET", "/api/dlq", token=TOKEN).json["totals"]["messages"], 1)
        self.assertEqual(self.eh.health().status, 200)
        self.assert_accepted(self.eh.post_event({"domain": "nowhere.example.com"}))

    def test_no_token_loopback_only(self):
        self.start(self.some_route(), server={"address": "0.0.0.0"})
        self.dead_letter_one()
        # Without a token, from loopback: allowed (the read APIs too).
        self.assertEqual(self.api("GET", "/api/dlq").status, 200)
        addr = non_loopback_address()
        if addr is None:
            self.skipTest("no non-loopback address on this host")
        st, hdrs, data = harness.http_request("POST", addr, self.eh.port, "/api/dlq/1/replay",
                                              headers={"Content-Type": "application/json"})
        resp = harness.Response(st, hdrs, data)
        self.assert_error_body(resp, 403)
        self.assertEqual(resp.json["error"], "forbidden")
        self.assertIn("loopback", resp.json["detail"])
        st, _, _ = harness.http_request("GET", addr, self.eh.port, "/api/dlq")
        self.assertEqual(st, 200)  # reads stay open
        self.assertEqual(self.dlq_count(), 1)
        r = self.api("POST", "/api/dlq/1/replay")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    harness.main()
