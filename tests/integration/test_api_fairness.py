#!/usr/bin/env python3
"""
API reads cannot starve each other (api_worker lanes, api.scan_* limits).

The event stream holds a few thousand events of one domain and three of a rare one
(the oldest), so a scan filtered on the rare domain walks the whole stream. Twenty
threads keep such scans going; meanwhile GET /api/dlq, GET /health and GET /api/stats
must each be answered (within a 5 s request timeout) — the scans hold at most
api.max_concurrent_scans workers, the dead-letter stream has its own, and a light
request always finds one. Scans that find their lane full are answered 503 busy with
Retry-After, never left waiting past api.queue_timeout.

A scan that reaches api.scan_max_messages or api.scan_timeout answers what it found
with "partial": true, "partial_reason" and "next_before"; following the cursor visits
the rest and finds every message. The dead-letter listing and the replay of a domain
(after / next_after) keep to the same limits.
"""

import json
import sys
import threading
import time

import harness
from harness import base_config, wait_until

BULK = "bulk.example"
RARE = "rare.example"
JSON_CT = {"Content-Type": "application/json"}  # the control plane wants it on changes
BULK_EVENTS = 3000


def fill_stream(ns, bulk=BULK_EVENTS):
    """Three rare events (sequences 1-3), then `bulk` events of the bulk domain, published
    without waiting for acks (one connection keeps them in order)."""
    c = ns.client()
    for i in range(3):
        c.publish("events.rare_example",
                  json.dumps({"domain": RARE, "event_id": "rare-%d" % i, "n": i}).encode())
    for i in range(bulk):
        c.publish("events.bulk_example",
                  json.dumps({"domain": BULK, "event_id": "bulk-%d" % i, "n": i}).encode())
    c.flush()
    wait_until(lambda: ns.client().stream_info("EVENTS")["state"]["messages"] == bulk + 3, 30,
               "%d messages in EVENTS" % (bulk + 3))


def dlq_record(domain, event_id):
    return json.dumps({"reason": "no_route", "detail": "test record", "domain": domain,
                       "event_id": event_id, "stream": "EVENTS", "attempts": 1,
                       "event": {"domain": domain, "event_id": event_id}}).encode()


def fill_dlq(ns, before, bulk, after):
    """`before` rare records, `bulk` bulk records, then `after` rare records."""
    c = ns.client()
    n = 0
    for kind, count in ((RARE, before), (BULK, bulk), (RARE, after)):
        for _ in range(count):
            n += 1
            token = kind.replace(".", "_")
            c.publish("dlq.EVENTS." + token, dlq_record(kind, "dl-%d" % n))
    c.flush()
    wait_until(lambda: ns.client().stream_info("EVENTS_DLQ")["state"]["messages"] == n, 30,
               "%d records in EVENTS_DLQ" % n)


