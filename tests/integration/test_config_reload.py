#!/usr/bin/env python3
"""
Hot reload of the route table and the config APIs.

- The config file changing on disk is picked up within 2 s: written in place, renamed
  over (write a temporary file, rename it), and a Kubernetes ConfigMap-style symlink
  swap (config.yaml -> ..data/config.yaml, ..data swapped to a new directory). The
  detection times are measured and printed.
- No event is lost while the table changes under load (file edits, API, SIGHUP): every
  event that got a 202 is delivered to an endpoint it was routed to, none is
  dead-lettered; an event being delivered during a swap finishes with its old table.
- An invalid edit keeps the running routes; the log, GET /api/config and
  POST /api/config/reload report the errors as file:line.
- POST /api/config/reload: the 200 and 400 shapes, the admin-token check, 405.
- SIGHUP goes through the same reloader; GET /api/config: shape, redaction.
- A changed setting (nats.stream_name) is reported as restart_required, in the reply
  and in the log, and not applied.
"""

import datetime
import json
import os
import shutil
import signal
import sys
import threading
import time

import harness
from harness import base_config

RELOADED = "routes reloaded from"
DETECT_LIMIT = 2.0  # seconds: the promise for file changes
DLQ = "EVENTS_DLQ"


def msg_of(line):
    m = line.get("msg")
    return m if isinstance(m, str) else ""


