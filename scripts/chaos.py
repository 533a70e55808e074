#!/usr/bin/env python3
"""
chaos.py — the durability scenario of docs/DELIVERY.md, as a measurement (not a test:
it takes about a minute and prints figures).

One domain with two endpoints: "healthy" always answers 200, "flaky" fails a share
of its calls (500). A sender posts N events at a rate (each with its own event_id;
anything but a 202 is retried with the same event_id until it is accepted), while
eventhub is SIGKILLed and restarted K times and the broker is restarted B times.
Then it waits until both endpoints have every accepted event and prints: accepted,
lost (accepted, not at both endpoints), and the duplicates each endpoint received.

usage: scripts/chaos.py [--events 40000] [--rate 800] [--kills 4] [--broker-restarts 2]
                        [--fail-share 0.2] [--timeout 300]
Needs a built eventhub (EVENTHUB_BIN or ./build/cmd/eventhub/eventhub) and nats-server.
"""

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("EVENTHUB_BIN", os.path.join(ROOT, "build", "cmd", "eventhub", "eventhub"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--rate", type=float, default=800)
    ap.add_argument("--kills", type=int, default=4)
    ap.add_argument("--broker-restarts", type=int, default=2)
    ap.add_argument("--fail-share", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="eventhub-chaos-")
    ns = harness.NatsServer(tmp)
    ns.start()
    healthy = harness.Receiver(name="healthy")
    flaky = harness.Receiver(name="flaky")
    rnd = random.Random(7)
    flaky.set_status(lambda req: 500 if rnd.random() < a.fail_share else 200)
    cfg = harness.base_config(
        ns.url, [{"domain": "chaos.example", "endpoints": [healthy.url("/h"), flaky.url("/f")]}],
        nats={"max_deliveries": 1000},
        delivery={"backoff": ["200ms", "500ms", "1s"], "breaker": {"failures": 0}})
    eh = harness.Eventhub(tmp, cfg, log_level="info")
    eh.start()
    port = {"v": eh.port}

    accepted = set()
    lock = threading.Lock()
    next_id = {"v": 0}
    t0 = time.monotonic()

    def sender():
        conn = None
        while True:
            with lock:
                i = next_id["v"]
                if i >= a.events:
                    return
                next_id["v"] += 1
            due = t0 + i / a.rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            body = json.dumps({"domain": "chaos.example", "event_id": "c-%d" % i, "n": i})
            while True:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port["v"], timeout=5)
                    conn.request("POST", "/events", body, {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if r.status == 202:
                        with lock:
                            accepted.add("c-%d" % i)
                        break
                except (OSError, http.client.HTTPException):
                    conn = None
                time.sleep(0.05)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    span = a.events / a.rate
    events = sorted([("kill", span * (k + 1) / (a.kills + 1)) for k in range(a.kills)] +
                    [("broker", span * (b + 0.5) / (a.broker_restarts + 0.5))
                     for b in range(a.broker_restarts)], key=lambda e: e[1])
    for what, at in events:
        d = t0 + at - time.monotonic()
        if d > 0:
            time.sleep(d)
        if what == "kill":
            eh.kill9()
            eh.start()
            port["v"] = eh.port
            print("chaos: eventhub SIGKILLed and restarted at %.1f s" % (time.monotonic() - t0))
        else:
            ns.stop()
            ns.restart()
            print("chaos: nats-server restarted at %.1f s" % (time.monotonic() - t0))
    for t in threads:
        t.join()
    sent_s = time.monotonic() - t0
    print("chaos: %d events accepted in %.1f s" % (len(accepted), sent_s))

    def done():
        h, f = set(healthy.event_ids()), set(flaky.event_ids())
        return accepted <= h and accepted <= f
    deadline = time.monotonic() + a.timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.5)
    h, f = healthy.event_ids(), flaky.event_ids()
    lost = [e for e in accepted if e not in h or e not in f]
    print("accepted              %d" % len(accepted))
    print("lost                  %d" % len(lost))
    print("healthy duplicates    %d (requests %d for %d events)" %
          (sum(c - 1 for c in h.values()), sum(h.values()), len(h)))
    print("flaky: 2xx answers    %d; calls %d (failures are retried: extra calls expected)" %
          (len([r for r in flaky.requests if r.status == 200]), len(flaky.requests)))
    ok_count = {}
    for r in flaky.requests:
        if r.status == 200:
            ok_count[r.event_id] = ok_count.get(r.event_id, 0) + 1
    flaky_dups = sum(c - 1 for c in ok_count.values())
    print("flaky duplicates      %d (events answered 2xx more than once)" % flaky_dups)
    print("delivery finished     %.1f s after the first event" % (time.monotonic() - t0))
    eh.stop()
    ns.stop()
    healthy.close()
    flaky.close()
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
