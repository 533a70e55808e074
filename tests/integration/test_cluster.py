#!/usr/bin/env python3
"""
eventhub on a 3-node JetStream cluster (cluster_harness.NatsCluster), with
nats.servers naming all three nodes and nats.stream.replicas: 3 (the one replicas key:
it applies to the event, dead-letter and retry streams and the calls bucket; the
consumers inherit their stream's replicas).

- replicas: every stream, the consumer and the calls bucket have 3 peers.
- broker failover under load: clients post ~300 events/s with their own event_ids,
  retrying (same id) on 503 and connection errors until 202; the stream leader is
  SIGKILLed, restarted, then the consumer leader, restarted, then the node eventhub is
  connected to. Every accepted event
  reaches the receiver at least once (duplicates counted, allowed).
- instances: three eventhub instances share the cluster (one deliver group), clients
  post to all three; one is SIGKILLed and another SIGTERMed under load; the last one
  delivers everything that was accepted.
"""

import http.client
import json
import signal
import sys
import threading
import time
import uuid

import harness
from cluster_harness import ClusterTestCase
from harness import base_config

RATE = 300           # events/s, all client threads together
CLIENTS = 4
DOMAIN = "example.com"


def cluster_config(cluster, routes, **sections):
    cfg = base_config("", routes, **sections)
    nats = cfg["nats"]
    for k in ("url", "stream_name", "subject_pattern", "ack_wait_seconds", "max_deliveries"):
        nats.pop(k, None)
    nats.update({
        "servers": cluster.urls,
        "reconnect_wait": "200ms",
        "connect_timeout": "1s",
        "stream": {"name": "EVENTS", "subject_pattern": "events.*", "replicas": 3},
        # ack_wait > delivery.timeout + 2 s; short, so that deliveries lost with a
        # consumer leader or an instance come back soon.
        "consumer": {"ack_wait": "5s", "max_deliver": 1000},
    })
    cfg["delivery"]["timeout"] = "2s"
    return cfg