class ConfigReload(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.ra = self.receiver(name="ra")
        self.rb = self.receiver(name="rb")
        self.routes_a = [{"domain": "a.example.com", "endpoints": [self.ra.url("/a")]}]

    # -- helpers --

    def start(self, routes=None, **sections):
        self.eh = self.eventhub(base_config(self.ns.url, routes or self.routes_a, **sections))
        return self.eh

    def reload_lines(self, phrase=None):
        return [l for l in self.eh.run_logs()
                if l.get("subsystem") == "config" and msg_of(l).startswith(RELOADED)
                and (phrase is None or ("after " + phrase) in msg_of(l))]

    def wait_reloaded(self, before, phrase, timeout=10.0):
        """Waits for reload number `before + 1` logged with `phrase`; returns the line."""
        lines = harness.wait_until(lambda: (lambda ls: ls if len(ls) > before else None)(
            self.reload_lines(phrase)), timeout, "a reload after %s" % phrase)
        return lines[before]

    def timed_file_reload(self, change, what):
        """Runs change() and measures how long until the reload is logged."""
        before = len(self.reload_lines("a file change"))
        t0 = time.monotonic()
        change()
        line = self.wait_reloaded(before, "a file change", timeout=10)
        dt = time.monotonic() - t0
        sys.stderr.write("config reload: %s detected in %.3f s\n" % (what, dt))
        self.assertLess(dt, DETECT_LIMIT, "%s took %.2f s to be reloaded" % (what, dt))
        return line

    def rename_over(self, path, config):
        text = config if isinstance(config, str) else harness.to_yaml(config)
        tmp = path + ".tmp~"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def post(self, domain, event_id):
        return self.assert_accepted(self.eh.post_event({"domain": domain, "event_id": event_id}))

    def api(self, method, path, token=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        if method not in ("GET", "HEAD"):  # the control plane wants JSON for mutations
            headers["Content-Type"] = "application/json"
        return self.eh.request(method, path, headers=headers)

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def assert_clean_stop(self):
        """SIGTERM: exit 0 (under ASan, a leak or an error would change it) and no
        sanitizer report in the output."""
        self.assertEqual(self.eh.stop(), 0)
        bad = [l for l in self.eh.log_lines() if "Sanitizer" in l or "runtime error" in l]
        self.assertEqual(bad, [])

    def assert_routed(self, receiver, event_id):
        got = receiver.wait_for(1, timeout=10, pred=lambda r: r.event_id == event_id)
        self.assertEqual(got[0].event_id, event_id)

    # -- file changes --

    def test_edit_in_place_and_rename_over(self):
        eh = self.start()
        self.assertTrue(eh.find_log(lambda l: msg_of(l).startswith("watching ")),
                        "no 'watching ... for changes' line at startup")
        rc = self.receiver(name="rc")

        # 1. In place (open, truncate, write, close).
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
        line = self.timed_file_reload(lambda: eh.write_config(base_config(self.ns.url, routes)),
                                      "an in-place edit")
        self.assertIn("(2 routes)", msg_of(line))
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")

        # 2. Renamed over (the editor / tool way).
        routes = routes + [{"domain": "c.example.com", "endpoints": [rc.url("/c")]}]
        line = self.timed_file_reload(
            lambda: self.rename_over(eh.config_path, base_config(self.ns.url, routes)),
            "a rename over the file")
        self.assertIn("(3 routes)", msg_of(line))
        self.post("c.example.com", "c-1")
        self.post("a.example.com", "a-1")
        self.assert_routed(rc, "c-1")
        self.assert_routed(self.ra, "a-1")

        # 3. The same bytes again (a touch, a save without changes): nothing reloads.
        before = len(self.reload_lines())
        os.utime(eh.config_path)
        self.rename_over(eh.config_path, base_config(self.ns.url, routes))
        eh.wait_log(lambda l: "content did not" in msg_of(l), timeout=5,
                    what="the unchanged content noticed")
        self.assertEqual(len(self.reload_lines()), before)

        j = self.api("GET", "/api/config").json
        self.assertEqual(j["source"], "file_change")
        self.assertEqual(j["reloads"], 2)
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.dlq_count(), 0)
        self.assert_clean_stop()

    def test_configmap_symlink_swap(self):
        # The layout the kubelet makes for a ConfigMap volume.
        cm = os.path.join(self.tmp, "configmap")
        os.makedirs(os.path.join(cm, "..2024_01_01_00_00_00.000000001"))
        with open(os.path.join(cm, "..2024_01_01_00_00_00.000000001", "config.yaml"), "w") as f:
            f.write(harness.to_yaml(base_config(self.ns.url, self.routes_a)))
        os.symlink("..2024_01_01_00_00_00.000000001", os.path.join(cm, "..data"))
        os.symlink("..data/config.yaml", os.path.join(cm, "config.yaml"))

        eh = self.eventhub(base_config(self.ns.url, self.routes_a), start=False)
        eh.config_path = os.path.join(cm, "config.yaml")
        eh.start()
        self.eh = eh

        def swap():
            new_dir = "..2024_01_01_00_01_00.000000002"
            os.makedirs(os.path.join(cm, new_dir))
            routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
            with open(os.path.join(cm, new_dir, "config.yaml"), "w") as f:
                f.write(harness.to_yaml(base_config(self.ns.url, routes)))
            os.symlink(new_dir, os.path.join(cm, "..data_tmp"))
            os.rename(os.path.join(cm, "..data_tmp"), os.path.join(cm, "..data"))
            shutil.rmtree(os.path.join(cm, "..2024_01_01_00_00_00.000000001"))

        line = self.timed_file_reload(swap, "a ConfigMap symlink swap")
        self.assertIn("(2 routes)", msg_of(line))
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")
        self.assertEqual(self.api("GET", "/api/config").json["path"], eh.config_path)

    def test_symlink_to_another_directory(self):
        # inotify watches the link's directory; the target's lives elsewhere, so this
        # change is seen by the periodic stat of the resolved path (the fallback).
        real_dir = os.path.join(self.tmp, "elsewhere")
        os.makedirs(real_dir)
        real = os.path.join(real_dir, "real.yaml")
        with open(real, "w") as f:
            f.write(harness.to_yaml(base_config(self.ns.url, self.routes_a)))
        eh = self.eventhub(base_config(self.ns.url, self.routes_a), start=False)
        eh.config_path = os.path.join(eh.dir, "linked.yaml")
        os.symlink(real, eh.config_path)
        eh.start()
        self.eh = eh
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]

        def edit_target():
            with open(real, "w") as f:
                f.write(harness.to_yaml(base_config(self.ns.url, routes)))

        self.timed_file_reload(edit_target, "an edit of a symlink's target elsewhere")
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")

    def test_watch_config_false(self):
        eh = self.start(server={"watch_config": False})
        self.assertFalse(eh.find_log(lambda l: msg_of(l).startswith("watching ")))
        self.assertIs(self.api("GET", "/api/config").json["watch_config"], False)

    # -- nothing lost --

    def test_no_event_lost_during_reloads(self):
        rs = self.receiver(name="stable")
        table_a = [{"domain": "flip.example.com", "endpoints": [self.ra.url("/flip-a")]},
                   {"domain": "stable.example.com", "endpoints": [rs.url("/s")]}]
        table_b = [{"domain": "flip.example.com", "endpoints": [self.rb.url("/flip-b")]},
                   {"domain": "stable.example.com", "endpoints": [rs.url("/s")]}]
        eh = self.start(table_a)

        accepted = []
        problems = []
        stop = threading.Event()

        def sender():
            i = 0
            while not stop.is_set():
                i += 1
                for domain in ("flip.example.com", "stable.example.com"):
                    eid = "%s-%d" % (domain.split(".")[0], i)
                    try:
                        r = eh.post_event({"domain": domain, "event_id": eid})
                    except OSError as e:
                        problems.append((eid, repr(e)))
                        continue
                    if r.status == 202:
                        accepted.append((domain, eid))
                    else:
                        problems.append((eid, r.status, r.raw[:200]))
                time.sleep(0.002)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        try:
            tables = [table_b, table_a, table_b, table_a, table_b]
            ways = ["in place", "rename", "api", "sighup", "in place"]
            for n, (table, way) in enumerate(zip(tables, ways)):
                target = self.rb if table is table_b else self.ra
                cfg = base_config(self.ns.url, table)
                if way == "in place":
                    self.timed_file_reload(lambda: eh.write_config(cfg), "an edit under load")
                elif way == "rename":
                    self.timed_file_reload(lambda: self.rename_over(eh.config_path, cfg),
                                           "a rename under load")
                elif way == "api":
                    eh.config = cfg
                    with open(eh.config_path + ".tmp~", "w") as f:
                        f.write(harness.to_yaml(cfg))
                    # Let the watcher see it too: both reloads must be harmless.
                    os.replace(eh.config_path + ".tmp~", eh.config_path)
                    r = self.api("POST", "/api/config/reload")
                    self.assertEqual(r.status, 200, r)
                else:
                    before = len(self.reload_lines("SIGHUP"))
                    eh.write_config(cfg)
                    eh.proc.send_signal(signal.SIGHUP)
                    self.wait_reloaded(before, "SIGHUP")
                # Keep the load going across the swap before the next one.
                n_before = len(accepted)
                harness.wait_until(lambda: len(accepted) >= n_before + 40, 20,
                                   "40 more events accepted")
                # The new table is the one used now.
                mark = "probe-%d" % n
                self.post("flip.example.com", mark)
                self.assert_routed(target, mark)
        finally:
            stop.set()
            t.join(timeout=10)

        self.assertEqual(problems, [], "events not accepted during the reloads")
        self.assertGreater(len(accepted), 50, "the sender barely ran")
        self.wait_consumer_idle(self.ns, timeout=30)
        flip_got = set(self.ra.event_ids()) | set(self.rb.event_ids())
        stable_got = set(rs.event_ids())
        lost = [(d, e) for d, e in accepted
                if e not in (flip_got if d == "flip.example.com" else stable_got)]
        self.assertEqual(lost, [], "accepted events not delivered where their table routed them")
        self.assertEqual(self.dlq_count(), 0, "events were dead-lettered during the reloads")
        self.assertFalse(set(rs.event_ids()) & flip_got, "events reached another domain's endpoint")
        sys.stderr.write("config reload under load: %d events accepted, all delivered "
                         "(flip: %d at A, %d at B)\n" % (len(accepted), len(self.ra.event_ids()),
                                                         len(self.rb.event_ids())))
        self.assert_clean_stop()

    def test_event_in_flight_keeps_its_table(self):
        eh = self.start()
        self.ra.hang()
        self.post("a.example.com", "slow-1")
        harness.wait_until(lambda: self.ra.in_progress(), 10, "the call to A in progress")
        # A reload moves the domain to B while the call to A is still running.
        eh.write_config(base_config(self.ns.url, [
            {"domain": "a.example.com", "endpoints": [self.rb.url("/b")]}]))
        r = self.api("POST", "/api/config/reload")
        self.assertEqual(r.status, 200, r)
        self.ra.release()
        harness.wait_until(lambda: self.ra.answered_2xx("slow-1"), 10, "A answers slow-1")
        self.wait_consumer_idle(self.ns)
        self.assertEqual(self.rb.requests_for("slow-1"), [],
                         "the event in flight was delivered again with the new table")
        self.post("a.example.com", "fast-1")
        self.assert_routed(self.rb, "fast-1")

    # -- invalid edits --

    def test_invalid_edit_keeps_the_running_routes(self):
        eh = self.start()
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
        text = harness.to_yaml(base_config(self.ns.url, routes, nats={"max_deliveries": 0}))
        line_no = text.splitlines().index("  max_deliveries: 0") + 1
        where = "%s:%d:" % (eh.config_path, line_no)

        eh.write_config(text)
        err = eh.wait_log(lambda l: l.get("subsystem") == "config" and l.get("level") == "error"
                          and where in msg_of(l), timeout=DETECT_LIMIT + 1,
                          what="the refused reload logged with %s" % where)
        self.assertIn("max_deliveries", msg_of(err[0]))

        j = self.api("GET", "/api/config").json
        self.assertEqual(j["reload_failures"], 1, j)
        self.assertEqual(j["reloads"], 0, j)
        self.assertEqual(j["source"], "startup", j)
        self.assertEqual(j["last_error"]["trigger"], "file_change", j)
        self.assertTrue(any(e.startswith(where) for e in j["last_error"]["errors"]), j)
        self.assertEqual([r["domain"] for r in j["routes"]], ["a.example.com"])

        r = self.api("POST", "/api/config/reload")
        self.assert_error_body(r, 400)
        self.assertEqual(r.json["status"], "error")
        self.assertEqual(r.json["error"], "invalid_config")
        self.assertTrue(any(e.startswith(where + " nats.max_deliveries") for e in r.json["errors"]),
                        r.json)

        # The old table still serves.
        self.post("a.example.com", "a-1")
        self.post("b.example.com", "b-1")
        self.assert_routed(self.ra, "a-1")
        harness.wait_until(lambda: self.dlq_count() == 1, 10, "b-1 dead-lettered (no route)")
        self.assertEqual(self.rb.count(), 0)

        # A YAML syntax error is reported with its line too.
        lines = harness.to_yaml(base_config(self.ns.url, routes)).splitlines()
        i = next(k for k, l in enumerate(lines) if "b.example.com" in l)
        lines[i] += ": oops"
        eh.write_config("\n".join(lines) + "\n")
        where = "%s:%d:" % (eh.config_path, i + 1)
        eh.wait_log(lambda l: l.get("level") == "error" and where in msg_of(l),
                    timeout=DETECT_LIMIT + 1, what="the YAML error logged with %s" % where)

        # Fixed: taken, and the error is gone from the API.
        self.timed_file_reload(lambda: eh.write_config(base_config(self.ns.url, routes)),
                               "a fixed file")
        j = self.api("GET", "/api/config").json
        self.assertIsNone(j["last_error"], j)
        self.assertEqual(j["reload_failures"], 3, j)
        self.post("b.example.com", "b-2")
        self.assert_routed(self.rb, "b-2")

    def test_route_timeout_must_fit_the_running_ack_wait(self):
        eh = self.start(server={"watch_config": False})  # ack wait 10 s
        text = harness.to_yaml(base_config(
            self.ns.url, [{"domain": "a.example.com",
                           "endpoints": [{"url": self.rb.url("/b"), "timeout": "20s"}]}],
            nats={"ack_wait_seconds": 60}))
        eh.write_config(text)
        line_no = next(k for k, l in enumerate(text.splitlines()) if "/b\"" in l) + 1
        r = self.api("POST", "/api/config/reload")
        self.assert_error_body(r, 400)
        want = "%s:%d: routes[0].endpoints[0].timeout" % (eh.config_path, line_no)
        self.assertTrue(any(e.startswith(want) for e in r.json["errors"]), r.json)
        self.post("a.example.com", "a-1")
        self.assert_routed(self.ra, "a-1")

    # -- the API --

    def test_command_line_override_is_not_a_change(self):
        # -domain-logging=false beats the file at the start and at every reload: a reload
        # of an unchanged file has nothing that needs a restart, and warns about nothing.
        cfg = base_config(self.ns.url, self.routes_a, server={"watch_config": False})
        self.eh = self.eventhub(cfg, extra_args=["-domain-logging=false"])
        r = self.api("POST", "/api/config/reload")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["restart_required"], [], r.json)
        warns = [l for l in self.eh.run_logs() if l.get("level") == "warn"
                 and "domain_logging" in msg_of(l)]
        self.assertEqual(warns, [])
        # The override still holds: no domain log is written.
        self.post("a.example.com", "a-1")
        self.assert_routed(self.ra, "a-1")
        self.assertFalse(os.path.exists(os.path.join(self.eh.dir, "logs", "a_example_com")),
                         "a domain log was written despite -domain-logging=false")

    def test_api_reload_shapes_and_auth(self):
        eh = self.start(server={"watch_config": False, "admin_token": "s3cret-admin"})
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
        eh.write_config(base_config(self.ns.url, routes, server={"watch_config": False,
                                                                 "admin_token": "s3cret-admin"}))

        # A mutating API: the token is required.
        r = self.api("POST", "/api/config/reload")
        self.assert_error_body(r, 401)
        r = self.api("POST", "/api/config/reload", token="wrong")
        self.assert_error_body(r, 401)
        self.assertEqual(len(self.reload_lines()), 0, "a refused request reloaded")

        r = self.api("POST", "/api/config/reload", token="s3cret-admin")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(set(r.json), {"status", "message", "routes", "restart_required"}, r.json)
        self.assertEqual(r.json["status"], "success")
        self.assertEqual(r.json["routes"], 2)
        self.assertEqual(r.json["restart_required"], [])
        self.assertIn(eh.config_path, r.json["message"])
        self.wait_reloaded(0, "an API request")
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")

        r = self.api("GET", "/api/config/reload", token="s3cret-admin")
        self.assert_error_body(r, 405)

        eh.write_config("routes:\n  - domain: x\n    endpoints: [ftp://nope]\n")
        r = self.api("POST", "/api/config/reload", token="s3cret-admin")
        self.assert_error_body(r, 400)
        self.assertEqual(set(r.json), {"status", "error", "detail", "errors"}, r.json)
        self.assertEqual((r.json["status"], r.json["error"]), ("error", "invalid_config"))
        self.assertTrue(r.json["errors"])
        for e in r.json["errors"]:
            self.assertTrue(e.startswith(eh.config_path + ":"), e)
        self.assertTrue(any(e.startswith("%s:3: routes[0].endpoints[0]" % eh.config_path)
                            for e in r.json["errors"]), r.json)
        # Unreadable file: the same shape.
        os.unlink(eh.config_path)
        r = self.api("POST", "/api/config/reload", token="s3cret-admin")
        self.assert_error_body(r, 400)
        self.assertIn("cannot read", r.json["errors"][0])
        self.post("b.example.com", "b-2")
        self.assert_routed(self.rb, "b-2")
        self.assert_clean_stop()

    def test_sighup_goes_through_the_reloader(self):
        eh = self.start(server={"watch_config": False})
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
        eh.write_config(base_config(self.ns.url, routes, server={"watch_config": False}))
        eh.proc.send_signal(signal.SIGHUP)
        line = self.wait_reloaded(0, "SIGHUP")
        self.assertEqual(line.get("level"), "info")
        self.assertIn("(2 routes)", msg_of(line))
        self.assertTrue(eh.running)
        j = self.api("GET", "/api/config").json
        self.assertEqual((j["source"], j["reloads"]), ("sighup", 1), j)
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")

    def test_get_config_shape_and_redaction(self):
        routes = [
            {"domain": "a.example.com", "events": ["ingress"],
             "endpoints": [{"url": "http://hook:URLPASS@127.0.0.1:%d/a" % self.ra.port,
                            "timeout": "2s", "max_concurrent": 4, "rate_limit": "30/m",
                            "headers": {"Authorization": "Bearer HEADERSECRET"}}]},
            {"domain": "*", "endpoints": [self.rb.url("/any")]},
        ]
        t_start = datetime.datetime.now(datetime.timezone.utc)
        eh = self.start(routes, server={"admin_token": "ADMINSECRET"})
        r = self.api("GET", "/api/config")  # a read API: open without protect_read_apis
        self.assertEqual(r.status, 200, r)
        for secret in (b"hook:", b"URLPASS", b"HEADERSECRET", b"ADMINSECRET", b"Bearer"):
            self.assertNotIn(secret, r.raw)
        j = r.json
        self.assertEqual(j["path"], eh.config_path)
        self.assertEqual(j["source"], "startup")
        self.assertEqual((j["reloads"], j["reload_failures"], j["last_error"]), (0, 0, None))
        loaded = datetime.datetime.fromisoformat(j["loaded_at"].replace("Z", "+00:00"))
        self.assertLess(abs((loaded - t_start).total_seconds()), 30, j["loaded_at"])
        self.assertRegex(j["loaded_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertIs(j["watch_config"], True)
        self.assertEqual(j["route_count"], 2)
        self.assertEqual(j["routes"], [{
            "domain": "a.example.com", "events": ["ingress"],
            "endpoints": [{"url": "http://***@127.0.0.1:%d/a" % self.ra.port,
                           "timeout_ms": 2000, "max_concurrent": 4, "rate_per_s": 0.5,
                           "headers": {"Authorization": "***"}}]}])
        # A plain URL: delivery.endpoint_max_concurrent, no rate limit.
        self.assertEqual(j["default_route"], {
            "domain": "*", "endpoints": [{"url": self.rb.url("/any"), "timeout_ms": 3000,
                                          "max_concurrent": 32, "rate_per_s": None,
                                          "headers": {}}]})
        s = j["settings"]
        self.assertEqual(s["nats"]["stream"]["name"], "EVENTS")
        self.assertEqual(s["nats"]["stream"]["subject_pattern"], "events.*")
        self.assertEqual(s["nats"]["consumer"]["name"], "eventhub")
        self.assertEqual(s["nats"]["consumer"]["ack_wait_ms"], 10000)
        self.assertEqual(s["nats"]["servers"], [self.ns.url])
        self.assertEqual(s["delivery"]["backoff_ms"], [200, 200, 500])
        # base_config turns the breaker off (failures 0); the rest are the defaults.
        self.assertEqual(s["delivery"]["breaker"],
                         {"failures": 0, "cooldown_ms": 5000, "max_cooldown_ms": 300000})
        self.assertEqual(s["nats"]["retry"],
                         {"stream": "EVENTS_RETRY", "subject_prefix": "retry.EVENTS"})
        self.assertIs(s["server"]["admin_token_set"], True)
        self.assertNotIn("admin_token", s["server"])
        self.assertNotIn("token", s["nats"])
        self.assertNotIn("password", s["nats"])

    def test_stream_name_change_needs_a_restart(self):
        eh = self.start()
        routes = self.routes_a + [{"domain": "b.example.com", "endpoints": [self.rb.url("/b")]}]
        cfg = base_config(self.ns.url, routes, nats={"stream_name": "OTHER"})
        self.timed_file_reload(lambda: eh.write_config(cfg), "an edit with a restart-only key")
        key = "nats.stream.name"
        warn = eh.wait_log(lambda l: l.get("level") == "warn" and msg_of(l) ==
                           "key %s changed in %s: takes effect at restart" % (key, eh.config_path),
                           timeout=5, what="the restart warning")
        self.assertEqual(warn[0].get("subsystem"), "config")
        line = self.reload_lines("a file change")[-1]
        self.assertIn("other settings take effect at restart", msg_of(line))
        self.assertIn(key, msg_of(line))

        r = self.api("POST", "/api/config/reload")
        self.assertEqual(r.status, 200, r)
        self.assertIn(key, r.json["restart_required"])
        self.assertNotIn("routes", r.json["restart_required"])
        self.assertIn("restart", r.json["message"])

        # Not applied halfway: the stream is still EVENTS, the new route serves.
        j = self.api("GET", "/api/config").json
        self.assertEqual(j["settings"]["nats"]["stream"]["name"], "EVENTS")
        self.post("b.example.com", "b-1")
        self.assert_routed(self.rb, "b-1")
        self.assertEqual(self.ns.client().stream_info("EVENTS")["state"]["messages"] >= 1, True)


if __name__ == "__main__":
    harness.main()
