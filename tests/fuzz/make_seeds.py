#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/.

Seeds are small realistic inputs: real events, configs, requests, dead-letter records
and log lines; the FreeSWITCH captures of tests/unit/fixtures/esl cut at frame
boundaries; the time zones of tests/unit/fixtures/tz; call-tracker programs in the
byte format fuzz_call_tracker.c reads. Rerun after changing a target's input format:
it (re)writes only the files it names, so inputs added by hand (crashers, named
crash-*) stay. Usage: tests/fuzz/make_seeds.py
"""
import gzip
import json
import os
import re
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- event: POST /events bodies ----

EVENTS = {
    # The first line is an Idempotency-Key (fuzz_event's keyed path), the rest the body.
    "keyed.json": 'order-4711\n{"domain":"example.com","call_id":"c-1"}',
    "keyed-same-id.json": 'e-1\n{"domain":"example.com","event_id":"e-1"}',
    # A UTF-8 byte order mark before the object: cJSON skips it, json_scan does not.
    "00-utf8-bom.json": b'\xef\xbb\xbf{"domain":"example.com"}',
    "readme.json": '{"domain":"example.com","call_id":"c-1","from_number":"0914315989",'
    '"to_number":"0987654321","state":"answered"}',
    "minimal.json": '{"domain":"a"}',
    "with-id.json": '{"domain":"example.com","event_id":"evt-0001","n":1}',
    "with-received-at.json": '{"received_at":"2026-11-21T10:56:36.403Z","domain":"example.com"}',
    "received-at-number.json": '{"domain":"example.com","received_at":17952571}',
    "with-attempt.json": '{"domain":"example.com","delivery_attempt":3,"x":[1,2]}',
    "big-number.json": '{"domain":"example.com","amount":12345678901234567890,"f":-1.5e-300}',
    "escapes.json": '{"domain":"example.com","name":"Ren\\u00e9e","raw":"Ren\u00e9e \u6771\u4eac",'
    '"q":"a\\"b\\\\c\\n","surrogates":"\\ud83d\\ude00"}',
    "nested.json": '{"domain":"example.com","a":{"b":[{"c":null},true,false,"}"]},"z":"{"}',
    "whitespace.json": ' \r\n\t{ "domain" : "example.com" ,\n "k" : [ ] } \n',
    "empty-values.json": '{"domain":"example.com","o":{},"a":[],"s":""}',
    "dup-keys.json": '{"domain":"a.example","domain":"b.example","event_id":"x","event_id":"y"}',
    "escaped-key.json": '{"domain":"example.com","delivery\\u005fattempt":"sender"}',
    "not-object.json": '[{"domain":"example.com"}]',
    "scalar.json": '"example.com"',
    "truncated.json": '{"domain":"example.com","a":[1,2',
    "trailing.json": '{"domain":"example.com"} {"domain":"x"}',
    "no-domain.json": '{"call_id":"c-1"}',
    "domain-number.json": '{"domain":42}',
    "domain-empty.json": '{"domain":""}',
    "domain-control.json": '{"domain":"a\\u0001b"}',
    "domain-nul.json": '{"domain":"a\\u0000b"}',
    "domain-long.json": '{"domain":"' + "d" * 256 + '"}',
    "event-id-space.json": '{"domain":"example.com","event_id":"a b"}',
    "event-id-long.json": '{"domain":"example.com","event_id":"' + "i" * 129 + '"}',
    "raw-control.json": b'{"domain":"example.com","x":"a\x01b"}',
    "bad-utf8.json": b'{"domain":"example.com","x":"\xc0\xaf \xed\xa0\x80"}',
    "deep.json": '{"domain":"example.com","d":' + "[" * 200 + "]" * 200 + "}",
}

# ---- config: YAML files ----

CONFIGS = {
    "routes-full.yaml": """server:
  port: 0
  admin_token: ${FUZZ_SECRET}
  protect_read_apis: true
nats:
  url: "nats://user:pw@127.0.0.1:4222,tls://b:4222"
  stream:
    name: EVENTS
    subject_pattern: "events.*"
    max_age: 7d
    duplicate_window: 2m
  consumer:
    ack_wait: 30s
    max_deliver: 5
delivery:
  timeout: 3s
  backoff: [1s, 5s, 30s]