class Load:
    """CLIENTS threads posting RATE events/s in total to the given eventhub instances,
    each event retried with its own event_id on 503 or connection errors (moving to
    the next instance) until it gets a 202."""

    def __init__(self, instances, rate=RATE, clients=CLIENTS):
        self.instances = instances
        self.rate = rate
        self.clients = clients
        self.lock = threading.Lock()
        self.accepted = {}       # event_id -> stream_seq
        self.sent = set()        # every event_id posted at least once
        self.stats = {"503": 0, "conn_errors": 0, "duplicate_answers": 0, "retried_events": 0}
        self.accept_times = []   # monotonic time of every 202
        self.reasons_503 = {}    # "<instance>: <error>" -> count
        self.unexpected = []
        self._stop = threading.Event()    # no new events
        self._abort = threading.Event()   # give up the retries too
        self._threads = []

    def count(self):
        with self.lock:
            return len(self.accepted)

    def start(self):
        for i in range(self.clients):
            t = threading.Thread(target=self._client, args=(i,), daemon=True, name="load-%d" % i)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout=20.0):
        """Stops new events; events being retried get until `timeout` for their 202."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self._abort.set()
        for t in self._threads:
            t.join(5)
        return not any(t.is_alive() for t in self._threads)

    def gap_after(self, t, window=15.0):
        """The longest time without a 202 from t to t+window (seconds): how long the
        ingress was unavailable after a failure at t."""
        with self.lock:
            times = sorted(a for a in self.accept_times if t <= a <= t + window)
        if not times:
            return None
        return round(max(b - a for a, b in zip([t] + times, times)), 2)

    def _client(self, i):
        interval = self.clients / float(self.rate)
        target = i % len(self.instances)
        conn, conn_key = None, None
        next_t = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if next_t > now:
                time.sleep(next_t - now)   # pacing of the load, not a wait for a condition
            next_t = max(next_t + interval, time.monotonic() - 1.0)
            eid = str(uuid.uuid4())
            body = json.dumps({"domain": DOMAIN, "event_id": eid, "client": i}).encode()
            with self.lock:
                self.sent.add(eid)
            tries = 0
            while not self._abort.is_set():
                tries += 1
                eh = self.instances[target]
                try:
                    if not eh.running or eh.port is None:
                        raise ConnectionRefusedError("instance %s is down" % eh.name)
                    if conn is None or conn_key != (eh.name, eh.port):
                        if conn is not None:
                            conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", eh.port, timeout=10)
                        conn_key = (eh.name, eh.port)
                    conn.request("POST", "/events", body=body,
                                 headers={"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    with self.lock:
                        self.stats["conn_errors"] += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    target = (target + 1) % len(self.instances)
                    self._abort.wait(0.02)
                    continue
                if resp.status == 202:
                    j = json.loads(data)
                    with self.lock:
                        self.accepted[eid] = j.get("stream_seq")
                        self.accept_times.append(time.monotonic())
                        if j.get("duplicate"):
                            self.stats["duplicate_answers"] += 1
                        if tries > 1:
                            self.stats["retried_events"] += 1
                    if j.get("event_id") != eid:
                        self.unexpected.append((eid, "202 names event_id %r" % j.get("event_id")))
                    break
                if resp.status == 503:
                    if len(self.instances) > 1:
                        target = (target + 1) % len(self.instances)
                    try:
                        why = "%s: %s" % (eh.name, json.loads(data).get("error"))
                    except (ValueError, AttributeError):
                        why = "%s: %r" % (eh.name, data[:60])
                    with self.lock:
                        self.stats["503"] += 1
                        self.reasons_503[why] = self.reasons_503.get(why, 0) + 1
                    self._abort.wait(0.05)
                    continue
                self.unexpected.append((eid, "%d %r" % (resp.status, data[:200])))
                break
        if conn is not None:
            conn.close()


class Cluster(ClusterTestCase):
    def assert_all_delivered(self, load, receiver, timeout=45.0, what=""):
        accepted = set(load.accepted)

        def missing():
            return accepted - set(receiver.event_ids())
        try:
            harness.wait_until(lambda: not missing(), timeout,
                               "every accepted event delivered%s" % what, interval=0.2)
        except harness.WaitTimeout:
            pass
        counts = receiver.event_ids()
        lost = sorted(accepted - set(counts))
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        strangers = [e for e in counts if e not in load.sent]
        summary = ("%d accepted, %d lost, %d duplicate deliveries, %d delivered not accepted "
                   "(202 never seen), stats %r, 503s %r" % (
                       len(accepted), len(lost), duplicates,
                       len([e for e in counts if e in load.sent and e not in accepted]),
                       load.stats, load.reasons_503))
        sys.stderr.write("%s: %s\n" % (self.id().rsplit(".", 1)[-1], summary))
        self.assertEqual(lost, [], "lost events (e.g. %r); %s" % (lost[:5], summary))
        self.assertEqual(strangers, [], "received events nobody sent")
        return duplicates

    def report_gaps(self, load, receiver, kills):
        """Writes, for each failure, the longest time without a 202 and without a
        delivery in the 15 s after it (for the record; timing is not asserted)."""
        def delivery_gap(t, window=15.0):
            times = sorted(r.time for r in receiver.requests if t <= r.time <= t + window)
            return round(max(b - a for a, b in zip([t] + times, times)), 2) if times else None
        sys.stderr.write("longest gap (s) without a 202 / a delivery after: %s\n" % ", ".join(
            "%s %s / %s" % (k, load.gap_after(t), delivery_gap(t)) for k, t in kills.items()))

    def test_replicas_everywhere(self):
        cluster = self.nats_cluster()
        r = self.receiver(name="r")
        self.eventhub(cluster_config(cluster, [{"domain": DOMAIN, "endpoints": [r.url()]}]))
        c = cluster.client()
        names = sorted(n.name for n in cluster.nodes)
        for stream in ("EVENTS", "EVENTS_DLQ", "EVENTS_RETRY", "KV_CALLS"):
            info = c.stream_info(stream)
            self.assertEqual(info["config"].get("num_replicas"), 3, (stream, info["config"]))
            harness.wait_until(lambda: cluster.stream_replicas(stream) == names, 10,
                               "3 peers for %s" % stream)
        ci = c.consumer_info("EVENTS", "eventhub")
        # num_replicas 0 means "as the stream": the consumer must still have 3 peers.
        harness.wait_until(lambda: cluster.consumer_replicas("EVENTS", "eventhub") == names, 10,
                           "3 peers for the consumer (config %r)" % (ci["config"],))

    def test_leader_failover_under_load(self):
        cluster = self.nats_cluster()
        r = self.receiver(name="r")
        eh = self.eventhub(cluster_config(cluster, [{"domain": DOMAIN, "endpoints": [r.url()]}]))
        stream_leader = cluster.wait_stream_leader("EVENTS")
        load = Load([eh]).start()
        try:
            harness.wait_until(lambda: load.count() >= 600, 20, "600 events accepted")
            # 1. The stream leader dies.
            before = load.count()
            kills = {"stream leader": time.monotonic()}
            cluster.kill_node(stream_leader)
            new_leader = cluster.wait_stream_leader("EVENTS", timeout=30, exclude=stream_leader)
            harness.wait_until(lambda: load.count() >= before + 300, 30,
                               "300 events accepted after the stream leader's SIGKILL")
            # Back to three nodes before the next failure (two down is no quorum).
            cluster.restart_node(stream_leader)
            cluster.wait_current("EVENTS")
            # 2. The consumer leader dies.
            consumer_leader = cluster.wait_consumer_leader("EVENTS", "eventhub")
            delivered_before = r.count()
            before = load.count()
            kills["consumer leader"] = time.monotonic()
            cluster.kill_node(consumer_leader)
            cluster.wait_consumer_leader("EVENTS", "eventhub", timeout=30, exclude=consumer_leader)
            harness.wait_until(lambda: load.count() >= before + 300, 30,
                               "300 events accepted after the consumer leader's SIGKILL")
            harness.wait_until(lambda: r.count() >= delivered_before + 300, 30,
                               "deliveries go on after the consumer leader's SIGKILL")
            # 3. The node eventhub is connected to dies (unless that was the last one).
            cluster.restart_node(consumer_leader)
            cluster.wait_current("EVENTS")
            home = harness.wait_until(lambda: cluster.nodes_with_client("eventhub"), 10,
                                      "eventhub's connection on a node")[0]
            delivered_before, before = r.count(), load.count()
            kills["eventhub's node"] = time.monotonic()
            cluster.kill_node(home)
            harness.wait_until(lambda: [n for n in cluster.nodes_with_client("eventhub")
                                        if n is not home], 20, "eventhub reconnected")
            harness.wait_until(lambda: load.count() >= before + 300, 30,
                               "300 events accepted after eventhub's node SIGKILL")
            harness.wait_until(lambda: r.count() >= delivered_before + 300, 30,
                               "deliveries go on after eventhub's node SIGKILL")
        finally:
            self.assertTrue(load.stop(), "a client thread is still running")
        self.assertEqual(load.unexpected, [], "unexpected answers")
        sys.stderr.write("stream leader %s then %s; consumer leader %s; eventhub on %s\n" % (
            stream_leader.name, new_leader.name, consumer_leader.name, home.name))
        self.report_gaps(load, r, kills)
        self.assertTrue(eh.running, "eventhub exited")
        self.assert_all_delivered(load, r)

    def test_instances_killed_and_stopped_under_load(self):
        cluster = self.nats_cluster()
        r = self.receiver(name="r")
        cfg = cluster_config(cluster, [{"domain": DOMAIN, "endpoints": [r.url()]}])
        ehs = [self.eventhub(cfg, name="eh%d" % (i + 1)) for i in range(3)]
        load = Load(ehs).start()
        try:
            harness.wait_until(lambda: load.count() >= 600, 20, "600 events accepted")
            harness.wait_until(lambda: r.count() >= 300, 20, "deliveries")
            kills = {"SIGKILL eh1": time.monotonic()}
            ehs[0].kill9()
            before = load.count()
            harness.wait_until(lambda: load.count() >= before + 300, 30,
                               "300 events accepted after eh1's SIGKILL")
            kills["SIGTERM eh2"] = time.monotonic()
            rc = ehs[1].stop(signal.SIGTERM, timeout=20)
            self.assertEqual(rc, 0, "eh2 exit status after SIGTERM")
            before, delivered_before = load.count(), r.count()
            harness.wait_until(lambda: load.count() >= before + 300, 30,
                               "300 events accepted after eh2's SIGTERM")
            harness.wait_until(lambda: r.count() >= delivered_before + 300, 30,
                               "eh3 delivers after eh2's SIGTERM")
        finally:
            self.assertTrue(load.stop(), "a client thread is still running")
        self.assertEqual(load.unexpected, [], "unexpected answers")
        self.assertTrue(ehs[2].running, "eh3 exited")
        self.report_gaps(load, r, kills)
        self.assert_all_delivered(load, r)
        self.wait_consumer_idle(cluster, timeout=20)


if __name__ == "__main__":
    harness.main()
