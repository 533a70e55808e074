#!/usr/bin/env python3
"""
Ingress API keys (ingress.api_keys): who may post events, and for which domains.

- With keys configured, POST /events without "Authorization: Bearer <key>", with an
  unknown key or another scheme is 401 (JSON body, WWW-Authenticate), before the body
  is read; nothing is stored or delivered.
- A key limited to `domains` posts for its exact names and "*.suffix" patterns (any
  depth, case-insensitive), and gets 403 for anything else (the bare suffix, a name
  that only ends like it); a key without domains posts for every domain.
- The key's name is on the stored message (Eventhub-Api-Key), in GET /api/events, in
  the domain's event log, and counted per key and result in /metrics.
- Keys reload with the routes: a rotated key is refused and its successor accepted
  without a restart; a reload with a broken key changes nothing.
- The keys never appear in /api/config, in /metrics or in eventhub's log.
- An event_id is one tenant's: the same id posted for two domains is two events
  (the Nats-Msg-Id is "<event_id> <domain>"), a retry for the same domain is one.
"""

import json
import os
import re
import socket
import time
import urllib.parse

import harness
from harness import base_config, wait_until

CRM_KEY = "crm-key-5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"
CRM_NEXT = "crm-key-next-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PBX_KEY = "pbx-key-00112233445566778899aabbccddeeff"


def keys_section(crm_key=None, pbx=True):
    """crm's key from ${CRM_KEY} (eventhub's environment, read at each load), or as
    written in the file (a rotation: the running process keeps its environment)."""
    os.environ["CRM_KEY"] = CRM_KEY  # the child inherits it
    keys = [{"name": "crm", "key": crm_key or "${CRM_KEY}",
             "domains": ["acme.example", "*.tenants.example"]}]
    if pbx:
        keys.append({"name": "pbx-1", "key": PBX_KEY})
    return {"api_keys": keys}


