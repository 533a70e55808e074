#!/usr/bin/env python3
"""
SIGTERM under load, several times: 16 clients post events (their own event_ids) as fast
as they can over keep-alive connections, retrying the same event_id after a 503 or a
broken connection. In each of ROUNDS rounds eventhub is started, loaded, and sent
SIGTERM while requests wait for their publish acks; odd rounds run an ingress-only
instance (delivery.enabled: false: the HTTP server stops right after the last publish
ack), even rounds deliver to both endpoints at the same time. Each time eventhub must
exit 0 (not abort with requests still suspended), and no request may go unanswered once
its event was stored: an event whose client saw no 202 before its final one must not
come back "duplicate": true (a lost 202, or a 503 other than publish_timeout that
lied). While eventhub runs normally no connection may break. After a last start every
event that got a 202 reaches both endpoints, and the stream holds each event once.
"""

import http.client
import json
import signal
import sys
import threading
import time
import uuid

import harness
from harness import base_config

ROUNDS = 10
CLIENTS = 16
PER_ROUND = 300          # events accepted in a round before its SIGTERM
OK_503 = {"shutting_down", "nats_unavailable", "overloaded", "publish_timeout"}


class ShutdownUnderLoad(harness.TestCase):
    def test_repeated_sigterm_under_load(self):
        ns = self.nats()
        r1 = self.receiver(name="r1")
        r2 = self.receiver(name="r2")
        routes = [{"domain": "example.com", "endpoints": [r1.url("/one"), r2.url("/two")]}]

        def config(delivery_enabled):
            return base_config(ns.url, routes, server={"shutdown_timeout": "5s"},
                               nats={"ack_wait_seconds": 10},
                               delivery={"enabled": delivery_enabled})
        eh = self.eventhub(config(True), start=False)

        lock = threading.Lock()
        history = {}       # event_id -> [(round, outcome)], outcome: 202/dup202/"503 x"/"conn: X"/"refused"
        accepted = {}      # event_id -> stream_seq
        per_round = [0] * (ROUNDS + 2)
        broken_while_running = []   # (round, event_id, error) for a break before the SIGTERM
        unexpected = []
        state = {"round": 0}
        t_sig = {}         # eventhub port -> monotonic time that run was sent its SIGTERM
        no_new = threading.Event()
        stop = threading.Event()
        deadline = time.monotonic() + 75

        def record(eid, rnd, outcome):
            with lock:
                history.setdefault(eid, []).append((rnd, outcome))

        def client():
            conn, port, rnd = None, None, None
            while not stop.is_set() and not no_new.is_set():
                eid = str(uuid.uuid4())
                body = json.dumps({"domain": "example.com", "event_id": eid}).encode()
                while not stop.is_set():
                    if time.monotonic() > deadline:
                        unexpected.append((eid, "gave up: deadline"))
                        return
                    if conn is None or port != eh.port:
                        if conn is not None:
                            conn.close()
                        conn = None
                        with lock:
                            port, rnd = eh.port, state["round"]
                        if port is None:
                            time.sleep(0.005)
                            continue
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                    try:
                        conn.request("POST", "/events", body=body,
                                     headers={"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        data = resp.read()
                    except ConnectionRefusedError:
                        record(eid, rnd, "refused")
                        conn.close()
                        conn = None
                        time.sleep(0.01)
                        continue
                    except (OSError, http.client.HTTPException) as e:
                        now = time.monotonic()
                        what = "conn: %s" % type(e).__name__
                        record(eid, rnd, what)
                        with lock:
                            sig = t_sig.get(port)
                        if sig is None or now < sig:
                            broken_while_running.append((rnd, eid, repr(e)))
                        conn.close()
                        conn = None
                        continue
                    if resp.status == 202:
                        j = json.loads(data)
                        record(eid, rnd, "dup202" if j.get("duplicate") else "202")
                        with lock:
                            accepted[eid] = j["stream_seq"]
                            per_round[rnd] += 1
                        if j.get("event_id") != eid:
                            unexpected.append((eid, "202 names event_id %r" % j.get("event_id")))
                        break
                    err = None
                    try:
                        err = json.loads(data).get("error")
                    except (ValueError, AttributeError):
                        pass
                    if resp.status == 503 and err in OK_503:
                        record(eid, rnd, "503 %s" % err)
                        if resp.getheader("Connection", "").lower() == "close":
                            conn.close()
                            conn = None
                        time.sleep(0.005)
                        continue
                    unexpected.append((eid, "%d %r" % (resp.status, data[:200])))
                    break
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        exits = []
        t0 = time.monotonic()
        try:
            for t in threads:
                t.start()
            for rnd in range(1, ROUNDS + 1):
                # Odd rounds: an ingress-only instance, so the HTTP server is stopped
                # right after the last publish ack (the tightest race). Even rounds:
                # deliveries are in flight too.
                with lock:
                    state["round"] = rnd
                eh.write_config(config(rnd % 2 == 0))
                eh.start()
                with lock:
                    t_sig.pop(eh.port, None)  # a port of an earlier run may come back
                harness.wait_until(lambda: per_round[rnd] >= PER_ROUND, 20,
                                   "%d events accepted in round %d" % (PER_ROUND, rnd))
                with lock:
                    t_sig[eh.port] = time.monotonic()
                eh.proc.send_signal(signal.SIGTERM)
                code = eh.wait_exit(timeout=20)
                eh.stop()  # reap the log readers
                exits.append(code)
                self.assertEqual(code, 0, "round %d: exit status %s after SIGTERM under load" % (rnd, code))
                shutdown_problems = [l for l in eh.run_logs()
                                     if l.get("level") in ("error", "warn") and l.get("subsystem") in ("app", "http")]
                self.assertEqual(shutdown_problems, [], "round %d: shutdown complaints" % rnd)
                self.assertTrue(eh.find_log(lambda l: str(l.get("msg", "")).startswith("stopped cleanly")),
                                "round %d: no 'stopped cleanly' line" % rnd)
            # Last start: the clients finish the events they hold, then stop.
            with lock:
                state["round"] = ROUNDS + 1
            no_new.set()
            eh.write_config(config(True))
            eh.start()
            with lock:
                t_sig.pop(eh.port, None)
            for t in threads:
                t.join(timeout=max(1, deadline - time.monotonic()))
                self.assertFalse(t.is_alive(), "a client thread is still running")
        finally:
            stop.set()
        load_time = time.monotonic() - t0

        self.assertEqual(unexpected, [], "unexpected answers")
        self.assertEqual(broken_while_running, [],
                         "connections broke while eventhub was running normally (before the SIGTERM)")
        self.assertEqual(sorted(history), sorted(accepted), "an event never got its 202")

        # A stored event must have been answered 202 the first time; only a 503
        # publish_timeout may leave a stored event unconfirmed.
        lost_answers = []
        for eid, h in history.items():
            if h[-1][1] == "dup202" and not any(o == "503 publish_timeout" for _, o in h[:-1]):
                lost_answers.append((eid, h))
        counts = {}
        for h in history.values():
            for _, o in h:
                counts[o] = counts.get(o, 0) + 1
        sys.stderr.write("shutdown under load: %d events in %.1fs over %d rounds (per round %r); "
                         "answers %r; exits %r\n" % (len(accepted), load_time, ROUNDS, per_round[1:],
                                                     counts, exits))
        self.assertEqual(lost_answers[:5], [],
                         "%d stored event(s) whose client got no 202 the first time (answers per "
                         "attempt as (round, outcome))" % len(lost_answers))

        def all_delivered():
            return set(accepted) <= set(r1.event_ids()) and set(accepted) <= set(r2.event_ids())

        def dead_letters():
            try:
                return ns.client().stream_info("EVENTS_DLQ")["state"]["messages"]
            except harness.natsclient.JetStreamError:
                return 0
        # Settled: everything delivered, or something was dead-lettered (it never will be).
        harness.wait_until(lambda: all_delivered() or dead_letters() > 0, 30,
                           "every accepted event at both endpoints")
        missing = (set(accepted) - set(r1.event_ids())) | (set(accepted) - set(r2.event_ids()))
        if dead_letters() > 0:
            # The endpoints always answer 200: no accepted event may be dead-lettered.
            self.wait_consumer_idle(ns, timeout=30)
            dead = {}
            for m in ns.client().msgs("EVENTS_DLQ"):
                rec = json.loads(m["data"])
                key = (rec.get("reason"), rec.get("detail"), rec.get("attempts"),
                       "never delivered" if rec.get("event_id") in missing else "delivered")
                dead[key] = dead.get(key, 0) + 1
            self.fail("%d accepted event(s) dead-lettered although both endpoints answer 200 "
                      "(%d never reached an endpoint); (reason, detail, attempts, delivered?) -> "
                      "count: %r" % (sum(dead.values()), len(missing), dead))
        self.assertEqual(missing, set())
        self.wait_consumer_idle(ns, timeout=30)
        for rcv in (r1, r2):
            self.assertFalse([e for e in rcv.event_ids() if e not in accepted],
                             "%s received events nobody sent" % rcv.name)
        st = ns.client().stream_info("EVENTS")["state"]
        self.assertEqual(st["messages"], len(accepted), st)
        self.assertEqual(len(set(accepted.values())), len(accepted), "two events share a stream_seq")
        self.assertEqual(eh.stop(), 0)


if __name__ == "__main__":
    harness.main()
