#!/usr/bin/env python3
"""
Signed webhooks, verified by the official standardwebhooks npm package
(tests/webhooks/verifier.mjs) over the exact bytes each endpoint received:

- every call to an endpoint with a `secret` verifies, unicode payloads included;
- a retry carries the same webhook-id with a new timestamp and a new signature;
- with `secrets: [new, old]` a receiver that knows only the new secret and one that
  knows only the old one both verify every call (rotation);
- a tampered body, replayed with the real headers, is rejected;
- an endpoint without a secret gets no signature headers, and
  `delivery.signature_headers: none` turns them off;
- the secrets never appear in /api/v1/config or in eventhub's log.

Skipped (exit 77) where node or tests/webhooks/node_modules is missing, unless
EVENTHUB_REQUIRE_BROWSER=1 (CI), which makes that a failure.
"""

import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading

import harness
from harness import base_config, wait_until

WEBHOOKS_DIR = os.path.join(harness.REPO, "tests", "webhooks")
SKIP = 77
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
OLD = "whsec_" + base64.b64encode(bytes(range(7, 43))).decode()


def skip_unless_available():
    why = None
    if not shutil.which("node"):
        why = "node not found"
    elif not os.path.isdir(os.path.join(WEBHOOKS_DIR, "node_modules", "standardwebhooks")):
        why = "tests/webhooks/node_modules missing (scripts/install-deps.sh --browser)"
    if why is None:
        return
    if os.environ.get("EVENTHUB_REQUIRE_BROWSER") == "1":
        sys.stderr.write("node tests required (EVENTHUB_REQUIRE_BROWSER=1) but %s\n" % why)
        sys.exit(1)
    sys.stderr.write("SKIP: %s\n" % why)
    sys.exit(SKIP)


class Verifier:
    """A node process that verifies each call with the given secrets."""

    def __init__(self, secrets, fail_first=0):
        env = dict(os.environ, FAIL_FIRST=str(fail_first))
        self.proc = subprocess.Popen(["node", os.path.join(WEBHOOKS_DIR, "verifier.mjs")] + secrets,
                                     cwd=WEBHOOKS_DIR, stdout=subprocess.PIPE, env=env, text=True)
        first = json.loads(self.proc.stdout.readline())
        self.port = first["port"]
        self.calls = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.calls.append(json.loads(line))

    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def seen(self):
        with self._lock:
            return list(self.calls)

    def close(self):
        self.proc.kill()
        self.proc.wait()


class WebhookSignatures(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.verifiers = []

    def tearDown(self):
        for v in self.verifiers:
            v.close()

    def verifier(self, secrets, fail_first=0):
        v = Verifier(secrets, fail_first)
        self.verifiers.append(v)
        return v

    def test_signed_calls_verify(self):
        signed = self.verifier([SECRET], fail_first=1)
        knows_new, knows_old = self.verifier([NEW]), self.verifier([OLD])
        plain = self.receiver(name="plain")
        os.environ["HOOK_SECRET"] = SECRET  # the child inherits it: secret: ${HOOK_SECRET}
        eh = self.eventhub(base_config(self.ns.url, [
            {"domain": "signed.example",
             "endpoints": [{"url": signed.url(), "secret": "${HOOK_SECRET}"}, plain.url()]},
            {"domain": "rotating.example",
             "endpoints": [{"url": knows_new.url(), "secrets": [NEW, OLD]},
                           {"url": knows_old.url(), "secrets": [NEW, OLD]}]},
        ], delivery={"backoff": ["1100ms"]}))
        events = [
            {"domain": "signed.example", "event_id": "sig-1", "note": "plain ascii"},
            {"domain": "signed.example", "event_id": "sig-2",
             "note": "Nguy\u1ec5n V\u0103n A \u2014 \u00e9t\u00e9 \U0001F4DE", "n": [1, 2.5, None]},
            {"domain": "rotating.example", "event_id": "rot-1", "note": "rotation \u2713"},
        ]
        for ev in events:
            self.assert_accepted(eh.post_event(ev))
        # Each signed event: a first call answered 500, then a retry answered 200.
        wait_until(lambda: len([c for c in signed.seen() if c["status"] == 200]) == 2,
                   timeout=20, what="signed retries delivered")
        calls = signed.seen()
        self.assertTrue(all(c["verified"] == [True] for c in calls), calls)
        for event_id in ("sig-1", "sig-2"):
            mine = [c for c in calls if c["id"] == event_id]
            self.assertEqual([c["status"] for c in mine], [500, 200], mine)
            first, retry = mine
            self.assertNotEqual(first["timestamp"], retry["timestamp"])
            self.assertNotEqual(first["signature"], retry["signature"])
            for c in mine:
                self.assertEqual(len(c["signature"].split(" ")), 1)
                self.assertTrue(c["signature"].startswith("v1,"))
                body = json.loads(base64.b64decode(c["body"]))
                self.assertEqual(body["event_id"], event_id)
        sig2 = json.loads(base64.b64decode([c for c in calls if c["id"] == "sig-2"][0]["body"]))
        self.assertEqual(sig2["note"], events[1]["note"])

        # Rotation: both signatures on each call; either secret alone verifies it.
        wait_until(lambda: knows_new.seen() and knows_old.seen(), timeout=10, what="rotation")
        for v in (knows_new, knows_old):
            (c,) = v.seen()
            self.assertEqual(c["verified"], [True], c)
            self.assertEqual(c["status"], 200)
            self.assertEqual(len(c["signature"].split(" ")), 2, c)

        # An endpoint without a secret gets no signature headers.
        plain.wait_for(2)
        for r in plain.requests:
            self.assertIsNone(r.header("webhook-signature"))
            self.assertIsNone(r.header("webhook-id"))

        # A tampered body with the real headers is refused by the verifier.
        good = calls[-1]
        before = len(signed.seen())
        body = base64.b64decode(good["body"]).replace(b"plain ascii", b"plain ASCII")
        if body == base64.b64decode(good["body"]):
            body = base64.b64decode(good["body"]) + b" "
        conn = http.client.HTTPConnection("127.0.0.1", signed.port, timeout=5)
        conn.request("POST", "/hook", body=body, headers={
            "webhook-id": good["id"], "webhook-timestamp": good["timestamp"],
            "webhook-signature": good["signature"], "Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        wait_until(lambda: len(signed.seen()) > before, timeout=5, what="the tampered call")
        self.assertEqual(signed.seen()[-1]["verified"], [False])

        # Secrets are never shown.
        cfg = eh.request("GET", "/api/v1/config").raw.decode()
        log = "\n".join(json.dumps(line) if not isinstance(line, str) else line
                        for line in eh.log_lines())
        for s in (SECRET, NEW, OLD, SECRET[6:], NEW[6:], OLD[6:]):
            self.assertNotIn(s, cfg)
            self.assertNotIn(s, log)
        eps = json.loads(cfg)["routes"]
        self.assertIn('"secrets": ["***"]', json.dumps(eps))

    def test_signature_headers_none(self):
        off = self.receiver(name="off")
        eh = self.eventhub(base_config(self.ns.url, [
            {"domain": "off.example", "endpoints": [{"url": off.url(), "secret": SECRET}]},
        ], delivery={"signature_headers": "none"}))
        self.assert_accepted(eh.post_event({"domain": "off.example", "event_id": "off-1"}))
        off.wait_for(1)
        self.assertIsNone(off.requests[0].header("webhook-signature"))


if __name__ == "__main__":
    skip_unless_available()
    harness.main()