def metric(text, name, **labels):
    """The value of one sample of the Prometheus text, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name):line.rindex("}") + 1]))
        if got == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


class IngressKeys(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.rcv = self.receiver()
        self.routes = [{"domain": "*", "endpoints": [self.rcv.url()]}]
        self.eh = self.eventhub(base_config(self.ns.url, self.routes, ingress=keys_section()))

    def post(self, domain, key=None, event_id=None, auth=None):
        headers = {}
        if auth is not None:
            headers["Authorization"] = auth
        elif key is not None:
            headers["Authorization"] = "Bearer " + key
        ev = {"domain": domain}
        if event_id:
            ev["event_id"] = event_id
        return self.eh.post_event(ev, headers=headers)

    def metrics(self):
        r = self.eh.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        return r.raw.decode()

    def reload(self):
        r = self.eh.request("POST", "/api/v1/config/reload", body=b"{}",
                            headers={"Content-Type": "application/json"})
        return r

    def stream_messages(self, domain):
        q = urllib.parse.urlencode({"domain": domain, "limit": 10})
        r = self.eh.request("GET", "/api/v1/stream/messages?" + q)
        self.assertEqual(r.status, 200, r)
        return r.json["messages"]

    def test_missing_and_unknown_keys_are_401(self):
        cases = [None, "Bearer wrong-key-0123456789abcdef", "Basic Y3JtOnNlY3JldA==",
                 "Bearer " + CRM_KEY[:-1], "Bearer " + CRM_KEY + "x", "Bearer", "bearer  "]
        for auth in cases:
            r = self.post("acme.example", auth=auth)
            self.assert_error_body(r, 401)
            self.assertEqual(r.json["error"], "unauthorized", r)
            self.assertIn("Bearer", r.headers.get("www-authenticate", ""), r)
        # The scheme is case-insensitive, as RFC 7235 says.
        self.assert_accepted(self.post("acme.example", auth="bearer " + CRM_KEY))
        self.rcv.wait_for(1)
        self.assertEqual(self.rcv.count(), 1)
        self.assertEqual(len(self.stream_messages("acme.example")), 1)
        m = self.metrics()
        self.assertEqual(metric(m, "eventhub_ingress_rejected_total", status="401"), len(cases))

    def test_refused_before_the_body_is_read(self):
        # A head announcing a 900 KB body, and no body at all: the 401 comes back at
        # once instead of the server waiting for the bytes.
        s = socket.create_connection((self.eh.host, self.eh.port), timeout=5)
        s.sendall(b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 401"), data[:200])

    def test_scopes(self):
        allowed = ["acme.example", "ACME.Example", "eu.tenants.example", "a.b.tenants.example"]
        refused = ["tenants.example", "evil-tenants.example", "acme.example.evil", "other.example",
                   "xtenants.example"]
        for i, d in enumerate(allowed):
            self.assert_accepted(self.post(d, CRM_KEY, event_id="ok-%d" % i))
        for i, d in enumerate(refused):
            r = self.post(d, CRM_KEY, event_id="no-%d" % i)
            self.assert_error_body(r, 403)
            self.assertEqual(r.json["error"], "forbidden_domain", r)
            self.assertIn('"crm"', r.json["detail"])
        # A key without domains posts for any domain.
        for i, d in enumerate(refused):
            self.assert_accepted(self.post(d, PBX_KEY, event_id="pbx-%d" % i))
        want = {"ok-%d" % i for i in range(len(allowed))} | {"pbx-%d" % i for i in range(len(refused))}
        wait_until(lambda: set(self.rcv.event_ids()) >= want, timeout=15, what="deliveries")
        self.assertEqual(set(self.rcv.event_ids()), want)  # nothing refused got through
        m = self.metrics()
        self.assertEqual(metric(m, "eventhub_ingress_api_key_requests_total",
                                key="crm", result="accepted"), len(allowed))
        self.assertEqual(metric(m, "eventhub_ingress_api_key_requests_total",
                                key="crm", result="forbidden"), len(refused))
        self.assertEqual(metric(m, "eventhub_ingress_api_key_requests_total",
                                key="pbx-1", result="accepted"), len(refused))
        self.assertEqual(metric(m, "eventhub_ingress_rejected_total", status="403"), len(refused))
        # An invalid event with a known key counts as refused for that key.
        r = self.eh.post_event(b'{"domain":', headers={"Authorization": "Bearer " + PBX_KEY})
        self.assert_error_body(r, 400)
        self.assertEqual(metric(self.metrics(), "eventhub_ingress_api_key_requests_total",
                                key="pbx-1", result="refused"), 1)

    def test_name_recorded_with_the_event(self):
        self.assert_accepted(self.post("acme.example", CRM_KEY, event_id="rec-1"))
        self.assert_accepted(self.post("acme.example", PBX_KEY, event_id="rec-2"))
        self.rcv.wait_for(2)
        by_id = {m["data"]["event_id"]: m for m in self.stream_messages("acme.example")}
        self.assertEqual(by_id["rec-1"]["headers"].get("Eventhub-Api-Key"), "crm", by_id)
        self.assertEqual(by_id["rec-2"]["headers"].get("Eventhub-Api-Key"), "pbx-1", by_id)

        def history():
            j = self.eh.request("GET", "/api/v1/events?domain=acme.example").json
            return {e["event_id"]: e for e in j["events_by_domain"].get("acme.example", [])}
        h = wait_until(lambda: len(history()) == 2 and history(), timeout=10, what="history")
        self.assertEqual((h["rec-1"]["api_key"], h["rec-2"]["api_key"]), ("crm", "pbx-1"), h)

        def logged():
            r = self.eh.request("GET", "/api/v1/logs?" + urllib.parse.urlencode(
                {"domain": "acme.example", "date": time.strftime("%Y-%m-%d", time.gmtime())}))
            return r.status == 200 and '"api_key":"crm"' in r.raw.decode().replace(" ", "") and r
        wait_until(logged, timeout=10, what="the key's name in the domain log")

    def test_hot_rotation(self):
        self.assert_accepted(self.post("acme.example", CRM_KEY, event_id="before"))
        self.assert_accepted(self.post("acme.example", PBX_KEY, event_id="pbx-before"))
        # Rotate crm, drop pbx-1; the file watcher or the API reload picks it up.
        self.eh.write_config(base_config(self.ns.url, self.routes,
                                         ingress=keys_section(CRM_NEXT, pbx=False)))
        r = self.reload()
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("ingress", json.dumps(r.json.get("restart_required", [])), r.json)
        self.assert_error_body(self.post("acme.example", CRM_KEY), 401)
        self.assert_error_body(self.post("acme.example", PBX_KEY), 401)
        self.assert_accepted(self.post("acme.example", CRM_NEXT, event_id="after"))
        self.assert_error_body(self.post("other.example", CRM_NEXT), 403)
        wait_until(lambda: {"before", "pbx-before", "after"} <= set(self.rcv.event_ids()),
                   timeout=10, what="deliveries")
        m = self.metrics()  # the counters go on across the reload; pbx-1 keeps its series
        self.assertEqual(metric(m, "eventhub_ingress_api_key_requests_total",
                                key="crm", result="accepted"), 2)
        self.assertEqual(metric(m, "eventhub_ingress_api_key_requests_total",
                                key="pbx-1", result="accepted"), 1)

        # A reload with a broken key changes nothing: CRM_NEXT still works.
        broken = keys_section(CRM_NEXT, pbx=False)
        broken["api_keys"].append({"name": "short", "key": "too-short"})
        self.eh.write_config(base_config(self.ns.url, self.routes, ingress=broken))
        r = self.reload()
        self.assert_error_body(r, 400)
        self.assertIn("ingress.api_keys[1].key", json.dumps(r.json), r.json)
        self.assert_accepted(self.post("acme.example", CRM_NEXT, event_id="still"))

        # Keys off again: anyone may post.
        self.eh.write_config(base_config(self.ns.url, self.routes))
        self.assertEqual(self.reload().status, 200)
        self.assert_accepted(self.post("acme.example", event_id="open"))

    def test_event_ids_are_per_domain(self):
        # JetStream's duplicate window is stream-wide: a key scoped to one tenant must
        # not be able to pre-empt (and so drop, or detect) another tenant's event_id.
        a = self.assert_accepted(self.post("acme.example", CRM_KEY, event_id="call-77"))
        b = self.assert_accepted(self.post("other.example", PBX_KEY, event_id="call-77"))
        self.assertFalse(a["duplicate"] or b["duplicate"], (a, b))
        self.assertNotEqual(a["stream_seq"], b["stream_seq"])
        # The same tenant retrying (any case of its domain) is still stored once.
        again = self.assert_accepted(self.post("ACME.example", CRM_KEY, event_id="call-77"))
        self.assertEqual((again["duplicate"], again["stream_seq"]), (True, a["stream_seq"]))
        wait_until(lambda: len(self.rcv.requests_for("call-77")) == 2, timeout=10,
                   what="both tenants' call-77")
        domains = sorted(r.json()["domain"] for r in self.rcv.requests_for("call-77"))
        self.assertEqual(domains, ["acme.example", "other.example"])
        (m,) = [m for m in self.stream_messages("acme.example") if m["data"]["event_id"] == "call-77"]
        self.assertEqual(m["headers"].get("Nats-Msg-Id"), "call-77 acme.example", m)

    def test_keys_never_shown(self):
        self.assert_accepted(self.post("acme.example", CRM_KEY))
        self.assert_error_body(self.post("acme.example", "Bearer-less-" + PBX_KEY[::-1]), 401)
        cfg = self.eh.request("GET", "/api/v1/config")
        self.assertEqual(cfg.status, 200, cfg)
        keys = cfg.json["ingress"]["api_keys"]
        self.assertEqual([(k["name"], k["key"], k["domains"]) for k in keys],
                         [("crm", "***", ["acme.example", "*.tenants.example"]),
                          ("pbx-1", "***", None)])
        log = "\n".join(l if isinstance(l, str) else json.dumps(l) for l in self.eh.log_lines())
        texts = [cfg.raw.decode(), self.metrics(), log]
        for t in texts:
            for k in (CRM_KEY, PBX_KEY, PBX_KEY[::-1]):
                self.assertNotIn(k, t)


if __name__ == "__main__":
    harness.main()
