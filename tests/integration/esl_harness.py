"""
esl_harness — what the FreeSWITCH (ESL) integration tests share, on top of harness.

EslTestCase adds a fake FreeSWITCH factory (closed at the end, dumped on failure),
an `esl:` config writer, /health "esl" accessors, JetStream stream readers keyed by
Nats-Msg-Id, and the expected call signals of the captures in tests/unit/fixtures/esl.
"""

import json
import re

import harness
import fake_freeswitch as ff
from fake_freeswitch import DEFAULT_EVENTS, FakeFreeSwitch, Fixture  # noqa: F401 (re-exported)

PLAIN = "answered-call.plain.txt"
JSON = "answered-call.json.txt"
BUSY = "busy-call.plain.txt"

# What the call signal of each capture must say (besides event_id / call_id).
# The seed form (the default): every value a string, "" when unknown. (duration is
# FreeSWITCH's own: 2 in the plain capture, 3 in the JSON one.)
ANSWERED = {"domain": "example.com", "from_number": "0914315989", "to_number": "0987654321",
            "hotline": "", "receive_dest": "0987654321", "sip_call_id": "",
            "state": "answered", "status": "completed", "billsec": "2",
            "hangup_cause": "NORMAL_CLEARING", "node": "fs1", "live": False}
BUSY_SIGNAL = {"domain": "example.com", "from_number": "0914315989", "to_number": "0987654321",
               "state": "missed", "status": "busy-line", "hangup_cause": "USER_BUSY",
               "billsec": "0", "duration": "1", "time_answered": "", "node": "fs1", "live": False}

RAW_EXTRA = ("domain", "event_id", "received_at", "esl_node")


def esl_node(fs, name="fs1", **over):
    """One esl: item for the fake (short reconnects; a heartbeat timeout long enough that
    tests not about it never trip it)."""
    node = {"name": name, "host": "127.0.0.1", "port": fs.port, "password": "ClueCon",
            "format": "plain", "publish": "signals",
            "reconnect": {"initial": "100ms", "max": "1s"},
            "heartbeat_timeout": "60s", "buffer_events": 10000}
    node.update(over)
    return node


def esl_config(ns, nodes, routes, **sections):
    cfg = harness.base_config(ns.url, routes, **sections)
    cfg["esl"] = nodes
    cfg.setdefault("calls", {"max_call_age": "4h", "max_calls": 100000, "bucket": "CALLS",
                             "retention": "30d"})
    return cfg


DOMAIN_SOURCES = ["variable_domain_name", "variable_dialed_domain", "variable_requested_domain_name",
                  "variable_sip_req_host", "variable_sip_to_host", "variable_sip_from_host"]
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _hostname(v):
    if not isinstance(v, str):
        return None
    v = v[:-1] if v.endswith(".") else v
    if not _HOST_RE.match(v) or re.match(r"^[0-9.]+$", v):
        return None
    return v.lower()


def resolve_domain(frame, default=None):
    """The domain eventhub must give a raw event (the documented order of sources:
    variable_domain_name ... variable_sip_from_host, then the host of
    variable_presence_id; a hostname, not an IP address), else default."""
    for k in DOMAIN_SOURCES:
        h = _hostname(frame.event_get(k))
        if h:
            return h
    p = frame.event_get("variable_presence_id")
    if isinstance(p, str) and "@" in p:
        h = _hostname(p.rsplit("@", 1)[1])
        if h:
            return h
    return default


def norm_header_value(v):
    if isinstance(v, list):
        return v
    if isinstance(v, str) and v.startswith("ARRAY::"):
        return v[len("ARRAY::"):].split("|:")
    return v


def expected_raw(frame):
    """The members a raw event's JSON must have for this frame's event (headers; a
    header sent more than once becomes an array; "ARRAY::a|:b" becomes ["a","b"];
    "_body" when the event has a body)."""
    groups = {}
    for k, v in frame.event:
        if k == "_body":
            continue
        groups.setdefault(k, []).append(norm_header_value(v))
    exp = {k: (vs[0] if len(vs) == 1 else vs) for k, vs in groups.items()}
    body = frame.event_get("_body")
    if body is not None:
        exp["_body"] = body
    return exp


