#!/usr/bin/env python3
"""
No secret leaves eventhub. Every secret-carrying setting gets a distinct secret: the
NATS URL list's user and password (the nats-server requires them), the userinfo and
query values of endpoint URLs (and a fragment), endpoint header values, the admin
token (protect_read_apis on, so every read API needs it) and the FreeSWITCH passwords
(one node authenticates with the fake FreeSWITCH, one is refused). Events are
delivered, others fail (a receiver answering 500, a port nobody listens on: curl's
error text) and are dead-lettered, one dead
letter is replayed, the config is reloaded; then every API is read with the token, a
wrong token is tried, eventhub is stopped, and its log (stderr, stdout), the domain
log files and the dead-letter stream's records are read. None of it may carry a
secret, while each shows the redacted form ("nats://***@127.0.0.1:<port>",
"http://***@127.0.0.1:<port>/hook?token=***&sig=***#***"), so the check can fail.
"""

import base64
import datetime
import gzip
import json
import os
import urllib.parse

import harness
from esl_harness import PLAIN, EslTestCase, Fixture, esl_config, esl_node, ff

NATS_USER, NATS_PASS = "nuser-Hq83Kd", "npass-Zt71Wx"
NATS_USER2, NATS_PASS2 = "nuser2-Lm40Rb", "npass2-Vc58Jn"
EP_USER, EP_PASS = "epuser-Ra26Ty", "eppass-Pk93Qe"
EP2_USER, EP2_PASS = "ep2user-Ub17Fs", "ep2pass-Xn64Dw"
BAD_USER, BAD_PASS = "baduser-Gj35Mo", "badpass-Ws82Lc"
QUERY_TOKEN, QUERY_SIG, QUERY_TOKEN2, QUERY_SIG2 = ("qtoken-Ne49Ua", "qsig-Fd13Yk",
                                                    "qtoken2-Bh76Iv", "qsig2-Oc28Ep")
BAD_KEY = "badkey-Tm51Hz"
DOWN_USER, DOWN_PASS, DOWN_KEY = "downuser-Yi45Bq", "downpass-Cr19Xe", "downkey-Hv72Ma"
FRAGMENT = "frag-Kw39Ng"
HEADER_BEARER, HEADER_KEY, BAD_HEADER = "hdrbearer-Jy64Rs", "hdrkey-Qa07Lx", "badhdr-Mu92Ct"
ADMIN_TOKEN = "admintok-Ev58Wb"
WRONG_TOKEN = "wrongtok-Si41Do"
ESL_PASS, ESL_WRONG = "eslpass-Zo26Kf", "eslwrong-Ap83Vh"

SECRETS = [NATS_USER, NATS_PASS, NATS_USER2, NATS_PASS2, EP_USER, EP_PASS, EP2_USER, EP2_PASS,
           BAD_USER, BAD_PASS, DOWN_USER, DOWN_PASS, DOWN_KEY, QUERY_TOKEN, QUERY_SIG, QUERY_TOKEN2, QUERY_SIG2, BAD_KEY,
           FRAGMENT, HEADER_BEARER, HEADER_KEY, BAD_HEADER, ADMIN_TOKEN, WRONG_TOKEN, ESL_PASS,
           ESL_WRONG]
# How they could travel in disguise: the Basic credentials curl makes of a userinfo, and
# the percent-encoded form of each.
DISGUISES = [base64.b64encode(("%s:%s" % up).encode()).decode() for up in
             ((NATS_USER, NATS_PASS), (EP_USER, EP_PASS), (EP2_USER, EP2_PASS),
              (BAD_USER, BAD_PASS))]

DLQ = "EVENTS_DLQ"