routes:
  - domain: example.com
    events: [ingress, call_signal, CHANNEL_ANSWER]
    endpoints:
      - url: https://hooks.example/a
        timeout: 2s
        headers:
          Authorization: "Bearer ${FUZZ_SECRET}"
          X-Tenant: ex
      - http://127.0.0.1:9000/webhook
  - domain: "*"
    endpoints: [http://fallback.example/hook]
""",
    "esl.yaml": """esl:
  - name: fs1
    host: 127.0.0.1
    port: 8021
    password: ${FUZZ_EMPTY:-ClueCon}
    format: json
    publish: both
    filters: ["Event-Name CHANNEL_ANSWER"]
    reconnect: {initial: 1s, max: 30s}
calls:
  timezone: Asia/Ho_Chi_Minh
  bucket: CALLS
routes:
  - domain: example.com
    endpoints: [http://127.0.0.1:9000/webhook]
""",
    "signed.yaml": """delivery:
  signature_headers: standard
routes:
  - domain: example.com
    endpoints:
      - url: https://hooks.example/a
        secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
      - url: https://hooks.example/b
        secrets: [${FUZZ_SECRET}, whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]
""",
    "lanes.yaml": """nats:
  stream:
    name: EVENTS
    max_age: 2d
  retry:
    stream: EVENTS_RETRY
    subject_prefix: retry.EVENTS
delivery:
  endpoint_max_concurrent: 16
  max_retry_age: 1d
  retry_window: 128
  breaker: {failures: 3, cooldown: 2s, max_cooldown: 1m}
routes:
  - domain: example.com
    endpoints:
      - http://127.0.0.1:9000/webhook
      - url: https://hooks.example/a
        max_concurrent: 4
        rate_limit: "0.5/s"
        headers: {Authorization: "Bearer ${FUZZ_SECRET}"}
      - {url: https://hooks.example/b, rate_limit: 30/m}
      - {url: https://hooks.example/c, rate_limit: 3600/h, max_concurrent: 10000}
  - domain: "*"
    endpoints: [{url: http://fallback.example/hook, rate_limit: 1000000/s}]
""",
    "anchors.yaml": """defaults: &ep
  url: http://127.0.0.1:9000/a
  timeout: 1s
routes:
  - domain: a.example
    endpoints: [*ep, *ep]
  - domain: &d b.example
    endpoints: [http://x/y]
  - domain: *d
    endpoints: [http://x/z]
""",
    "errors.yaml": """server:
  port: 99999
  max_body_bytes: 1TB
nats:
  stream:
    name: "bad.name"
    subject_pattern: "events"
  consumer: {ack_wait: 1ms}
delivery:
  backoff: []
unknown_key: 1
routes:
  - domain: ""
    endpoints: ["ftp://x", {url: "http://a", timeout: -1s}]
""",
    "not-yaml.yaml": "routes: [\n  - {domain: \"unterminated\n",
    "empty.yaml": "",
    "scalar.yaml": "just a scalar\n",
    "env-unset.yaml": "server:\n  admin_token: ${FUZZ_UNSET_VARIABLE}\n"
    "routes:\n  - domain: e.com\n    endpoints: [\"http://h/$${literal}\"]\n",
}

# ---- http_params: request targets (+ '\n' + Authorization) ----

REQUESTS = {
    "dlq-list.txt": "/api/dlq?domain=example.com&limit=50&before=1200",
    "dlq-one.txt": "/api/dlq/42",
    "dlq-replay-one.txt": "/api/dlq/42/replay\nBearer s3cret-token",
    "dlq-replay-domain.txt": "/api/dlq/replay?domain=a%2Eb&limit=1000\nbearer   tok  ",
    "dlq-bad-seq.txt": "/api/dlq/-1?limit=0",
    "dlq-huge-seq.txt": "/api/dlq/99999999999999999999999/replay",
    "calls-list.txt": "/api/v1/calls?limit=10&offset=20&domain=Example.COM",
    "calls-one.txt": "/api/v1/calls/48718434-77f1-4de1-8394-dfd80401e3aa",
    "calls-bad.txt": "/api/v1/calls/a%2Fb",
    "logs-day.txt": "/api/logs?domain=example.com&date=2026-11-21&limit=100&offset=0",
    "logs-leap.txt": "/api/logs?domain=a_b&date=2024-02-29",
    "logs-traversal.txt": "/api/logs?domain=..%2F..%2Fetc&date=2026-13-01",
    "logs-nul.txt": "/api/logs?domain=a%00b&date=2026-11-21%00",
    "stream.txt": "/api/stream/messages?limit=5&before=9&domain=%E2%9C%93.example",
    "basic-auth.txt": "/api/logs/domains\nBasic dXNlcjpwdw==",
    "plus-and-empty.txt": "/api/dlq?limit=+5&domain=&=x&&offset=%2B1",
}

# ---- retry_record: a parked delivery's headers, then the event ----
RETRY_RECORDS = {
    "parked.txt": b"Eventhub-Event-Seq: 42\nEventhub-Stored-Us: 1795257146000000\n"
                  b"Eventhub-Attempts: 1\nEventhub-Not-Before: 1795257147000\n"
                  b"Eventhub-Last-Status: 500\nEventhub-Last-Error: HTTP 500\n\n"
                  b'{"domain":"example.com","event_id":"e-1"}',
    "gone.txt": b"Eventhub-Event-Seq: 7\nEventhub-Stored-Us: 1\nEventhub-Attempts: 1\n"
                b"Eventhub-Final: endpoint_gone\nEventhub-Kind: call_signal\n\n{}",
    "replay.txt": b"Eventhub-Event-Seq: 0\nEventhub-Stored-Us: 5\nEventhub-Attempts: 0\n"
                  b"Eventhub-Replay-Of: EVENTS_DLQ:3\n\n{}",
    "bad-numbers.txt": b"Eventhub-Event-Seq: -1\nEventhub-Stored-Us: 1e9\nEventhub-Attempts: 99999999999\n\n",
    "missing.txt": b"Eventhub-Attempts: 2\n\n{}",
}

# ---- retry_after: Retry-After header values ----

RETRY_AFTERS = {
    "seconds.txt": "120",
    "zero.txt": "0",
    "huge.txt": "99999999999999999999999999999",
    "blanks.txt": " \t3600 \t",
    "imf-fixdate.txt": "Sun, 06 Nov 1994 08:49:37 GMT",
    "imf-future.txt": "Fri, 31 Dec 9999 23:59:59 GMT",
    "leap-day.txt": "Tue, 29 Feb 2000 00:00:00 GMT",
    "leap-second.txt": "Sat, 31 Dec 2016 23:59:60 GMT",
    "rfc850.txt": "Sunday, 06-Nov-94 08:49:37 GMT",
    "rfc850-20xx.txt": "Thursday, 01-Jan-37 00:00:00 GMT",
    "asctime.txt": "Sun Nov  6 08:49:37 1994",
    "asctime-2digit-day.txt": "Wed Nov 16 08:49:37 2026",
    "bad-day.txt": "Sun, 32 Nov 1994 08:49:37 GMT",
    "bad-feb.txt": "Mon, 29 Feb 1900 00:00:00 GMT",
    "trailing.txt": "Sun, 06 Nov 1994 08:49:37 GMT x",
    "fraction.txt": "1.5",
    "negative.txt": "-1",
    "lower-case.txt": "sun, 06 nov 1994 08:49:37 gmt",
    "nul.bin": b"12\x0034",
}

# ---- dlq_record: stored dead-letter records and stream messages ----

EVENT = ('{"domain":"example.com","call_id":"c-1","event_id":"5b0c2f0e-8f5e-4a59-9d0e-0b1f5f3d2c11",'
         '"received_at":"2026-11-21T10:56:36.403Z"}')


def record(**extra):
    o = {"reason": "max_deliveries_exceeded",
         "detail": "1 of 2 endpoint(s) still failing after 5 attempts (http://b/hook: HTTP 500)",
         "domain": "example.com", "event_id": "5b0c2f0e-8f5e-4a59-9d0e-0b1f5f3d2c11",
         "stream": "EVENTS", "stream_seq": 42, "subject": "events.example_com",
         "attempts": 5, "dead_lettered_at": "2026-11-21T11:00:00.000Z",
         "endpoints": [{"url": "http://a/hook", "status": 200, "delivered": True},
                       {"url": "http://b/hook", "status": 500, "error": "HTTP 500",
                        "delivered": False}]}
    event = extra.pop("event", EVENT)
    o.update(extra)
    text = json.dumps(o, separators=(",", ":"), ensure_ascii=False)
    return text[:-1] + ',"event":' + event + "}" if event is not None else text


RECORDS = {
    "exhausted.json": record(),
    "no-route-kind.json": record(reason="no_route", kind="call_signal", attempts=1, endpoints=[]),
    "omitted.json": record(event=None, event_omitted=True, event_bytes=2000000),
    "invalid-json.json": record(event=None, reason="invalid_json", event_raw="{not json"),
    "seq-huge.json": record(event=None, event_omitted=True, stream_seq=1e300),
    "seq-fraction.json": record(stream_seq=42.5, kind=7),
    "event-first.json": '{"event":{"domain":"a"},"reason":"no_route"}',
    "event-not-object.json": '{"event":"{\\"domain\\":\\"a\\"}","reason":"no_route"}',
    "stream-message.json": EVENT,
    "text.txt": "plain text, not JSON: caf\u00e9",
    "binary.bin": bytes(range(256)),
    "bom.json": b"\xef\xbb\xbf" + record().encode(),
    "array.json": "[1,2,3]",
}

# ---- domain_log: [layout, skip, max_lines, split] + log lines ----


def log_line(kind, seq, **extra):
    o = {"ts": "2026-11-21T10:56:36.403Z", "type": kind, "domain": "example.com",
         "event_id": "evt-%d" % seq, "stream_seq": seq}
    o.update(extra)
    return json.dumps(o, separators=(",", ":"))


LINES = "\n".join([
    log_line("received", 1, duplicate=False, source="ingress",
             event={"domain": "example.com", "n": 12345678901234567890}),
    log_line("forwarded", 1, attempt=1, endpoints=[{"url": "http://a/h", "status": 200,
                                                    "delivered": True}]),
    log_line("failed", 2, attempt=1, max_deliver=5, will_retry=True, reason="http_error",
             endpoints=[{"url": "http://a/h", "status": None, "error": "timeout",
                         "delivered": False}]),
    log_line("dead_lettered", 2, attempt=5, will_retry=False, reason="max_deliveries_exceeded"),
    log_line("replayed", 3),
    '{"type":"received","domain":"A.B"}',
    "not json at all",
]) + "\n"

LOGS = {
    "one-piece.bin": bytes([0, 0, 0, 0]) + LINES.encode(),
    "three-pieces-gz.bin": bytes([2 | 4 | 16, 0, 0, 0x92]) + LINES.encode(),
    "two-pieces-skip.bin": bytes([1 | 8, 2, 3, 0x30]) + LINES.encode(),
    "damaged-gz.bin": bytes([1 | 32, 0, 0, 0x20]) + LINES.encode() + gzip.compress(b"x\n")[:-6],
    "unterminated.bin": bytes([0, 0, 0, 0]) + LINES.encode() + b'{"type":"received"',
    "empty-lines.bin": bytes([0, 0, 0, 0]) + b"\n\n{}\n[]\n",
}

# ---- call_tracker: programs (see fuzz_call_tracker.c) ----

LEG = {name: i for i, name in enumerate("abcdefgh")}  # leg pool indices
EV = {"CREATE": 0, "PROGRESS": 1, "MEDIA": 2, "ANSWER": 3, "BRIDGE": 4, "UNBRIDGE": 5,
      "HANGUP": 6, "COMPLETE": 7, "STATE": 8}
CAUSE = {"NORMAL_CLEARING": 0, "USER_BUSY": 1, "NO_ANSWER": 2}


def ev(name, leg, step=50, call=None, other=None, other_type=None, loop=None, side=None,
       direction=None, numbers=None, created=None, answered=None, hungup=None, cause=None,
       domain=None):
    """One event of a program; times are seconds after T0 (0..63, 1.5 s steps)."""
    f1 = f2 = 0
    tail = []
    if call is not None:
        f1 |= 1
        tail += [LEG[call]]
    if other is not None:
        f1 |= 2
        tail += [LEG[other], {"originator": 0, "originatee": 1, None: 2}[other_type]]
    if loop is not None:
        f1 |= 4
        tail += [LEG[loop], {"A": 0, "B": 1}[side]]
    if direction is not None:
        f1 |= 32
        tail += [{"inbound": 0, "outbound": 1}[direction]]
    if numbers is not None:
        f1 |= 64
        tail += list(numbers)
    for bit, t in ((1, created), (2, answered), (4, hungup)):
        if t is not None:
            f2 |= bit
            tail += [5 + (int(t / 1.5) << 3), 0]
    if cause is not None:
        f2 |= 16
        tail += [CAUSE[cause], CAUSE[cause]]
    if domain is not None:
        f2 |= 32
        tail += [0, domain]  # variable_domain_name, domains[domain]
    return [EV[name], LEG[leg], f1, f2] + tail + [step]


def program(opt, *events):
    out = [opt, 0]
    for e in events:
        out += e
    return bytes(out)


LIVE = 8  # options bit: live records on


def answered_single(leg, created=0):
    return [ev("CREATE", leg, direction="inbound", numbers=(0, 1), created=created, domain=0),
            ev("ANSWER", leg, answered=created + 3),
            ev("HANGUP", leg, hungup=created + 10, cause="NORMAL_CLEARING"),
            ev("COMPLETE", leg, hungup=created + 10, cause="NORMAL_CLEARING")]


PROGRAMS = {
    "single-answered.bin": program(LIVE | 0xf0, *answered_single("a")),
    "single-busy-tz.bin": program(2 | LIVE | 0x30,
                                  ev("CREATE", "a", numbers=(0, 2), created=0, domain=2),
                                  ev("PROGRESS", "a"),
                                  ev("HANGUP", "a", cause="USER_BUSY"),
                                  ev("COMPLETE", "a", cause="USER_BUSY")),
    "loopback-bridged.bin": program(
        LIVE | 4 | 0x70,
        ev("CREATE", "a", direction="outbound", numbers=(0, 1), created=0),
        ev("CREATE", "b", loop="a", side="B", direction="inbound", numbers=(0, 1), created=0),
        ev("PROGRESS", "b", call="a"),
        ev("ANSWER", "b", answered=1.5, loop="a", side="B"),
        ev("ANSWER", "a", answered=1.5),
        ev("BRIDGE", "a", other="c", other_type="originatee"),
        ev("HANGUP", "c", cause="NORMAL_CLEARING", hungup=9),
        ev("HANGUP", "a", cause="NORMAL_CLEARING", hungup=9),
        ev("COMPLETE", "b", hungup=9), ev("COMPLETE", "a", hungup=9),
        ev("COMPLETE", "c", hungup=9)),
    "merge.bin": program(
        LIVE | 0xf0,
        ev("CREATE", "a", numbers=(0, 1), created=0, domain=0),
        ev("CREATE", "d", numbers=(3, 4), created=1.5, domain=1),
        ev("ANSWER", "a", answered=3), ev("ANSWER", "d", answered=3),
        ev("BRIDGE", "d", other="a", other_type="originator"),
        ev("HANGUP", "a", cause="NORMAL_CLEARING"), ev("COMPLETE", "a"),
        ev("HANGUP", "d"), ev("COMPLETE", "d")),
    "evict-and-expire.bin": program(
        LIVE | 0x10,  # max_calls 2
        ev("CREATE", "a", created=0), ev("CREATE", "b", created=0), ev("CREATE", "c", created=0),
        ev("ANSWER", "c"), [0xff, 70], ev("CREATE", "e", created=45), [0xff, 255]),
    "late-events.bin": program(
        0xf0, *answered_single("a"), ev("HANGUP", "a"), ev("COMPLETE", "a"), ev("CREATE", "a")),
}


def esl_frames(data):
    """Splits a capture into frames (headers, blank line, Content-Length body)."""
    frames, i = [], 0
    while i < len(data):
        end = data.find(b"\n\n", i)
        if end < 0:
            break
        head = data[i:end + 2]
        m = re.search(rb"(?im)^Content-Length: *(\d+)", head)
        n = int(m.group(1)) if m else 0
        frames.append(data[i:end + 2 + n])
        i = end + 2 + n
    return frames


# Headers the call tracker and esl_domain read; the rest is left out of its captures.
TRACKER_HEADERS = re.compile(
    rb"^(Event-Name|Unique-ID|Channel-Call-UUID|Other-Leg-Unique-ID|Other-Type|Call-Direction|"
    rb"Caller-(Caller-ID|Orig-Caller-ID|Callee-ID|Destination)-Number|"
    rb"Caller-Channel-(Created|Answered|Hangup)-Time|Event-Date-Timestamp|Hangup-Cause|"
    rb"variable_(other_loopback_leg_uuid|loopback_leg|originator|other_loopback_from_uuid|"
    rb"channel_cid_flipped|sip_call_id|hotline|hangup_cause|sip_hangup_disposition|billsec|"
    rb"duration|sofia_profile_name|"
    rb"domain_name|dialed_domain|requested_domain_name|sip_req_host|sip_to_host|"
    rb"sip_from_host|presence_id)): ")


TRACKED = {b"CHANNEL_CREATE", b"CHANNEL_PROGRESS", b"CHANNEL_PROGRESS_MEDIA", b"CHANNEL_ANSWER",
           b"CHANNEL_BRIDGE", b"CHANNEL_UNBRIDGE", b"CHANNEL_HANGUP", b"CHANNEL_HANGUP_COMPLETE"}


def trimmed(frame):
    """A text/event-plain frame reduced to the tracker's headers (or None)."""
    head, _, body = frame.partition(b"\n\n")
    if b"text/event-plain" not in head:
        return None
    lines = [ln for ln in body.split(b"\n") if TRACKER_HEADERS.match(ln)]
    names = [ln for ln in lines if ln.startswith(b"Event-Name: ")]
    if not names or names[0][12:] not in TRACKED:
        return None
    inner = b"\n".join(lines) + b"\n\n"
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner


def main():
    for name, body in EVENTS.items():
        put("event", name, body)

    for name in ("minimal.yaml", "go_forwarder.yaml"):
        shutil.copy(os.path.join(FIXTURES, name), os.path.join(CORPUS, "config", name))
    shutil.copy(os.path.join(ROOT, "config.yaml.example"),
                os.path.join(CORPUS, "config", "config.yaml.example"))
    for name, text in CONFIGS.items():
        put("config", name, text)

    for name, text in REQUESTS.items():
        put("http_params", name, text)
    for name, text in RECORDS.items():
        put("dlq_record", name, text)
    for name, data in LOGS.items():
        put("domain_log", name, data)
    for name, data in PROGRAMS.items():
        put("call_tracker", name, data)
    for name, data in RETRY_AFTERS.items():
        put("retry_after", name, data)
    for name, data in RETRY_RECORDS.items():
        put("retry_record", name, data)

    # ESL: each capture cut into pieces of whole frames (~8 KiB), with the mode byte
    # (0: 1 MiB cap, fed at once; 0x0e: fed in 7-byte pieces; 0x01: a 256-byte cap).
    for fn in sorted(os.listdir(os.path.join(FIXTURES, "esl"))):
        if not fn.endswith(".txt") or fn.endswith(".commands.txt"):
            continue
        with open(os.path.join(FIXTURES, "esl", fn), "rb") as f:
            frames = esl_frames(f.read())
        base = fn[:-len(".txt")]
        piece, pieces = b"", []
        for fr in frames:
            if piece and len(piece) + len(fr) > 8192:
                pieces.append(piece)
                piece = b""
            piece += fr
        pieces.append(piece)
        for k, p in enumerate(pieces[:6]):
            mode = (0x00, 0x0e, 0x01)[k % 3]
            put("esl", "%s.%d.bin" % (base, k), bytes([mode]) + p)
        # The call tracker: the capture's channel events, trimmed (mode byte 1: ESL).
        if "plain" in fn:
            events = b"".join(t for t in map(trimmed, frames) if t)
            put("call_tracker", "capture-%s.bin" % base, bytes([LIVE | 0xf0, 1]) + events)

    tz = os.path.join(FIXTURES, "tz", "slim")
    for region in sorted(os.listdir(tz)):
        for city in sorted(os.listdir(os.path.join(tz, region))):
            shutil.copy(os.path.join(tz, region, city),
                        os.path.join(CORPUS, "tzfile", "%s_%s" % (region, city)))


if __name__ == "__main__":
    for t in ("event", "config", "http_params", "dlq_record", "domain_log", "esl", "tzfile",
              "call_tracker", "retry_after", "retry_record"):
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    main()