class ApiFairness(harness.TestCase):
    def start(self, api=None):
        self.ns = self.nats()
        cfg = base_config(self.ns.url, [], delivery={"enabled": False})
        if api:
            cfg["api"] = api
        self.eh = self.eventhub(cfg)
        return self.eh

    def get(self, path, timeout=5.0):
        return self.eh.request("GET", path, timeout=timeout)

    def follow(self, path, cursor="before", next_key="next_before", max_pages=200):
        """Every page of a newest-first listing, following its cursor."""
        pages = []
        url = path
        while True:
            r = self.get(url)
            self.assertEqual(r.status, 200, r)
            pages.append(r.json)
            if not r.json["truncated"]:
                return pages
            self.assertLess(len(pages), max_pages, "the cursor does not progress: %r" % pages[-3:])
            url = "%s&%s=%d" % (path, cursor, r.json[next_key])

    def test_light_requests_answer_while_scans_run(self):
        eh = self.start()
        fill_stream(self.ns)
        fill_dlq(self.ns, 2, 0, 0)

        stop = threading.Event()
        lock = threading.Lock()
        state = {"inflight": 0, "ok": 0, "partial": 0, "busy": 0, "found": 0, "bad": []}

        def scan_once(path, url, found):
            """One request; returns the next URL and how long to wait before it. `found`
            collects the sequences of one walk, page after page."""
            with lock:
                state["inflight"] += 1
            try:
                r = eh.request("GET", url, timeout=30.0)
            finally:
                with lock:
                    state["inflight"] -= 1
            with lock:
                if r.status == 200:
                    j = r.json
                    state["ok"] += 1
                    state["partial"] += 1 if j.get("partial") else 0
                    found.extend(m["seq"] for m in j["messages"])
                    if j["truncated"]:
                        return "%s&before=%d" % (path, j["next_before"]), 0
                    if found == [3, 2, 1]:
                        state["found"] += 1
                    else:
                        state["bad"].append("a walk found %r" % (found,))
                    del found[:]
                    return path, 0
                if (r.status == 503 and isinstance(r.json, dict) and r.json.get("error") == "busy"
                        and r.headers.get("retry-after")):
                    state["busy"] += 1
                    return url, float(r.headers["retry-after"])
                state["bad"].append(repr(r))
                return url, 1.0

        def scanner():
            # A client that follows the cursor of partial answers and, told 503 busy,
            # comes back after Retry-After.
            path = "/api/stream/messages?domain=%s&limit=50" % RARE
            url, found = path, []
            while not stop.is_set():
                try:
                    url, pause = scan_once(path, url, found)
                except Exception as e:  # noqa: BLE001 - recorded, asserted below
                    with lock:
                        state["bad"].append(repr(e))
                    pause = 1.0
                stop.wait(pause)

        threads = [threading.Thread(target=scanner, daemon=True) for _ in range(20)]
        for t in threads:
            t.start()
        try:
            probes = 0
            for _ in range(6):
                # The scans are running: some are in flight and they keep completing.
                with lock:
                    seen = state["ok"]
                wait_until(lambda: state["ok"] >= seen + 1, 30, "one more scan answered 200")
                self.assertGreater(state["inflight"], 0)
                t0 = time.monotonic()
                dlq = self.get("/api/dlq?limit=10")
                self.assertEqual(dlq.status, 200, dlq)
                self.assertEqual([r["record"]["event_id"] for r in dlq.json["records"]],
                                 ["dl-2", "dl-1"], dlq.json)
                dlq_domain = self.get("/api/dlq?domain=%s" % RARE)
                self.assertEqual(dlq_domain.status, 200, dlq_domain)
                self.assertEqual(len(dlq_domain.json["records"]), 2, dlq_domain.json)
                health = eh.health(timeout=5.0)
                self.assertEqual(health.status, 200, health)
                stats = self.get("/api/stats")
                self.assertEqual(stats.status, 200, stats)
                self.assertEqual(self.get("/api/events?limit=1").status, 200)
                probes += 1
                sys.stderr.write("probe %d: %.0f ms while %d scans were in flight (%r)\n" % (
                    probes, (time.monotonic() - t0) * 1000, state["inflight"], state))
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertEqual(state["bad"], [], state)
        self.assertGreater(state["ok"], 0, state)
        self.assertGreater(state["found"], 0, state)
        self.assertEqual(eh.stop(), 0)

    def test_scan_limit_gives_partial_pages_and_a_cursor(self):
        self.start({"scan_max_messages": 500})
        fill_stream(self.ns)
        pages = self.follow("/api/stream/messages?domain=%s&limit=50" % RARE)
        # 3003 sequences, 500 a page, the rare three at the bottom.
        self.assertEqual(len(pages), 7, [(p["scanned"], p.get("next_before")) for p in pages])
        cursor = 3004
        for p in pages[:-1]:
            self.assertEqual((p["messages"], p["truncated"], p["partial"], p["partial_reason"],
                              p["scanned"]), ([], True, True, "scan_limit", 500), p)
            self.assertEqual(p["next_before"], cursor - 500, p)
            cursor = p["next_before"]
        last = pages[-1]
        self.assertEqual([m["seq"] for m in last["messages"]], [3, 2, 1], last)
        self.assertEqual((last["truncated"], last["partial"]), (False, False), last)
        self.assertNotIn("next_before", last)
        self.assertEqual(last["scanned"], 3)

        # Unfiltered pages are full long before the limit: not partial.
        j = self.get("/api/stream/messages?limit=100").json
        self.assertEqual((len(j["messages"]), j["truncated"], j["partial"]), (100, True, False), j)

        # The dead-letter listing keeps to the same limit.
        fill_dlq(self.ns, 2, 600, 0)
        pages = self.follow("/api/dlq?domain=%s" % RARE)
        self.assertEqual(len(pages), 2, pages)
        self.assertEqual((pages[0]["records"], pages[0]["partial"], pages[0]["partial_reason"],
                          pages[0]["next_before"]), ([], True, "scan_limit", 103), pages[0])
        self.assertEqual([r["seq"] for r in pages[1]["records"]], [2, 1], pages[1])

        # So does the call records list (offset paging, continued with before + offset).
        c = self.ns.client()
        for i in range(3):
            c.publish("$KV.CALLS.rare-%d" % i, json.dumps({"call_id": "rare-%d" % i, "domain": RARE}).encode())
        for i in range(600):
            c.publish("$KV.CALLS.bulk-%d" % i, json.dumps({"call_id": "bulk-%d" % i, "domain": BULK}).encode())
        c.flush()
        wait_until(lambda: self.ns.client().stream_info("KV_CALLS")["state"]["messages"] == 603, 30,
                   "603 call records")
        j = self.get("/api/v1/calls?domain=%s&offset=1" % RARE).json
        self.assertEqual((j["calls"], j["partial"], j["partial_reason"], j["next_before"],
                          j["next_offset"]), ([], True, "scan_limit", 104, 1), j)
        j = self.get("/api/v1/calls?domain=%s&offset=%d&before=%d"
                     % (RARE, j["next_offset"], j["next_before"])).json
        self.assertEqual([x["call_id"] for x in j["calls"]], ["rare-1", "rare-0"], j)
        self.assertNotIn("partial", j)

    def test_scan_timeout_gives_partial_pages_and_a_cursor(self):
        self.start({"scan_timeout": "30ms"})
        fill_stream(self.ns)
        pages = self.follow("/api/stream/messages?domain=%s&limit=50" % RARE, max_pages=3004)
        reasons = {p.get("partial_reason") for p in pages[:-1]}
        self.assertEqual(reasons, {"deadline"}, [(p["scanned"], p.get("partial_reason")) for p in pages])
        self.assertGreater(len(pages), 1)
        # The pages cover the stream exactly once, and the last finds the rare events.
        self.assertEqual(sum(p["scanned"] for p in pages), 3003)
        self.assertTrue(all(p["scanned"] >= 1 for p in pages))
        self.assertEqual([m["seq"] for p in pages for m in p["messages"]], [3, 2, 1])

    def test_replay_of_a_domain_continues_after_its_cursor(self):
        self.start({"scan_max_messages": 500})
        fill_dlq(self.ns, 0, 600, 2)  # the rare records at 601 and 602
        r = self.eh.request("POST", "/api/dlq/replay?domain=%s" % RARE, headers=JSON_CT)
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertEqual((j["replayed"], j["truncated"], j["partial"], j["partial_reason"],
                          j["next_after"], j["scanned"]), (0, True, True, "scan_limit", 500, 500), j)
        r = self.eh.request("POST", "/api/dlq/replay?domain=%s&after=%d" % (RARE, j["next_after"]), headers=JSON_CT)
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertEqual((j["replayed"], j["truncated"], j["partial"], j["remaining"]),
                         (2, False, False, 0), j)
        self.assert_error_body(self.eh.request("POST", "/api/dlq/replay?domain=%s&after=0" % RARE, headers=JSON_CT), 400)

    def test_full_scan_lane_answers_busy(self):
        # One scan at a time and a short queue wait: a burst of slow scans must be
        # answered 503 busy (JSON body, Retry-After) rather than queued for long.
        eh = self.start({"workers": 3, "max_concurrent_scans": 1, "queue_timeout": "50ms"})
        fill_stream(self.ns)
        results = []
        lock = threading.Lock()

        def scan():
            r = eh.request("GET", "/api/stream/messages?domain=%s" % RARE, timeout=30.0)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=scan) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 12)
        busy = [r for r in results if r.status == 503]
        ok = [r for r in results if r.status == 200]
        self.assertEqual(len(busy) + len(ok), 12, results)
        self.assertGreater(len(ok), 0, results)
        self.assertGreater(len(busy), 0, results)
        for r in busy:
            self.assert_error_body(r, 503)
            self.assertEqual(r.json["error"], "busy", r)
            self.assertEqual(r.headers.get("retry-after"), "1", r)
        self.assertEqual(eh.stop(), 0)


if __name__ == "__main__":
    harness.main()
