#!/usr/bin/env python3
"""
GET /api/logs: a day of a domain's event log read back (grouped by domain, split into
delivered and failed lines, with counts), across rotated and gzipped pieces; the
listing of domains and dates; paging with limit/offset; and refusals: path traversal
and other bad domains (400), bad dates (400), unknown domains and dates (404), all
with JSON error bodies. With domain logging off the listing says so.
"""

import datetime
import gzip
import json
import os
import urllib.parse

import harness
from harness import base_config


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def days_ago(n):
    d = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=n)
    return d.strftime("%Y-%m-%d")


class LogsApi(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.ok = self.receiver(name="ok")
        self.bad = self.receiver(status=500, name="bad")
        routes = [{"domain": "example.com", "endpoints": [self.ok.url("/ok")]},
                  {"domain": "fail.example.com", "endpoints": [self.bad.url("/bad")]}]
        self.eh = self.eventhub(base_config(self.ns.url, routes, nats={"max_deliveries": 2}))
        self.log_dir = os.path.join(self.eh.dir, "logs")

    def get(self, path, **query):
        q = urllib.parse.urlencode(query)
        return self.eh.request("GET", path + ("?" + q if q else ""))

    def get_raw(self, path_and_query):
        return self.eh.request("GET", path_and_query)

    def read_day(self, domain, date, want_total, **extra):
        def ready():
            r = self.get("/api/logs", domain=domain, date=date, **extra)
            if r.status == 200 and r.json["stats"]["total"] >= want_total:
                return r
            return None
        return harness.wait_until(ready, 15, "%d log lines for %s on %s" % (want_total, domain, date))

    def test_read_a_day_back(self):
        ids = []
        for i in range(3):
            ids.append(self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": i}))["event_id"])
        self.ok.wait_for(3)
        r = self.read_day("example.com", today(), 6)
        j = r.json
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(j["domain"], "example.com")
        self.assertEqual(j["date"], today())
        self.assertEqual(set(j["events_by_domain"]), {"example.com"}, j)
        self.assertEqual(j["failed_events_by_domain"], {}, j)
        lines = j["events_by_domain"]["example.com"]
        self.assertEqual(len(lines), 6, lines)
        received = [l for l in lines if l["type"] == "received"]
        forwarded = [l for l in lines if l["type"] == "forwarded"]
        self.assertEqual(sorted(l["event_id"] for l in received), sorted(ids))
        self.assertEqual(sorted(l["event_id"] for l in forwarded), sorted(ids))
        for l in received:
            self.assertEqual(l["event"]["event_id"], l["event_id"], l)
        stats = j["stats"]
        self.assertEqual((stats["total"], stats["received"], stats["forwarded"], stats["failed"],
                          stats["dead_lettered"], stats["lines"], stats["truncated"]),
                         (6, 3, 3, 0, 0, 6, False), stats)

        # Paging: limit 4 then the rest from next_offset.
        p1 = self.get("/api/logs", domain="example.com", date=today(), limit=4).json
        self.assertTrue(p1["stats"]["truncated"], p1)
        self.assertEqual(p1["stats"]["lines"], 4, p1)
        self.assertEqual(p1["next_offset"], 4, p1)
        p2 = self.get("/api/logs", domain="example.com", date=today(), offset=4).json
        self.assertFalse(p2["stats"]["truncated"], p2)
        self.assertEqual(p2["stats"]["lines"], 2, p2)
        both = p1["events_by_domain"]["example.com"] + p2["events_by_domain"]["example.com"]
        self.assertEqual(both, lines)

        # The listed directory name is accepted as well as the domain.
        r2 = self.get("/api/logs", domain="example_com", date=today())
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json["stats"]["total"], 6)

    def test_failed_lines_are_grouped_apart(self):
        eid = self.assert_accepted(self.eh.post_event({"domain": "fail.example.com"}))["event_id"]
        # received + failed (will retry) + failed (last) + dead_lettered
        r = self.read_day("fail.example.com", today(), 4)
        j = r.json
        self.assertEqual(set(j["failed_events_by_domain"]), {"fail.example.com"}, j)
        failed = j["failed_events_by_domain"]["fail.example.com"]
        self.assertEqual([l["type"] for l in failed].count("dead_lettered"), 1, failed)
        self.assertGreaterEqual([l["type"] for l in failed].count("failed"), 2, failed)
        self.assertTrue(all(l["event_id"] == eid for l in failed), failed)
        self.assertEqual([l["type"] for l in j["events_by_domain"]["fail.example.com"]], ["received"])
        self.assertEqual(j["stats"]["dead_lettered"], 1, j["stats"])
        self.assertEqual(j["stats"]["received"], 1, j["stats"])

    def write_gz(self, name, date, piece, lines):
        d = os.path.join(self.log_dir, name)
        os.makedirs(d, exist_ok=True)
        fname = "%s.%d.log.gz" % (date, piece) if piece else "%s.log.gz" % date
        with gzip.open(os.path.join(d, fname), "wb") as f:
            for l in lines:
                f.write((json.dumps(l) + "\n").encode())

    def test_gzipped_and_rotated_pieces(self):
        date = days_ago(2)
        mk = lambda i, t: {"ts": date + "T10:00:00.000Z", "type": t, "domain": "old.example.com",
                           "event_id": "e%d" % i, "stream_seq": i}
        # Piece 1 holds the earlier lines, the base piece the later ones.
        self.write_gz("old_example_com", date, 1, [mk(1, "received"), mk(1, "forwarded")])
        self.write_gz("old_example_com", date, 0, [mk(2, "received"), mk(2, "failed"),
                                                   mk(2, "dead_lettered")])
        r = self.get("/api/logs", domain="old.example.com", date=date)
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertEqual([(l["event_id"], l["type"]) for l in j["events_by_domain"]["old.example.com"]],
                         [("e1", "received"), ("e1", "forwarded"), ("e2", "received")])
        self.assertEqual([l["type"] for l in j["failed_events_by_domain"]["old.example.com"]],
                         ["failed", "dead_lettered"])
        self.assertEqual((j["stats"]["total"], j["stats"]["lines"]), (5, 5), j["stats"])

        # Listing: the gzipped day appears with its two files.
        for path in ("/api/logs/domains", "/api/logs"):
            lst = self.get(path)
            self.assertEqual(lst.status, 200, lst)
            doms = {d["domain"]: d for d in lst.json["domains"]}
            self.assertIn("old_example_com", doms, lst.json)
            days = {d["date"]: d for d in doms["old_example_com"]["dates"]}
            self.assertEqual(days[date]["files"], 2, days)
            self.assertIs(lst.json["domain_logging"], True)
        one = self.get("/api/logs", domain="old.example.com")
        self.assertEqual(one.status, 200, one)
        self.assertEqual([d["domain"] for d in one.json["domains"]], ["old_example_com"])
        self.assertEqual(self.eh.stop(), 0)

    def test_listing_after_traffic(self):
        self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        self.read_day("example.com", today(), 2)
        lst = self.get("/api/logs/domains").json
        doms = {d["domain"]: d for d in lst["domains"]}
        self.assertIn(today(), [d["date"] for d in doms["example_com"]["dates"]], lst)
        self.assertFalse(lst["truncated"])

    def test_refusals(self):
        self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        self.read_day("example.com", today(), 2)
        # Path traversal and other bad domains: 400, whatever the encoding.
        for q in ("domain=../etc&date=" + today(), "domain=..%2Fetc&date=" + today(),
                  "domain=%2e%2e&date=" + today(), "domain=a/b&date=" + today(),
                  "domain=a%5Cb", "domain=..", "domain=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                  "domain=x%00y&date=" + today(), "domain=" + "a" * 300):
            r = self.get_raw("/api/logs?" + q)
            with self.subTest(query=q):
                self.assert_error_body(r, 400)
        # Bad dates: 400.
        for d in ("2024-13-01", "2024-02-30", "20240101", "../../etc", "2024-1-01", "yesterday",
                  today() + "\x00x"):
            r = self.get("/api/logs", domain="example.com", date=d)
            self.assert_error_body(r, 400)
            self.assertIn("date", r.json["detail"])
        self.assert_error_body(self.get("/api/logs", date=today()), 400)  # date needs a domain
        for bad in ("0", "10001", "-1", "x", "1e3"):
            self.assert_error_body(self.get("/api/logs", domain="example.com", date=today(),
                                            limit=bad), 400)
        # Unknown domain, unknown date: 404.
        r = self.get("/api/logs", domain="nobody.example.com", date=today())
        self.assert_error_body(r, 404)
        self.assert_error_body(self.get("/api/logs", domain="nobody.example.com"), 404)
        self.assert_error_body(self.get("/api/logs", domain="example.com", date="2001-01-01"), 404)
        # Unknown sub-paths.
        self.assert_error_body(self.get_raw("/api/logs/..%2Fetc"), 404)
        self.assert_error_body(self.get_raw("/api/logs/nothing"), 404)
        self.assert_error_body(self.eh.request("POST", "/api/logs"), 405)
        # Nothing above reached outside the log directory or changed it.
        self.assertEqual(sorted(os.listdir(self.log_dir)), ["example_com"])
        self.assertEqual(self.eh.stop(), 0)  # a clean exit (and, under ASan, no leak)


class LogsApiOff(harness.TestCase):
    def test_domain_logging_off(self):
        ns = self.nats()
        rcv = self.receiver()
        eh = self.eventhub(base_config(ns.url, [{"domain": "example.com", "endpoints": [rcv.url()]}],
                                       log={"domain_logging": False}))
        self.assert_accepted(eh.post_event({"domain": "example.com"}))
        rcv.wait_for(1)
        r = eh.request("GET", "/api/logs")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"domain_logging": False, "domains": [], "truncated": False})
        r = eh.request("GET", "/api/logs?domain=example.com&date=" + today())
        self.assert_error_body(r, 404)
        self.assertIn("domain logging is off", r.json["detail"])


if __name__ == "__main__":
    harness.main()
