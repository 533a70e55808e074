#!/usr/bin/env python3
"""
Every JSON document eventhub writes is valid JSON text (RFC 8259: UTF-8, no NaN, no
duplicate keys): webhook bodies, every API answer, dead-letter records, the domain
log files and eventhub's own log — also when what it quotes came from outside
invalid (a FreeSWITCH header that is not UTF-8, a request path with stray bytes, a
receiver that answers garbage). Each document is parsed with harness.strict_json.
"""

import datetime
import glob
import gzip
import os

import harness
import fake_freeswitch as ff
from esl_harness import PLAIN, EslTestCase, Fixture, esl_config, esl_node


class JsonOutput(EslTestCase):
    def test_everything_eventhub_writes_is_strict_json(self):
        ns = self.nats()
        ok = self.receiver(name="ok")
        bad = self.receiver(status=500, name="bad")
        # A caller name that is not UTF-8 (plain ESL values are URL-encoded).
        fix = Fixture(PLAIN).rewrite({"Caller-Caller-ID-Name: Alice": "Caller-Caller-ID-Name: Al%FF%C3ice"})
        fs = self.fake_fs(script=[ff.Replay(fix)])
        routes = [{"domain": "example.com", "endpoints": [ok.url("/ok")]},
                  {"domain": "fail.example.com", "endpoints": [bad.url("/bad")]}]
        eh = self.eventhub(esl_config(ns, [esl_node(fs, publish="both", events=["ALL"])], routes,
                                      nats={"max_deliveries": 2}))
        tricky = [
            {"domain": "example.com", "u": "\u00e9t\u00e9 \U0001f600 \u2028", "n": 1},
            b'{"domain":"example.com","big":12345678901234567890,"e":"\\ud83d\\ude00\\u0000"}',
            {"domain": "fail.example.com", "q": "a\"b\\c\u0001"},
        ]
        for ev in tricky:
            self.assert_accepted(eh.post_event(ev))
        harness.wait_until(lambda: self.dlq_count(ns) >= 1, 20, "a dead letter")
        conn = fs.wait_subscribed(1)
        harness.wait_until(conn.script_done.is_set, 15, "the fake to finish its replay")
        self.wait_esl(eh, lambda e: e.get("buffered") == 0 and e.get("events_published", 0) > 0, 15,
                      "eventhub to store the FreeSWITCH events")
        self.wait_consumer_idle(ns, timeout=20)

        docs = []  # (where, bytes)
        for r in ok.requests + bad.requests:
            docs.append(("webhook body %s" % r.path, r.body))
        # An unparseable path byte and a query with stray bytes must not break the answers.
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        paths = ["/health", "/api/stats", "/api/config", "/api/events", "/api/events?limit=1000",
                 "/api/events?domain=fail.example.com", "/api/dlq", "/api/dlq?domain=fail.example.com",
                 "/api/stream/messages", "/api/stream/messages?domain=example.com",
                 "/api/logs", "/api/logs/domains",
                 "/api/logs?domain=example.com&date=" + today,
                 "/api/logs?domain=fail.example.com&date=" + today,
                 "/api/v1/calls", "/api/v1/calls/" + fix.a_leg,
                 "/api/logs?domain=%FF%FE&date=" + today, "/api/dlq?domain=%C3",
                 "/api/v1/calls/%FF", "/api/stream/messages?limit=x%FF", "/nope%FF"]
        dlq = eh.request("GET", "/api/dlq")
        for rec in (harness.strict_json(dlq.raw).get("records") or [])[:3]:
            if isinstance(rec, dict) and isinstance(rec.get("seq"), int):
                paths.append("/api/dlq/%d" % rec["seq"])
        for p in paths:
            r = eh.request("GET", p)
            self.assertIn(r.headers.get("content-type", "").split(";")[0],
                          ("application/json",), "%s: %r" % (p, r))
            docs.append(("GET " + p, r.raw))
        # error answers of the ingress and the control plane
        for body in [b"\xef\xbb\xbf{}", b'{"domain":"\xff"}', b"{", b'{"domain":"a","domain":"b"}']:
            docs.append(("POST /events %r" % body, eh.post_event(body).raw))
        # the dead-letter stream's records, as stored
        for m in self.stream_msgs(ns, "EVENTS_DLQ"):
            docs.append(("dead-letter record", m["data"] if isinstance(m["data"], bytes)
                         else m["data"].encode()))
        # domain log files (plain and gzipped) and eventhub's own log
        for path in glob.glob(os.path.join(eh.dir, "logs", "**", "*"), recursive=True):
            if os.path.isdir(path):
                continue
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                for line in f.read().splitlines():
                    if line.strip():
                        docs.append(("domain log %s" % os.path.relpath(path, eh.dir), line))
        self.assertTrue(any(w.startswith("domain log") for w, _ in docs), "no domain log lines read")
        for line in eh.logs_raw:
            docs.append(("eventhub log", line))

        bad_docs = []
        for where, data in docs:
            try:
                harness.strict_json(data)
            except ValueError as e:
                bad_docs.append("%s: %s: %r" % (where, e, data[:300]))
        self.assertEqual(bad_docs, [], "documents that are not strict JSON")
        # and the FreeSWITCH header really was quoted (with U+FFFD in place of the stray bytes)
        names = [harness.strict_json(b).get("Caller-Caller-ID-Name") for w, b in docs
                 if w.startswith("webhook body /ok")]
        self.assertIn("Al\ufffd\ufffdice", names, "the raw FreeSWITCH event with the bad name")


if __name__ == "__main__":
    harness.main()
