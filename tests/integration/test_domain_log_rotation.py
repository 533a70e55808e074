#!/usr/bin/env python3
"""
Per-domain logs rotate by size through the real binary: with log.max_file_size set to
its minimum (4 KB), a few hundred events fill several pieces; closed pieces are gzipped
(YYYY-MM-DD.N.log.gz), and GET /api/logs reads the whole day back across them, every
event's "received" and "forwarded" line present once.
"""

import datetime
import glob
import gzip
import os
import urllib.parse

import harness
from harness import base_config

N = 120


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


class DomainLogRotation(harness.TestCase):
    def test_rotation_and_compression_with_a_small_limit(self):
        ns = self.nats()
        ok = self.receiver(name="ok")
        eh = self.eventhub(base_config(ns.url, [{"domain": "example.com", "endpoints": [ok.url("/ok")]}],
                                       log={"max_file_size": "4KB"}))
        ids = [self.assert_accepted(eh.post_event({"domain": "example.com", "n": i, "pad": "x" * 100}))
               ["event_id"] for i in range(N)]
        ok.wait_for(N, timeout=30)

        log_dir = os.path.join(eh.dir, "logs", "example_com")
        day = today()

        def gzipped_pieces():
            pieces = sorted(glob.glob(os.path.join(log_dir, day + ".*.log.gz")))
            return pieces if len(pieces) >= 3 else None
        pieces = harness.wait_until(gzipped_pieces, 15, "at least 3 rotated, gzipped pieces")
        for p in pieces:
            with gzip.open(p, "rt") as f:
                text = f.read()
            self.assertTrue(text.endswith("\n") and text.count("\n") >= 1, p)
            # A piece holds at most the limit (or one line that is larger on its own).
            self.assertLessEqual(len(text.encode()), 4096 + 2048, p)

        def whole_day():
            q = urllib.parse.urlencode({"domain": "example.com", "date": day, "limit": 10000})
            r = eh.request("GET", "/api/logs?" + q)
            if r.status == 200 and r.json["stats"]["total"] >= 2 * N:
                return r.json
            return None
        j = harness.wait_until(whole_day, 15, "%d lines through /api/logs" % (2 * N))
        lines = j["events_by_domain"]["example.com"]
        received = sorted(l["event_id"] for l in lines if l["type"] == "received")
        forwarded = sorted(l["event_id"] for l in lines if l["type"] == "forwarded")
        self.assertEqual(received, sorted(ids))
        self.assertEqual(forwarded, sorted(ids))


if __name__ == "__main__":
    harness.main()