class Redaction(EslTestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats(user=NATS_USER, password=NATS_PASS)
        self.ok = self.receiver(name="ok")
        self.bad = self.receiver(status=500, name="bad")
        self.fs = self.fake_fs(password=ESL_PASS, script=[ff.Replay(PLAIN)])
        self.log_dir = os.path.join(self.tmp, "domain-logs")
        self.dead_port = harness.free_port()  # nothing listens there: NATS and an endpoint
        nats_url = "nats://%s:%s@127.0.0.1:%d, nats://%s:%s@127.0.0.1:%d" % (
            NATS_USER, NATS_PASS, self.ns.port, NATS_USER2, NATS_PASS2, self.dead_port)
        self.ok_display = ("http://***@127.0.0.1:%d/hook?token=***&sig=***#***" % self.ok.port)
        self.bad_display = "http://***@127.0.0.1:%d/fail?key=***" % self.bad.port
        self.down_display = "http://***@127.0.0.1:%d/down?key=***" % self.dead_port
        routes = [
            {"domain": "example.com", "endpoints": [
                {"url": "http://%s:%s@127.0.0.1:%d/hook?token=%s&sig=%s#%s" % (
                    EP_USER, EP_PASS, self.ok.port, QUERY_TOKEN, QUERY_SIG, FRAGMENT),
                 "headers": {"Authorization": "Bearer " + HEADER_BEARER, "X-Api-Key": HEADER_KEY}},
                # The same once redacted: its metrics label gets " #2".
                "http://%s:%s@127.0.0.1:%d/hook?token=%s&sig=%s#%s" % (
                    EP2_USER, EP2_PASS, self.ok.port, QUERY_TOKEN2, QUERY_SIG2, FRAGMENT),
            ]},
            {"domain": "bad.example", "endpoints": [
                {"url": "http://%s:%s@127.0.0.1:%d/fail?key=%s" % (
                    BAD_USER, BAD_PASS, self.bad.port, BAD_KEY),
                 "headers": {"X-Secret": BAD_HEADER}}]},
            {"domain": "down.example", "endpoints": [
                "http://%s:%s@127.0.0.1:%d/down?key=%s" % (DOWN_USER, DOWN_PASS, self.dead_port,
                                                           DOWN_KEY)]},
        ]
        nodes = [esl_node(self.fs, password=ESL_PASS),
                 esl_node(self.fs, name="fs2", password=ESL_WRONG)]
        cfg = esl_config(self.ns, nodes, routes,
                         server={"admin_token": ADMIN_TOKEN, "protect_read_apis": True},
                         nats={"url": nats_url, "max_deliveries": 2},
                         delivery={"backoff": ["100ms"]},
                         log={"dir": self.log_dir, "domain_logging": True})
        self.eh = self.eventhub(cfg)

    def api(self, method, path, token=ADMIN_TOKEN):
        h = {"Authorization": "Bearer " + token} if token else {}
        if method not in ("GET", "HEAD"):  # the control plane wants JSON for changes
            h["Content-Type"] = "application/json"
        return self.eh.request(method, path, headers=h)

    def get_ok(self, path):
        r = self.api("GET", path)
        self.assertEqual(r.status, 200, "GET %s: %r" % (path, r))
        return r

    def dlq_count(self):
        try:
            return self.ns.client().stream_info(DLQ)["state"]["messages"]
        except harness.natsclient.JetStreamError:
            return 0

    def assert_clean(self, texts):
        """texts: {where: text}. One failure naming every place that shows a secret."""
        leaks = []
        for where, text in texts.items():
            found = sorted({f for s in SECRETS + DISGUISES
                            for f in (s, urllib.parse.quote(s, safe="")) if f in text})
            if found:
                leaks.append("%s shows %s: %s" % (where, ", ".join(found), text[:400]))
        if leaks:
            self.fail("%d place(s) show a secret:\n%s" % (len(leaks), "\n".join(leaks)))

    def test_no_secret_anywhere(self):
        eh, ns = self.eh, self.ns
        fix = Fixture(PLAIN)
        # --- traffic: delivered, dead-lettered, a call signal, a replay
        ok_ids = [self.assert_accepted(eh.post_event({"domain": "example.com", "n": i}))["event_id"]
                  for i in range(3)]
        bad_ids = [self.assert_accepted(eh.post_event({"domain": "bad.example", "n": i}))["event_id"]
                   for i in range(2)]
        self.assert_accepted(eh.post_event({"domain": "down.example"}))
        for eid in ok_ids + [fix.signal_id]:
            harness.wait_until(lambda eid=eid: len(self.ok.answered_2xx(eid)) >= 2, 20,
                               "event %s at both example.com endpoints" % eid)
        harness.wait_until(lambda: self.dlq_count() >= 3, 20, "three dead letters")
        self.wait_esl_state(eh, "connected")
        eh.wait_log(lambda l: "wrong esl password" in l.get("msg", ""), 15,
                    "node fs2's refused authentication")
        self.wait_consumer_idle(ns)

        dlq = self.get_ok("/api/dlq")
        seqs = [item["seq"] for item in dlq.json["records"]
                if item["record"]["domain"] == "bad.example"]
        self.assertEqual((len(dlq.json["records"]), len(seqs)), (3, 2), dlq.json)
        replay = self.api("POST", "/api/dlq/%d/replay" % seqs[-1])
        self.assertEqual(replay.status, 200, replay)
        harness.wait_until(lambda: self.dlq_count() == 3 and len(self.bad.requests) >= 6, 20,
                           "the replayed dead letter to be dead-lettered again")
        self.wait_consumer_idle(ns)
        reload = self.api("POST", "/api/config/reload")
        self.assertEqual(reload.status, 200, reload)
        refused = self.api("GET", "/api/stats", token=WRONG_TOKEN)
        self.assertEqual(refused.status, 401, refused)
        self.assertEqual(self.api("GET", "/metrics", token=None).status, 401)

        # --- every API, with the token
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        dlq = self.get_ok("/api/dlq")
        paths = ["/health", "/api/stats", "/metrics", "/api/events", "/api/events?type=failed",
                 "/api/dlq", "/api/dlq?domain=bad.example", "/api/dlq?domain=down.example"]
        paths += ["/api/dlq/%d" % item["seq"] for item in dlq.json["records"]]
        paths += ["/api/logs", "/api/logs/domains", "/api/logs?domain=example.com",
                  "/api/logs?domain=example.com&date=" + today,
                  "/api/logs?domain=bad.example&date=" + today,
                  "/api/logs?domain=down.example&date=" + today,
                  "/api/stream/messages", "/api/stream/messages?domain=bad.example",
                  "/api/config", "/api/v1/calls", "/api/v1/calls/" + fix.a_leg, "/"]
        answers = {p: self.get_ok(p) for p in paths}
        answers["POST /api/dlq/replay"] = replay
        answers["POST /api/config/reload"] = reload
        answers["401"] = refused
        texts = {}
        for where, r in answers.items():
            texts[where] = r.raw.decode("utf-8", "replace")
            texts[where + " (headers)"] = json.dumps(r.headers)

        # --- what is stored: the dead-letter stream's records themselves
        records = [m["data"].decode("utf-8", "replace") for m in ns.client().msgs(DLQ)]
        self.assertEqual(len(records), 3)
        texts.update(("dead-letter record %d" % i, t) for i, t in enumerate(records))

        # --- what is written: eventhub's own log, then the domain log files
        self.assertEqual(eh.stop(), 0)
        lines = eh.log_lines() + [t for (_, t, _) in eh.stdout]
        texts.update(("eventhub log line %d" % i, t) for i, t in enumerate(lines))
        files = {}
        for root, _, names in os.walk(self.log_dir):
            for n in names:
                path = os.path.join(root, n)
                with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                    files[path] = f.read().decode("utf-8", "replace")
        self.assertGreaterEqual(len(files), 2, files)
        texts.update(files)

        self.assert_clean(texts)

        # --- and each shows the redacted form, so the check above could fail
        nats_shown = "nats://***@127.0.0.1:%d" % ns.port
        self.assertEqual(answers["/health"].json["server"], nats_shown)
        self.assertEqual(answers["/api/stats"].json["nats"]["server"], nats_shown)
        metrics = answers["/metrics"].raw.decode()
        for label in (self.ok_display, self.ok_display + " #2"):
            self.assertIn('domain="example.com",endpoint="%s",outcome="ok"} 4' % label, metrics)
        self.assertIn('domain="bad.example",endpoint="%s",outcome="failed"} 6' % self.bad_display,
                      metrics)
        events = answers["/api/events"].json
        shown = {e["url"] for evs in events["events_by_domain"].values() for ev in evs
                 for e in ev["endpoints"]}
        self.assertEqual(shown, {self.ok_display}, events)
        failed = answers["/api/events?type=failed"].json["failed_events_by_domain"]["bad.example"]
        self.assertEqual({e["url"] for ev in failed for e in ev["endpoints"]}, {self.bad_display})
        recs = {i["record"]["domain"]: i["record"] for i in answers["/api/dlq"].json["records"]}
        self.assertEqual(recs["bad.example"]["endpoints"][0]["url"], self.bad_display)
        self.assertIn(self.bad_display + ": HTTP 500", recs["bad.example"]["detail"])
        self.assertEqual(recs["down.example"]["endpoints"][0]["url"], self.down_display)
        self.assertIn(self.down_display + ": Couldn't connect", recs["down.example"]["detail"])
        day = answers["/api/logs?domain=bad.example&date=" + today].raw.decode()
        self.assertIn(json.dumps(self.bad_display), day)
        cfg_eps = answers["/api/config"].json["routes"][0]["endpoints"]
        self.assertEqual(cfg_eps[0]["url"], self.ok_display)
        self.assertEqual(cfg_eps[0]["headers"], {"Authorization": "***", "X-Api-Key": "***"})
        self.assertEqual(answers["/api/config"].json["settings"]["nats"]["servers"],
                         [nats_shown, "nats://***@127.0.0.1:%d" % self.dead_port])
        self.assertEqual(answers["/api/v1/calls/" + fix.a_leg].json["call_id"], fix.a_leg)
        self.assertGreaterEqual(len(answers["/api/stream/messages"].json["messages"]), 6)

        for i, text in enumerate(records):
            self.assertTrue(json.dumps(self.bad_display) in text or
                            json.dumps(self.down_display) in text, "dead-letter record %d" % i)
        self.assertTrue(any("connected to " + nats_shown in t for t in lines),
                        "no \"connected to %s\" log line" % nats_shown)
        self.assertTrue(any(self.bad_display in t for t in lines),
                        "no log line names the failing endpoint")
        shown = sum(t.count(json.dumps(d)) for t in files.values()
                    for d in (self.ok_display, self.bad_display))
        self.assertGreater(shown, 0, "the domain logs name no endpoint")


if __name__ == "__main__":
    harness.main()
