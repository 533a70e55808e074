#!/usr/bin/env python3
"""
GET /metrics and GET /api/stats: after real traffic (delivered events, an endpoint that
always fails until the event is dead-lettered, a domain without a route, rejected
requests), the Prometheus text parses with a real parser (prometheus_client, Debian's
python3-prometheus-client) and every counter and histogram count matches what was sent;
unknown domains fold into "_other" (or "_default" when a default route exists); label
values are escaped; a reloaded route gets its own label; /api/stats has the documented
shape and the same numbers; the consumer's pending counts and in-flight gauges follow a
hanging endpoint; FreeSWITCH nodes have their gauges; both follow the read rules of the
control plane (protect_read_apis).
"""

import math
import os
import signal
import sys

import harness
from esl_harness import PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff
from harness import base_config

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian installs it for the system python3; a python3 from elsewhere (pyenv) can
    # still use that pure-Python package.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        sys.stderr.write("test_metrics needs python3-prometheus-client "
                         "(scripts/install-deps.sh installs it)\n")
        raise

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WEIRD = 'we"ird\\x.example'  # a quote and a backslash: both must be escaped


class Scrape:
    """One parsed /metrics answer: families by name and a sample lookup."""

    def __init__(self, text):
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {}
        for fam in self.families.values():
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                if key in self.samples:
                    raise AssertionError("duplicate series %s %r" % (s.name, s.labels))
                self.samples[key] = s.value

    def get(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def series(self, name):
        return [(dict(k[1]), v) for k, v in self.samples.items() if k[0] == name]


class Metrics(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.good = self.receiver(status=200, name="good")
        self.bad = self.receiver(status=500, name="bad")

    def start(self, routes, nats=None, **sections):
        n = {"max_deliveries": 2}
        n.update(nats or {})
        self.eh = self.eventhub(base_config(self.ns.url, routes, nats=n, **sections))

    def scrape(self):
        r = self.eh.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), CONTENT_TYPE)
        return Scrape(r.raw.decode("utf-8"))

    def stats(self):
        r = self.eh.request("GET", "/api/stats")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertIsInstance(r.json, dict, r.raw)
        return r.json

    def wait_metric(self, name, want, **labels):
        def reached():
            return self.scrape().get(name, **labels) == want
        harness.wait_until(reached, 20, "%s%r == %r" % (name, labels, want))

    def check_format(self, m):
        """Structural checks beyond the parser: HELP and TYPE for every family, counters
        named *_total, histograms with cumulative buckets ending in +Inf == _count."""
        for name, fam in m.families.items():
            self.assertIn("# HELP %s " % (name + "_total" if fam.type == "counter" else name),
                          m.text)
            self.assertTrue(fam.documentation, name)
            self.assertIn(fam.type, ("counter", "gauge", "histogram"), name)
            for s in fam.samples:
                self.assertTrue(s.name.startswith("eventhub_"), s.name)
                self.assertFalse(math.isnan(s.value), s)
            if fam.type != "histogram":
                continue
            groups = {}
            for s in fam.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                groups.setdefault(key, []).append(s)
            for key, samples in groups.items():
                buckets = [s for s in samples if s.name.endswith("_bucket")]
                les = [float(s.labels["le"]) for s in buckets]
                self.assertEqual(les, sorted(les), (name, key))
                self.assertEqual(les[-1], math.inf, (name, key))
                values = [s.value for s in buckets]
                self.assertEqual(values, sorted(values), (name, key, "buckets must be cumulative"))
                count = [s.value for s in samples if s.name.endswith("_count")]
                total = [s.value for s in samples if s.name.endswith("_sum")]
                self.assertEqual(count, [values[-1]], (name, key))
                self.assertEqual(len(total), 1, (name, key))
                self.assertGreaterEqual(total[0], 0, (name, key))

    def test_traffic_counts_and_stats(self):
        good_url, bad_url = self.good.url("/a"), self.bad.url("/b")
        weird_url = self.good.url("/w")
        self.start([
            {"domain": "example.com", "endpoints": [good_url]},
            {"domain": "fail.example", "endpoints": [bad_url]},
            {"domain": WEIRD, "endpoints": [weird_url]},
        ], server={"max_body_bytes": 4096})
        for i in range(3):
            self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": i}))
        self.assert_accepted(self.eh.post_event({"domain": "fail.example"}))
        self.assert_accepted(self.eh.post_event({"domain": WEIRD}))
        for d in ("nobody.example", "Other.Example"):
            self.assert_accepted(self.eh.post_event({"domain": d}))
        # Rejections: 400 (not JSON), 415 (content type), 413 at the HTTP layer.
        self.assert_error_body(self.eh.post_event("{not json"), 400)
        self.assert_error_body(self.eh.post_event({"domain": "x"}, content_type="text/plain"), 415)
        self.assert_error_body(self.eh.post_event(b"x" * 8192), 413)

        self.wait_metric("eventhub_events_dead_lettered_total", 1, domain="fail.example",
                         reason="max_deliveries_exceeded")
        self.wait_metric("eventhub_events_dead_lettered_total", 2, domain="_other",
                         reason="no_route")
        self.wait_metric("eventhub_events_delivered_total", 3, domain="example.com")
        self.wait_metric("eventhub_events_delivered_total", 1, domain=WEIRD)
        self.wait_consumer_idle(self.ns)

        m = self.scrape()
        self.check_format(m)
        g = m.get
        # Per domain.
        self.assertEqual(g("eventhub_events_received_total", domain="example.com", source="http"), 3)
        self.assertEqual(g("eventhub_events_received_total", domain="example.com", source="esl"), 0)
        self.assertEqual(g("eventhub_events_received_total", domain="fail.example", source="http"), 1)
        self.assertEqual(g("eventhub_events_received_total", domain=WEIRD, source="http"), 1)
        self.assertEqual(g("eventhub_events_received_total", domain="_other", source="http"), 2)
        self.assertEqual(g("eventhub_events_received_total", domain="_default", source="http"), 0)
        self.assertEqual(g("eventhub_events_failed_total", domain="example.com"), 0)
        self.assertEqual(g("eventhub_events_failed_total", domain="fail.example"), 2)
        self.assertEqual(g("eventhub_events_retried_total", domain="fail.example"), 1)
        self.assertEqual(g("eventhub_events_delivered_total", domain="fail.example"), 0)
        # Unknown domains never become labels.
        domains = {l["domain"] for l, _ in m.series("eventhub_events_received_total")}
        self.assertEqual(domains, {"example.com", "fail.example", WEIRD, "_default", "_other"})
        # The escaped form is in the text; the parser gives the value back.
        self.assertIn('domain="we\\"ird\\\\x.example"', m.text)
        # Per endpoint.
        self.assertEqual(g("eventhub_deliveries_total", domain="example.com", endpoint=good_url,
                           outcome="ok"), 3)
        self.assertEqual(g("eventhub_deliveries_total", domain="example.com", endpoint=good_url,
                           outcome="failed"), 0)
        self.assertEqual(g("eventhub_deliveries_total", domain="fail.example", endpoint=bad_url,
                           outcome="failed"), 2)
        self.assertEqual(g("eventhub_deliveries_total", domain="fail.example", endpoint=bad_url,
                           outcome="ok"), 0)
        self.assertEqual(g("eventhub_deliveries_total", domain=WEIRD, endpoint=weird_url,
                           outcome="ok"), 1)
        # Histograms: one observation per call / event.
        self.assertEqual(g("eventhub_delivery_latency_seconds_count", domain="example.com",
                           endpoint=good_url), 3)
        self.assertEqual(g("eventhub_delivery_latency_seconds_count", domain="fail.example",
                           endpoint=bad_url), 2)
        self.assertEqual(g("eventhub_end_to_end_latency_seconds_count", domain="example.com"), 3)
        self.assertEqual(g("eventhub_end_to_end_latency_seconds_count", domain="fail.example"), 0)
        self.assertEqual(g("eventhub_ingress_latency_seconds_count"), 7)
        self.assertGreater(g("eventhub_ingress_latency_seconds_sum"), 0)
        self.assertEqual(g("eventhub_ingress_latency_seconds_bucket", le="+Inf"), 7)
        # Process-wide counters and gauges.
        self.assertEqual(g("eventhub_ingress_requests_total"), 8)
        self.assertEqual(g("eventhub_ingress_published_total"), 7)
        self.assertEqual(g("eventhub_ingress_rejected_total", status="400"), 1)
        self.assertEqual(g("eventhub_ingress_rejected_total", status="415"), 1)
        self.assertEqual(g("eventhub_ingress_rejected_total", status="413"), 0)
        self.assertEqual(g("eventhub_ingress_rejected_total", status="503"), 0)
        self.assertEqual(g("eventhub_http_body_too_large_total"), 1)
        self.assertEqual(g("eventhub_delivery_acked_total"), 4)
        self.assertEqual(g("eventhub_delivery_retries_total"), 1)
        self.assertEqual(g("eventhub_endpoint_calls_total", outcome="ok"), 4)
        self.assertEqual(g("eventhub_endpoint_calls_total", outcome="failed"), 2)
        self.assertEqual(g("eventhub_dead_letters_stored_total"), 3)
        self.assertEqual(g("eventhub_nats_connected"), 1)
        self.assertEqual(g("eventhub_nats_ready"), 1)
        self.assertEqual(g("eventhub_nats_reconnects_total"), 0)
        self.assertEqual(g("eventhub_publishes_inflight"), 0)
        self.assertEqual(g("eventhub_deliveries_inflight"), 0)
        self.assertEqual(g("eventhub_consumer_pending"), 0)
        self.assertEqual(g("eventhub_consumer_num_ack_pending"), 0)
        self.assertEqual(g("eventhub_metrics_unlabelled_routes", kind="domain"), 0)
        self.assertIsNotNone(g("eventhub_build_info", version=self.stats()["version"]))

        s = self.stats()
        self.assertEqual(set(s), {"version", "uptime_seconds", "totals", "domains", "inflight",
                                  "nats", "consumer", "esl", "ingress", "http", "endpoints"})
        # The sources, through the one source interface: HTTP ingress and (none here)
        # FreeSWITCH nodes.
        self.assertEqual(s["esl"], [])
        self.assertEqual(s["ingress"], [{"name": "http", "state": "accepting"}])
        # The versioned path answers the same document.
        v1 = self.eh.request("GET", "/api/v1/stats").json
        self.assertEqual(set(v1), set(s))
        self.assertEqual(v1["totals"]["published"], s["totals"]["published"])
        # Nothing here was refused before routing or too slow (test_http_guard.py,
        # test_slow_clients.py make those move).
        self.assertEqual(s["http"], {
            "refused": {"framing": 0, "head_too_large": 0, "host": 0, "cross_origin": 0,
                        "media_type": 0},
            "slow_closed": {"head": 0, "body": 0}})
        for reason in ("framing", "head_too_large", "host", "cross_origin", "media_type"):
            self.assertEqual(g("eventhub_http_refused_total", reason=reason), 0)
        for phase in ("head", "body"):
            self.assertEqual(g("eventhub_http_slow_requests_closed_total", phase=phase), 0)
        self.assertIsInstance(s["uptime_seconds"], int)
        t = s["totals"]
        want = {"received": 8, "published": 7, "duplicates": 0, "rejected": 2, "unavailable": 0,
                "delivered": 4, "failed": 2, "retried": 1, "dead_lettered": 3}
        self.assertEqual({k: t.get(k) for k in want}, want, t)
        self.assertEqual(set(s["domains"]), {"example.com", "fail.example", WEIRD, "_default",
                                             "_other"})
        ex = s["domains"]["example.com"]
        self.assertEqual((ex["received"], ex["delivered"], ex["failed"], ex["routed"]),
                         (3, 3, 0, True))
        fe = s["domains"]["fail.example"]
        self.assertEqual((fe["received"], fe["failed"], fe["retried"], fe["dead_lettered"]),
                         (1, 2, 1, 1))
        oth = s["domains"]["_other"]
        self.assertEqual((oth["received"], oth["dead_lettered"], oth["routed"]), (2, 2, False))
        self.assertEqual(s["inflight"], {"publishes": 0, "deliveries": 0})
        n = s["nats"]
        self.assertIs(n["connected"], True)
        self.assertIs(n["ready"], True)
        self.assertEqual(n["server"], self.ns.url)
        c = s["consumer"]
        self.assertEqual((c["stream"], c["name"], c["pending"], c["num_pending"],
                          c["num_ack_pending"]), ("EVENTS", "eventhub", 0, 0, 0))
        self.assertEqual(s["esl"], [])
        # A clean exit (under ASan: no leak) after scrapes.
        self.assertEqual(self.eh.stop(), 0)

    def test_pending_counts_while_endpoint_hangs(self):
        # Calls hang until released: a timeout long enough not to fire meanwhile.
        self.start([{"domain": "example.com", "endpoints": [self.good.url("/a")]}],
                   nats={"ack_wait_seconds": 60}, delivery={"timeout": "30s"})
        self.good.hang()
        for i in range(3):
            self.assert_accepted(self.eh.post_event({"domain": "example.com", "n": i}))
        self.good.wait_for(3)

        def three_pending():
            m = self.scrape()
            return (m.get("eventhub_consumer_pending") == 3 and
                    m.get("eventhub_deliveries_inflight") == 3)
        harness.wait_until(three_pending, 10, "3 pending, 3 deliveries in flight")
        s = self.stats()
        self.assertEqual(s["consumer"]["pending"], 3)
        self.assertEqual(s["consumer"]["num_ack_pending"], 3)
        self.assertEqual(s["inflight"]["deliveries"], 3)
        self.good.release()
        self.wait_metric("eventhub_events_delivered_total", 3, domain="example.com")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.scrape().get("eventhub_consumer_pending"), 0)

    def test_default_route_folds_unknown_domains(self):
        dflt = self.good.url("/default")
        self.start([
            {"domain": "example.com", "endpoints": [self.good.url("/a")]},
            {"domain": "*", "endpoints": [dflt]},
        ])
        for d in ("one.example", "two.example", "example.com"):
            self.assert_accepted(self.eh.post_event({"domain": d}))
        self.wait_metric("eventhub_events_delivered_total", 2, domain="_default")
        self.wait_metric("eventhub_events_delivered_total", 1, domain="example.com")
        m = self.scrape()
        self.check_format(m)
        self.assertEqual(m.get("eventhub_events_received_total", domain="_default", source="http"), 2)
        self.assertEqual(m.get("eventhub_events_received_total", domain="_other", source="http"), 0)
        self.assertEqual(m.get("eventhub_deliveries_total", domain="_default", endpoint=dflt,
                               outcome="ok"), 2)
        domains = {l["domain"] for l, _ in m.series("eventhub_events_received_total")}
        self.assertEqual(domains, {"example.com", "_default", "_other"})
        s = self.stats()
        self.assertIs(s["domains"]["_default"]["routed"], True)
        self.assertEqual(s["domains"]["_default"]["delivered"], 2)

    def test_reloaded_route_gets_a_label(self):
        a, b = self.good.url("/a"), self.good.url("/b")
        self.start([{"domain": "example.com", "endpoints": [a]}])
        self.assert_accepted(self.eh.post_event({"domain": "new.example"}))
        self.wait_metric("eventhub_events_dead_lettered_total", 1, domain="_other",
                         reason="no_route")
        cfg = base_config(self.ns.url, [{"domain": "new.example", "endpoints": [b]}],
                          nats={"max_deliveries": 2})
        self.eh.write_config(cfg)
        self.eh.proc.send_signal(signal.SIGHUP)
        self.wait_metric("eventhub_events_received_total", 0, domain="new.example", source="http")
        harness.wait_until(lambda: self.stats()["domains"]["example.com"]["routed"] is False, 10,
                           "example.com no longer routed")
        self.assert_accepted(self.eh.post_event({"domain": "new.example"}))
        self.assert_accepted(self.eh.post_event({"domain": "example.com"}))
        self.wait_metric("eventhub_events_delivered_total", 1, domain="new.example")
        self.wait_metric("eventhub_events_dead_lettered_total", 2, domain="_other",
                         reason="no_route")
        m = self.scrape()
        self.check_format(m)
        # The removed route's series stay (counters never go back), its traffic folds.
        self.assertEqual(m.get("eventhub_events_received_total", domain="example.com",
                               source="http"), 0)
        self.assertEqual(m.get("eventhub_events_received_total", domain="_other", source="http"),
                         2)
        self.assertEqual(m.get("eventhub_deliveries_total", domain="new.example", endpoint=b,
                               outcome="ok"), 1)
        self.assertEqual(m.get("eventhub_deliveries_total", domain="example.com", endpoint=a,
                               outcome="ok"), 0)

    def test_nats_down(self):
        self.start([{"domain": "example.com", "endpoints": [self.good.url("/a")]}])
        self.ns.kill()
        harness.wait_until(lambda: self.scrape().get("eventhub_nats_ready") == 0, 15,
                           "eventhub_nats_ready 0")
        m = self.scrape()
        self.check_format(m)
        self.assertIsNone(m.get("eventhub_consumer_pending"))
        s = self.stats()
        self.assertIsNone(s["consumer"])
        self.assertIs(s["nats"]["ready"], False)
        self.assertEqual(s["nats"]["server"], "")

    def test_protected_read_apis(self):
        self.start([{"domain": "example.com", "endpoints": [self.good.url("/a")]}],
                   server={"admin_token": "s3cret-token", "protect_read_apis": True})
        for path in ("/metrics", "/api/stats"):
            self.assert_error_body(self.eh.request("GET", path), 401)
            r = self.eh.request("GET", path, headers={"Authorization": "Bearer s3cret-token"})
            self.assertEqual(r.status, 200, r)

    def test_wrong_method(self):
        self.start([{"domain": "example.com", "endpoints": [self.good.url("/a")]}])
        for path in ("/metrics", "/api/stats"):
            r = self.eh.request("POST", path, b"{}", {"Content-Type": "application/json"})
            self.assert_error_body(r, 405)


