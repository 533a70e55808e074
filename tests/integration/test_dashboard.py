#!/usr/bin/env python3
"""
The dashboard (web/), driven in headless Chromium by tests/browser/dashboard.test.mjs and
dashboard_auth.test.mjs against a real eventhub, nats-server, webhook receivers and a fake
FreeSWITCH:

- overview: NATS, consumer and FreeSWITCH node health, totals that move as events are
  POSTed, charts fed by /api/stats and /metrics, no page reload;
- events: new events appear live, grouped by domain; domain / outcome filters; search by
  call_id and event_id; a row expands to payload, attempts, each endpoint's status and
  error, and whether it will be retried; the log-file view with its date picker;
- dead letters: reasons, replay one after the route was fixed (config rewrite + Reload),
  replay the rest of the domain, then both show as delivered;
- config: Reload with a broken file lists the file:line errors and keeps the routes;
- calls: a live and a finished call from the fake FreeSWITCH;
- keyboard use, a phone-sized screen, and (second test) the admin-token form;
- endpoint health: a route with an endpoint that always answers 500 (served by the browser
  test itself) and a working one; the Endpoints panel and the banner say which one fails.

Every case fails on any console error; screenshots go to $SCREENSHOT_DIR (default
<build>/screenshots). DASH_README_SHOT=docs/dashboard.png also saves the README picture.
Skipped (exit 77) without Chromium, node or tests/browser/node_modules (browser.py).
"""

import os

import browser
import harness
from esl_harness import BUSY, PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff
from harness import base_config

FAILING_PLACEHOLDER = "http://failing-endpoint.invalid/"  # dashboard.test.mjs replaces it


class Dashboard(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")
        self.shop = self.receiver(status=503, name="shop")
        # one finished (busy) call, then a call that stays up (paused after the answer)
        self.fs = self.fake_fs(script=[
            ff.Replay(Fixture(BUSY)),
            ff.Replay(Fixture(PLAIN).distinct(1), pause_after="CHANNEL_ANSWER", gate="hangup"),
        ])

        def config(shop_endpoint, more_routes=()):
            cfg = esl_config(
                self.ns, [esl_node(self.fs)],
                [{"domain": "example.com", "endpoints": [self.crm.url("/crm")]},
                 {"domain": "shop.example", "endpoints": [shop_endpoint]},
                 {"domain": "acme.example", "endpoints": [self.crm.url("/acme")]}] + list(more_routes),
                nats={"max_deliveries": 2},
                delivery={"backoff": ["200ms"]},
                # reloads happen when the dashboard's Reload button says so
                server={"watch_config": False})
            return cfg

        self.eh = self.eventhub(config(self.shop.url("/shop")))
        d = self.eh.dir
        self.fixed = os.path.join(d, "fixed.yaml")
        self.broken = os.path.join(d, "broken.yaml")
        with open(self.fixed, "w") as f:
            f.write(harness.to_yaml(config(self.crm.url("/shop-fixed"))))
        with open(self.broken, "w") as f:
            f.write(harness.to_yaml(config("not-a-url")))
        # the fixed file plus health.example; the browser test puts its failing server's
        # URL in place of the placeholder
        self.health = os.path.join(d, "health.yaml")
        self.health_ok = self.crm.url("/health-ok")
        with open(self.health, "w") as f:
            f.write(harness.to_yaml(config(self.crm.url("/shop-fixed"), [
                {"domain": "health.example", "endpoints": [FAILING_PLACEHOLDER, self.health_ok]}])))
        self.base = "http://127.0.0.1:%d" % self.eh.port

    def test_dashboard(self):
        env = {
            "DASH_CONFIG": self.eh.config_path,
            "DASH_CONFIG_FIXED": self.fixed,
            "DASH_CONFIG_BROKEN": self.broken,
            "DASH_SHOP_URL": self.shop.url("/shop"),
            "DASH_CONFIG_HEALTH": self.health,
            "DASH_HEALTHY_URL": self.health_ok,
        }
        shot = os.environ.get("DASH_README_SHOT")
        if shot:
            env["DASH_README_SHOT"] = os.path.abspath(shot)
        browser.run(self, ["dashboard.test.mjs"], self.base, env=env, timeout=420)
        # what the browser saw is what happened: the replayed events reached the fixed route
        got = {r.json().get("event_id") for r in self.crm.requests if r.path == "/shop-fixed"}
        self.assertTrue({e for e in got if e and e.startswith("evt-fail-")}, got)
        self.assertTrue({e for e in got if e and e.startswith("evt-fail2-")}, got)


class DashboardToken(harness.TestCase):
    TOKEN = "dashboard-test-token-0123456789"

    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": [self.crm.url()]}],
            server={"admin_token": self.TOKEN, "protect_read_apis": True}))
        self.base = "http://127.0.0.1:%d" % self.eh.port

    def test_token_form(self):
        browser.run(self, ["dashboard_auth.test.mjs"], self.base,
                    env={"DASH_TOKEN": self.TOKEN})


if __name__ == "__main__":
    browser.skip_unless_available()
    harness.main()