class EslTestCase(harness.TestCase):
    # -- fixtures --

    def fake_fs(self, name="fakefs", **kw):
        fs = FakeFreeSwitch(name=name, **kw)
        self._fixtures.append(fs)
        self.addCleanup(fs.close)
        return fs

    # -- /health --

    def esl_entry(self, eh, name="fs1"):
        h = eh.health()
        j = h.json
        if not isinstance(j, dict) or not isinstance(j.get("esl"), list):
            raise AssertionError("/health has no \"esl\" array: %r" % (h,))
        for e in j["esl"]:
            if isinstance(e, dict) and e.get("name") == name:
                return e
        raise AssertionError("/health esl has no entry %r: %r" % (name, j["esl"]))

    def wait_esl(self, eh, pred, timeout=10.0, what="esl health condition", name="fs1"):
        """Polls /health until pred(esl entry) is true; returns the entry."""
        last = {}

        def check():
            e = self.esl_entry(eh, name)
            last["e"] = e
            return e if pred(e) else None
        try:
            return harness.wait_until(check, timeout, what)
        except harness.WaitTimeout as ex:
            raise harness.WaitTimeout("%s; last esl entry: %r" % (ex, last.get("e")))

    def wait_esl_state(self, eh, state, timeout=10.0, name="fs1"):
        return self.wait_esl(eh, lambda e: e.get("state") == state, timeout,
                             "esl %s state %r" % (name, state), name)

    def assert_esl_entry_shape(self, e):
        self.assertIsInstance(e.get("name"), str, e)
        self.assertIsInstance(e.get("state"), str, e)
        for k in ("events_received", "signals_published", "events_published", "buffered",
                  "dropped", "reconnects"):
            self.assertIsInstance(e.get(k), int, "esl entry %r: %s is not an integer" % (e, k))
            self.assertNotIsInstance(e.get(k), bool)
            self.assertGreaterEqual(e[k], 0, e)
        self.assertIn("last_error", e, e)

    # -- logs --

    def esl_logs(self, eh, levels=None, run=None):
        return eh.find_log(lambda l: l.get("subsystem") == "esl" and
                           (levels is None or l.get("level") in levels), run)

    def wait_esl_log(self, eh, levels, words, timeout=10.0, what=None):
        """Waits for an esl log line at one of `levels` whose msg contains one of `words`
        (case-insensitive)."""
        def match(l):
            if l.get("subsystem") != "esl" or l.get("level") not in levels:
                return False
            msg = str(l.get("msg", "")).lower()
            return not words or any(w.lower() in msg for w in words)
        try:
            return eh.wait_log(match, timeout, what or "esl %s log line mentioning %r" % (levels, words))
        except harness.WaitTimeout as ex:
            raise harness.WaitTimeout("%s; esl lines: %r" % (ex, [l.get("msg") for l in self.esl_logs(eh)][-15:]))

    # -- JetStream --

    def stream_msgs(self, ns, stream="EVENTS"):
        return ns.client().msgs(stream)

    @staticmethod
    def msg_id(m):
        for k, v in m["headers"].items():
            if k.lower() == "nats-msg-id":
                return v[0] if v else None
        return None

    def by_msg_id(self, ns, stream="EVENTS"):
        out = {}
        for m in self.stream_msgs(ns, stream):
            out.setdefault(self.msg_id(m), []).append(m)
        return out

    def wait_stored(self, ns, msg_id, timeout=15.0, stream="EVENTS"):
        """Waits until the stream holds a message with this Nats-Msg-Id; returns them all."""
        return harness.wait_until(lambda: self.by_msg_id(ns, stream).get(msg_id), timeout,
                                  "a message with Nats-Msg-Id %s in %s" % (msg_id, stream))

    def dlq_count(self, ns, stream="EVENTS_DLQ"):
        try:
            return ns.client().stream_info(stream)["state"]["messages"]
        except Exception:  # noqa: BLE001 - no DLQ stream yet
            return 0

    # -- signals --

    def wait_signal(self, rcv, event_id, timeout=15.0):
        """Waits for the webhook delivery of this event_id; returns the first request."""
        return harness.wait_until(lambda: rcv.requests_for(event_id), timeout,
                                  "delivery of %s to %s (has %r)" % (event_id, rcv.name,
                                                                     list(rcv.event_ids())))[0]

    def assert_signal(self, sig, fix, expect, node="fs1"):
        """sig: the signal object (delivered or stored); fix: the Fixture of the call."""
        self.assertIsInstance(sig, dict, sig)
        self.assertEqual(sig.get("event_id"), fix.signal_id, sig)
        self.assertEqual(sig.get("call_id"), fix.a_leg, sig)
        exp = dict(expect)
        exp["node"] = node
        for k, v in exp.items():
            self.assertIn(k, sig, "call signal has no %r: %r" % (k, sig))
            self.assertEqual(sig[k], v, "call signal %s: expected %r, got %r in %r" % (k, v, sig[k], sig))

    def assert_signal_stored_once(self, ns, fix, expect, node="fs1"):
        msgs = self.wait_stored(ns, fix.signal_id)
        self.assertEqual(len(msgs), 1, "signal %s stored %d times" % (fix.signal_id, len(msgs)))
        m = msgs[0]
        self.assertEqual(m["subject"], subject_for(expect["domain"]))
        sig = json.loads(m["data"])
        self.assert_signal(sig, fix, expect, node)
        return sig

    def assert_raw_event(self, obj, frame, domain, node="fs1"):
        exp = expected_raw(frame)
        for k, v in exp.items():
            self.assertIn(k, obj, "raw event %s has no %r" % (frame.event_id, k))
            self.assertEqual(obj[k], v, "raw event %s member %r" % (frame.event_id, k))
        self.assertEqual(obj.get("domain"), domain, obj.get("domain"))
        self.assertEqual(obj.get("event_id"), frame.event_id)
        self.assertEqual(obj.get("esl_node"), node)
        self.assertRegex(obj.get("received_at") or "", harness.RFC3339_MS_UTC_RE)
        extra = set(obj) - set(exp) - set(RAW_EXTRA) - {"delivery_attempt"}
        self.assertFalse(extra, "raw event %s has members that are not headers: %r" % (frame.event_id, extra))


def subject_for(domain):
    """events.<domain token>: [A-Za-z0-9-] kept, "." -> "_", any other byte %XX."""
    out = []
    for b in domain.encode():
        c = chr(b)
        out.append(c if c.isascii() and (c.isalnum() or c == "-") else "_" if c == "." else "%%%02X" % b)
    return "events." + "".join(out)


def ids(frames):
    return [f.event_id for f in frames]


__all__ = ["EslTestCase", "esl_node", "esl_config", "expected_raw", "ff", "PLAIN", "JSON", "BUSY",
           "ANSWERED", "BUSY_SIGNAL", "DEFAULT_EVENTS", "Fixture", "FakeFreeSwitch", "ids", "subject_for", "resolve_domain"]