class EslMetrics(EslTestCase):
    def test_esl_node_and_call_signal(self):
        ns = self.nats()
        rcv = self.receiver(name="rcv")
        fs = self.fake_fs(script=[ff.Replay(PLAIN)])
        fix = Fixture(PLAIN)
        eh = self.eventhub(esl_config(ns, [esl_node(fs)],
                                      [{"domain": "example.com", "endpoints": [rcv.url()]}]))
        self.wait_signal(rcv, fix.signal_id)
        harness.wait_until(fs.wait_subscribed(1).script_done.is_set, 10, "the replay to end")
        e = self.wait_esl(eh, lambda e: e.get("buffered") == 0 and e.get("signals_published") == 1)

        def scrape():
            r = eh.request("GET", "/metrics")
            self.assertEqual(r.status, 200, r)
            return Scrape(r.raw.decode("utf-8"))

        def delivered():
            m = scrape()
            return m if m.get("eventhub_events_delivered_total", domain="example.com") == 1 else None
        m = harness.wait_until(delivered, 15, "the call signal counted as delivered")
        self.assertEqual(m.get("eventhub_esl_connected", node="fs1"), 1)
        self.assertEqual(m.get("eventhub_esl_reconnects_total", node="fs1"), 0)
        self.assertEqual(m.get("eventhub_esl_events_received_total", node="fs1"),
                         e["events_received"])
        self.assertEqual(m.get("eventhub_esl_dropped_total", node="fs1"), 0)
        self.assertEqual(m.get("eventhub_esl_buffered", node="fs1"), 0)
        self.assertEqual(m.get("eventhub_events_received_total", domain="example.com",
                               source="esl"), 1)
        self.assertEqual(m.get("eventhub_events_received_total", domain="example.com",
                               source="http"), 0)
        s = eh.request("GET", "/api/stats").json
        self.assertEqual(len(s["esl"]), 1, s)
        node = s["esl"][0]
        self.assertEqual((node["name"], node["state"], node["connected"], node["reconnects"]),
                         ("fs1", "connected", True, 0))
        self.assertEqual(s["domains"]["example.com"]["received_esl"], 1)
        fs.close()
        harness.wait_until(lambda: scrape().get("eventhub_esl_connected", node="fs1") == 0, 10,
                           "eventhub_esl_connected 0 once FreeSWITCH is gone")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    harness.main()
