#!/usr/bin/env python3
"""
The call records API: GET /api/v1/calls/{uuid} shows a call while it lasts ("live":
true, state "answered" once answered) and its final fields after it ended ("live":
false, as in the call signal); GET /api/v1/calls?limit=&offset=&domain= lists records
newest first; unknown calls are 404 and bad parameters 400, always with a JSON error.
"""

import json
import urllib.parse

import harness
from esl_harness import ANSWERED, BUSY, BUSY_SIGNAL, PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff

SIGNAL_ONLY = ("event_id", "received_at", "delivery_attempt")


def fix_id_dot():
    return Fixture(PLAIN).a_leg.replace("-", ".", 1)


class EslCallsApi(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver(name="rcv")
        self.net = self.receiver(name="net")

    def start(self, fs):
        return self.eventhub(esl_config(self.ns, [esl_node(fs)],
                                        [{"domain": "example.com", "endpoints": [self.rcv.url()]},
                                         {"domain": "example.net", "endpoints": [self.net.url()]}]))

    def get(self, eh, path):
        return eh.request("GET", path)

    def get_call(self, eh, uuid):
        r = self.get(eh, "/api/v1/calls/" + uuid)
        return r if r.status == 200 else None

    def test_live_call_then_ended(self):
        fix = Fixture(PLAIN)
        fs = self.fake_fs(script=[ff.Replay(PLAIN, pause_after="CHANNEL_ANSWER", gate="hangup")])
        eh = self.start(fs)
        conn = fs.wait_subscribed(1)
        harness.wait_until(conn.paused.is_set, 10, "the fake to pause after CHANNEL_ANSWER")

        def live_answered():
            r = self.get_call(eh, fix.a_leg)
            return r if r and r.json.get("live") is True and r.json.get("state") == "answered" else None
        r = harness.wait_until(live_answered, 15, "GET /api/v1/calls/%s: live, answered" % fix.a_leg)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r.headers)
        rec = r.json
        self.assertEqual(rec.get("call_id"), fix.a_leg, rec)
        for k in ("domain", "from_number", "to_number", "node"):
            self.assertEqual(rec.get(k), ANSWERED[k], "live record %s: %r" % (k, rec))
        self.assertEqual(self.rcv.count(), 0, "a signal was delivered before the call ended")

        fs.release("hangup")
        sig = self.wait_signal(self.rcv, fix.signal_id).json()
        r = harness.wait_until(lambda: (lambda x: x if x and x.json.get("live") is False else None)(
            self.get_call(eh, fix.a_leg)), 15, "the record of the ended call")
        rec = r.json
        self.assertEqual(rec.get("call_id"), fix.a_leg, rec)
        for k, v in ANSWERED.items():
            self.assertEqual(rec.get(k), v, "ended record %s: %r" % (k, rec))
        for k, v in sig.items():
            if k in SIGNAL_ONLY:
                continue
            self.assertEqual(rec.get(k), v, "the record's %r differs from the call signal's" % k)

    def test_list_newest_first_paging_and_domain(self):
        # three calls in chronological order (by their FreeSWITCH times and by arrival)
        first = Fixture(PLAIN)                                     # 10:32:26 example.com
        second = Fixture(BUSY)                                     # 10:41:58 example.com
        third = Fixture(PLAIN).distinct(1).rewrite({"example.com": "example.net"}, time_shift=3600,
                                                   name="third@example.net")  # 11:32:26
        fs = self.fake_fs(script=[ff.Replay(first), ff.Replay(second), ff.Replay(third)])
        eh = self.start(fs)
        for c, r in ((first, self.rcv), (second, self.rcv), (third, self.net)):
            self.wait_signal(r, c.signal_id)
        newest_first = [third.a_leg, second.a_leg, first.a_leg]

        def listing(query):
            r = self.get(eh, "/api/v1/calls?" + urllib.parse.urlencode(query))
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r.headers)
            return r.json

        def all_ended():
            j = listing({"limit": 10})
            got = [c.get("call_id") for c in j["calls"]]
            return j if got == newest_first and all(c.get("live") is False for c in j["calls"]) else None
        j = harness.wait_until(all_ended, 15, "3 ended calls listed newest first")
        self.assertEqual((j["limit"], j["offset"]), (10, 0), j)
        byid = {c["call_id"]: c for c in j["calls"]}
        self.assertEqual(byid[second.a_leg]["state"], BUSY_SIGNAL["state"])
        self.assertEqual(byid[second.a_leg]["status"], BUSY_SIGNAL["status"])
        self.assertEqual(byid[third.a_leg]["domain"], "example.net")

        j = listing({"limit": 2})
        self.assertEqual([c["call_id"] for c in j["calls"]], newest_first[:2])
        self.assertEqual((j["limit"], j["offset"]), (2, 0))
        j = listing({"limit": 1, "offset": 1})
        self.assertEqual([c["call_id"] for c in j["calls"]], newest_first[1:2])
        self.assertEqual((j["limit"], j["offset"]), (1, 1))
        j = listing({"limit": 10, "offset": 3})
        self.assertEqual(j["calls"], [])
        j = listing({"limit": 1000, "domain": "example.com"})
        self.assertEqual([c["call_id"] for c in j["calls"]], [second.a_leg, first.a_leg])
        j = listing({"domain": "example.net"})
        self.assertEqual([c["call_id"] for c in j["calls"]], [third.a_leg])
        j = listing({"domain": "nobody.example"})
        self.assertEqual(j["calls"], [])
        j = listing({})
        self.assertIsInstance(j.get("limit"), int, j)
        self.assertEqual(j.get("offset"), 0, j)
        self.assertEqual([c["call_id"] for c in j["calls"]], newest_first)

    def test_errors(self):
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        eh = self.start(fs)
        self.wait_signal(self.rcv, Fixture(PLAIN).signal_id)
        r = self.get(eh, "/api/v1/calls/00000000-0000-4000-8000-000000000000")
        self.assert_error_body(r, 404)
        self.assertEqual(r.json["error"], "not_found", r.json)
        for q in ("limit=abc", "limit=0", "limit=1001", "limit=-1", "offset=-1", "offset=abc",
                  "limit=10&offset=-5"):
            r = self.get(eh, "/api/v1/calls?" + q)
            self.assert_error_body(r, 400)
            self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), (q, r.headers))
        # ids that would be NATS wildcards or tokens in the key-value subject: refused,
        # never a listing or another call's record
        for bad in ("*", "%3E", "4871*", fix_id_dot(), "a%20b"):
            r = self.get(eh, "/api/v1/calls/" + bad)
            self.assertIn(r.status, (400, 404), (bad, r))
            self.assert_error_body(r, r.status)
        r = self.get(eh, "/api/v1/calls?limit=1000&offset=0")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.raw)["limit"], 1000)
        self.assertTrue(eh.running)


if __name__ == "__main__":
    harness.main()
