#!/usr/bin/env python3
"""
Crash under load: clients post 2000 events with their own event_ids, retrying each
(same id) on 503 or connection errors; half-way eventhub is killed with SIGKILL and
restarted. Every event that got a 202 must reach both endpoints (duplicates allowed
and counted), and the stream holds each event once.
"""

import http.client
import json
import sys
import threading
import time
import uuid

import harness
from harness import base_config

TOTAL = 2000
CLIENTS = 16
KILL_AT = 800


class CrashUnderLoad(harness.TestCase):
    def test_kill9_midway_loses_nothing(self):
        ns = self.nats()
        r1 = self.receiver(name="r1")
        r2 = self.receiver(name="r2")
        eh = self.eventhub(base_config(
            ns.url, [{"domain": "example.com", "endpoints": [r1.url("/one"), r2.url("/two")]}],
            nats={"ack_wait_seconds": 5}, delivery={"timeout": "2s"}))

        ids = [str(uuid.uuid4()) for _ in range(TOTAL)]
        next_index = iter(range(TOTAL))
        index_lock = threading.Lock()
        accepted = {}            # event_id -> stream_seq
        acc_lock = threading.Lock()
        stats = {"503": 0, "conn_errors": 0, "duplicates": 0}
        unexpected = []
        stop = threading.Event()
        deadline = time.monotonic() + 90

        def client():
            conn = None
            port = None
            while not stop.is_set():
                with index_lock:
                    i = next(next_index, None)
                if i is None:
                    break
                eid = ids[i]
                body = json.dumps({"domain": "example.com", "event_id": eid, "i": i}).encode()
                while not stop.is_set():
                    if time.monotonic() > deadline:
                        unexpected.append((eid, "gave up: deadline"))
                        return
                    try:
                        if conn is None or port != eh.port:
                            if conn is not None:
                                conn.close()
                            port = eh.port
                            if port is None:
                                time.sleep(0.02)
                                continue
                            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                        conn.request("POST", "/events", body=body,
                                     headers={"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        data = resp.read()
                    except (OSError, http.client.HTTPException):
                        with acc_lock:
                            stats["conn_errors"] += 1
                        if conn is not None:
                            conn.close()
                        conn = None
                        time.sleep(0.02)
                        continue
                    if resp.status == 202:
                        j = json.loads(data)
                        with acc_lock:
                            accepted[eid] = j["stream_seq"]
                            if j.get("duplicate"):
                                stats["duplicates"] += 1
                        if j.get("event_id") != eid:
                            unexpected.append((eid, "202 names event_id %r" % j.get("event_id")))
                        break
                    if resp.status == 503:
                        with acc_lock:
                            stats["503"] += 1
                        time.sleep(0.02)
                        continue
                    unexpected.append((eid, "%d %r" % (resp.status, data[:200])))
                    break
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        try:
            for t in threads:
                t.start()
            harness.wait_until(lambda: len(accepted) >= KILL_AT, 60, "%d events accepted" % KILL_AT)
            eh.kill9()
            killed_at = len(accepted)
            eh.start()
            for t in threads:
                t.join(timeout=max(1, deadline - time.monotonic()))
                self.assertFalse(t.is_alive(), "a client thread is still running")
        finally:
            stop.set()

        self.assertEqual(unexpected, [], "unexpected answers")
        self.assertEqual(len(accepted), TOTAL, "not every event was eventually accepted")
        self.assertLess(killed_at, TOTAL, "the kill happened after all events were accepted")

        def all_delivered():
            return set(accepted) <= set(r1.event_ids()) and set(accepted) <= set(r2.event_ids())
        try:
            harness.wait_until(all_delivered, 60, "every accepted event at both endpoints")
        finally:
            missing1 = set(accepted) - set(r1.event_ids())
            missing2 = set(accepted) - set(r2.event_ids())
            if missing1 or missing2:
                sys.stderr.write("missing at r1: %d, at r2: %d (e.g. %r)\n" % (
                    len(missing1), len(missing2), sorted(missing1 | missing2)[:5]))
        self.wait_consumer_idle(ns, timeout=30)

        dup1 = sum(c - 1 for c in r1.event_ids().values())
        dup2 = sum(c - 1 for c in r2.event_ids().values())
        sys.stderr.write(
            "crash under load: %d accepted (%d before the kill), %d answered duplicate:true, "
            "%d 503s, %d connection errors; duplicate deliveries r1=%d r2=%d\n" % (
                len(accepted), killed_at, stats["duplicates"], stats["503"], stats["conn_errors"],
                dup1, dup2))
        for rcv in (r1, r2):
            self.assertFalse([eid for eid in rcv.event_ids() if eid not in accepted],
                             "%s received events nobody sent" % rcv.name)
        # Each event stored once: retries used the same event_id.
        state = ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(state["messages"], TOTAL, state)
        self.assertEqual(len(set(accepted.values())), TOTAL, "two events share a stream_seq")


if __name__ == "__main__":
    harness.main()
