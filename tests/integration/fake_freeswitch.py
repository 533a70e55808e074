"""
fake_freeswitch — a scripted FreeSWITCH mod_event_socket (inbound mode) for the tests.

The peer eventhub's ESL client talks to. A TCP server on 127.0.0.1:<free port>; one
thread per connection reads and records every command (so a test can assert the auth
line, the event subscription, the filters) and answers it the way FreeSWITCH 1.10/1.11
does; a second thread per connection runs that connection's script.

Protocol, as FreeSWITCH speaks it (every frame is "Name: value" lines, an empty line,
then Content-Length bytes of body when that header is present):

    fs → Content-Type: auth/request
    ←  auth ClueCon
    fs → Content-Type: command/reply / Reply-Text: +OK accepted
         (wrong password: Reply-Text: -ERR invalid, then text/disconnect-notice, close)
    ←  event plain CHANNEL_CREATE ... HEARTBEAT      (or "event json ...", or ALL)
    fs → Reply-Text: +OK event listener enabled plain
    ←  filter Event-Name CHANNEL_ANSWER
    fs → Reply-Text: +OK filter added. [Event-Name]=[CHANNEL_ANSWER]
    ←  log debug
    fs → Reply-Text: +OK log level debug [7]
    fs → Content-Length: N / Content-Type: text/event-plain   (then N bytes) ...

Like FreeSWITCH, the fake only sends events the connection subscribed to and, when
filters were added, only events matching one of them (emulate=False sends everything).
It parses "event" like mod_event_socket: every word after CUSTOM is a subclass name.
Every connection's commands and what was sent are in fake.dump() (printed by a failing
test); FAKEFS_VERBOSE=1 traces them live on stderr.

Scripts. Each connection runs a list of actions (FakeFreeSwitch(script=...) for every
connection, .script_for(i, ...) for the i-th, 0-based). By default the script starts once
the connection has subscribed (after "+OK event listener enabled"); Spec(start="auth")
starts it after the auth reply and Spec(start="connect") at once, before any auth/request
(e.g. a rude rejection). When its actions are done the connection stays open and keeps
answering commands; a test can push more actions onto a live connection (conn.push or
fake.push). Actions: Replay (a fixture's events, optionally in chunks of N bytes, one byte
at a time, cut at awkward places, pausing after an event until a gate is released),
Send (raw bytes), Heartbeat, LogData, DisconnectNotice, RudeRejection, Garbage, CloseMidFrame,
Close, Silence (stop writing anything, even command replies, but keep the socket open),
WaitGate, WaitCommand, Call (any callable(conn)).

Fixtures: Fixture("answered-call.plain.txt") splits a capture from tests/unit/fixtures/esl
into frames by Content-Length framing; .events are the event frames (the capture's own
auth/request, command replies and final disconnect notice are left out). A fixture's
events carry fixed Core-UUID / Event-Sequence values, so replaying one twice gives the
same ids; .distinct(n) rewrites every UUID of the call and shifts Event-Sequence so the
result is a different call (Content-Length is recomputed); .rewrite() replaces bytes
(e.g. the domain) and shifts the call's times. make_event() builds an event frame from
scratch (e.g. a CUSTOM event).

EslClient is a small inbound ESL client used to test the fake itself.

Python 3 standard library only; every wait takes a deadline.
"""

import json
import os
import queue
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(os.path.dirname(HERE), "unit", "fixtures", "esl")

DEFAULT_EVENTS = ["CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER",
                  "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
                  "HEARTBEAT"]

DISCONNECT_BODY = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
RUDE_BODY = b"Access Denied, go away.\n"
_EPOCH_US_RE = re.compile(rb"(?<![0-9])17[0-9]{14}(?![0-9])")  # 2023..2033 in µs
_EPOCH_S_RE = re.compile(rb"(?<![0-9])17[0-9]{8}(?![0-9])")    # ... and in seconds
UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ProtocolError(Exception):
    pass


# --- frames -------------------------------------------------------------------------

def _parse_header_block(block):
    """b"A: 1\\nB: 2" -> [("A", "1"), ("B", "2")] (values as written, not decoded)."""
    out = []
    for line in block.split(b"\n"):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError("header line without ':': %r" % line[:80])
        out.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
    return out


def build_frame(headers, body=None):
    """A frame from [(name, value)] and an optional body; Content-Length is set (or
    replaced, in place) to len(body), or removed when there is no body."""
    out = []
    have_len = False
    for k, v in headers:
        if k.lower() == "content-length":
            if body is None:
                continue
            v = str(len(body))
            have_len = True
        out.append("%s: %s\n" % (k, v))
    if body is not None and not have_len:
        out.insert(0, "Content-Length: %d\n" % len(body))
    return "".join(out).encode("latin-1") + b"\n" + (body or b"")


class Frame:
    """One Event Socket frame: outer headers, body, and (for events) the event headers."""

    def __init__(self, raw):
        self.raw = bytes(raw)
        end = self.raw.find(b"\n\n")
        if end < 0:
            raise ProtocolError("frame without a blank line")
        self.header_end = end + 2
        self.headers = _parse_header_block(self.raw[:end])
        n = self.get("Content-Length")
        self.body = self.raw[self.header_end:self.header_end + int(n)] if n is not None else None
        self._event = None

    def get(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def content_type(self):
        return self.get("Content-Type") or ""

    @property
    def reply_text(self):
        return self.get("Reply-Text")

    @property
    def is_event(self):
        return self.content_type in ("text/event-plain", "text/event-json")

    @property
    def format(self):
        return {"text/event-plain": "plain", "text/event-json": "json"}.get(self.content_type)

    @property
    def event(self):
        """The event's headers as [(name, value)] (decoded), duplicates kept, plus
        ("_body", text) when the event has a body of its own. None for non-events."""
        if self._event is None and self.is_event:
            self._event = parse_event_body(self.body, self.format)
        return self._event

    def event_get(self, name):
        for k, v in self.event or ():
            if k.lower() == name.lower():
                return v
        return None

    @property
    def event_name(self):
        return self.event_get("Event-Name") if self.is_event else None

    @property
    def unique_id(self):
        return self.event_get("Unique-ID")

    @property
    def core_uuid(self):
        return self.event_get("Core-UUID")

    @property
    def sequence(self):
        return self.event_get("Event-Sequence")

    @property
    def event_id(self):
        """eventhub's id for this raw event: <Core-UUID>:<Event-Sequence>."""
        return "%s:%s" % (self.core_uuid, self.sequence)

    def with_body(self, body):
        return Frame(build_frame(self.headers, body))

    def __repr__(self):
        if self.is_event:
            return "Frame(%s %s %s seq=%s, %d bytes)" % (self.content_type, self.event_name,
                                                        self.unique_id or "-", self.sequence,
                                                        len(self.raw))
        return "Frame(%s %r, %d bytes)" % (self.content_type, self.reply_text, len(self.raw))


def parse_event_body(body, fmt):
    if fmt == "json":
        # values as FreeSWITCH sent them: strings, or lists for array headers
        return list(json.loads(body.decode("utf-8"), object_pairs_hook=lambda p: p))
    head, sep, rest = body.partition(b"\n\n")
    out = []
    for k, v in _parse_header_block(head):
        out.append((k, urllib.parse.unquote(v, encoding="utf-8", errors="replace")))
    n = next((v for k, v in out if k.lower() == "content-length"), None)
    if n is not None:
        out.append(("_body", rest[:int(n)].decode("utf-8", "replace")))
    return out


class FrameReader:
    """Incremental ESL framing: feed() bytes in any split, get the completed frames."""

    def __init__(self, max_frame=16 << 20):
        self.buf = bytearray()
        self.max_frame = max_frame
        self.error = None

    def feed(self, data):
        """The frames completed by data. A protocol error is raised once the frames
        before it have been returned (on this call when there are none, else the next)."""
        if self.error is not None:
            raise self.error
        self.buf += data
        out = []
        try:
            self._parse(out)
        except ProtocolError as e:
            self.error = e
            if not out:
                raise
        return out

    def _parse(self, out):
        while True:
            end = self.buf.find(b"\n\n")
            if end < 0:
                if len(self.buf) > self.max_frame:
                    raise ProtocolError("header block too long")
                return
            headers = _parse_header_block(bytes(self.buf[:end]))
            n = next((v for k, v in headers if k.lower() == "content-length"), None)
            if n is not None and not n.isdigit():
                raise ProtocolError("bad Content-Length %r" % n)
            total = end + 2 + (int(n) if n is not None else 0)
            if total > self.max_frame:
                raise ProtocolError("frame too large")
            if len(self.buf) < total:
                return
            out.append(Frame(bytes(self.buf[:total])))
            del self.buf[:total]


def split_frames(data):
    """Every complete frame in data (bytes); trailing incomplete bytes raise."""
    r = FrameReader(max_frame=len(data) + 1)
    frames = r.feed(data)
    if r.buf:
        raise ProtocolError("%d trailing bytes after the last frame" % len(r.buf))
    return frames


def _set_event_header(frame, name, value):
    """A copy of an event frame with one event header's value replaced (first occurrence)."""
    body = frame.body
    if frame.format == "json":
        pat = re.compile(rb'("' + re.escape(name.encode()) + rb'"\s*:\s*")([^"]*)(")')
    else:
        pat = re.compile(rb"(?m)^(" + re.escape(name.encode()) + rb": )(.*)()$")
        value = urllib.parse.quote(value, safe="")
    new, n = pat.subn(lambda m: m.group(1) + value.encode() + m.group(3), body, count=1)
    if n != 1:
        raise ProtocolError("event has no %s header" % name)
    return frame.with_body(new)


# --- fixtures -----------------------------------------------------------------------

class Fixture:
    """A capture split into frames. `events` are its event frames, in order."""

    def __init__(self, name_or_frames, name=None):
        if isinstance(name_or_frames, str):
            path = name_or_frames if os.path.sep in name_or_frames else os.path.join(FIXTURE_DIR, name_or_frames)
            with open(path, "rb") as f:
                self.frames = split_frames(f.read())
            self.name = os.path.basename(path)
        else:
            self.frames = list(name_or_frames)
            self.name = name or "frames"
        self.events = [f for f in self.frames if f.is_event]
        fmts = {f.format for f in self.events}
        self.format = fmts.pop() if len(fmts) == 1 else None

    def __repr__(self):
        return "Fixture(%s, %d events)" % (self.name, len(self.events))

    def select(self, names):
        """The events whose Event-Name is in names (e.g. DEFAULT_EVENTS), in order."""
        return [f for f in self.events if f.event_name in set(names)]

    def first(self, event_name, unique_id=None):
        for f in self.events:
            if f.event_name == event_name and (unique_id is None or f.unique_id == unique_id):
                return f
        raise KeyError(event_name)

    def index_of(self, event_name, nth=0):
        """Index in .events of the nth (0-based) event with that name."""
        seen = 0
        for i, f in enumerate(self.events):
            if f.event_name == event_name:
                if seen == nth:
                    return i
                seen += 1
        raise KeyError("%s #%d" % (event_name, nth))

    @property
    def a_leg(self):
        """The Unique-ID of the calling leg: the first channel created."""
        return self.first("CHANNEL_CREATE").unique_id

    @property
    def leg_uuids(self):
        out = []
        for f in self.events:
            u = f.unique_id
            if u and u not in out:
                out.append(u)
        return out

    @property
    def signal_id(self):
        """The event_id of the call signal for this call."""
        return "call-%s-end" % self.a_leg

    @property
    def core_uuid(self):
        return self.events[0].core_uuid

    def heartbeat(self):
        return self.first("HEARTBEAT")

    def rewrite(self, replace=None, seq_offset=0, time_shift=0, name=None):
        """A new Fixture with byte replacements in every event body ({old: new}, bytes
        or str), Event-Sequence shifted by seq_offset, and every epoch timestamp (µs
        and s, e.g. Caller-Channel-Created-Time, variable_start_epoch) moved by
        time_shift seconds (the textual dates are left alone); lengths are recomputed."""
        reps = [(k.encode() if isinstance(k, str) else k, v.encode() if isinstance(v, str) else v)
                for k, v in (replace or {}).items()]
        frames = []
        for f in self.events:
            body = f.body
            for old, new in reps:
                body = body.replace(old, new)
            if time_shift:
                body = _EPOCH_US_RE.sub(lambda m: str(int(m.group(0)) + time_shift * 1000000).encode(), body)
                body = _EPOCH_S_RE.sub(lambda m: str(int(m.group(0)) + time_shift).encode(), body)
            g = f.with_body(body) if body != f.body else f
            if seq_offset and g.sequence is not None:
                g = _set_event_header(g, "Event-Sequence", str(int(g.sequence) + seq_offset))
            frames.append(g)
        return Fixture(frames, name=name or "%s*" % self.name)

    def distinct(self, n):
        """Call number n (n >= 1): the same call with new UUIDs for every leg (and the
        job), and Event-Sequence shifted by n * 100000, so its signal and raw event ids
        differ from the original's and from every other n."""
        core = self.core_uuid.encode()
        olds = []
        for f in self.events:
            for m in UUID_RE.findall(f.body):
                if m != core and m not in olds:
                    olds.append(m)
        reps = {}
        for old in olds:
            reps[old] = str(uuid.uuid5(uuid.NAMESPACE_OID, "%s/%d" % (old.decode(), n))).encode()
        return self.rewrite(reps, seq_offset=n * 100000, name="%s#%d" % (self.name, n))


_fixture_cache = {}


def fixture(name):
    if name not in _fixture_cache:
        _fixture_cache[name] = Fixture(name)
    return _fixture_cache[name]


# --- canned frames ------------------------------------------------------------------

def make_event(headers, fmt="plain", body=None):
    """An event frame from [(name, value)] (values unencoded) as FreeSWITCH writes it:
    plain — URL-encoded "Name: value" lines and an empty line (or, with a body, its own
    Content-Length, the empty line and the body); json — one object, "_body" last."""
    if fmt == "json":
        pairs = list(headers) + ([("_body", body)] if body is not None else [])
        text = "{" + ",".join("%s:%s" % (json.dumps(k), json.dumps(v)) for k, v in pairs) + "}"
        payload = text.encode()
        ctype = "text/event-json"
    else:
        lines = "".join("%s: %s\n" % (k, urllib.parse.quote(v, safe="")) for k, v in headers)
        if body is not None:
            b = body.encode()
            payload = (lines + "Content-Length: %d\n\n" % len(b)).encode() + b
        else:
            payload = (lines + "\n").encode()
        ctype = "text/event-plain"
    return Frame(build_frame([("Content-Length", "0"), ("Content-Type", ctype)], payload))


def auth_request():
    return b"Content-Type: auth/request\n\n"


def command_reply(text, extra=()):
    return build_frame([("Content-Type", "command/reply"), ("Reply-Text", text)] + list(extra))


def disconnect_notice():
    return build_frame([("Content-Type", "text/disconnect-notice"), ("Content-Length", "0")],
                       DISCONNECT_BODY)


def rude_rejection():
    return build_frame([("Content-Type", "text/rude-rejection"), ("Content-Length", "0")], RUDE_BODY)


_LOG_LEVELS = {"console": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4,
               "notice": 5, "info": 6, "debug": 7}


# --- actions ------------------------------------------------------------------------

class Action:
    def run(self, conn):
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__


class Replay(Action):
    """Sends a fixture's events (the ones the connection subscribed to and that pass
    its filters, unless emulate=False on the server).

    start/stop: a slice of fixture.events.
    chunk:  write the stream in pieces of this many bytes (1 = one byte at a time); the
            pieces ignore frame boundaries, so a write can end one frame and begin the next.
    cuts:   "awkward" — write each frame in pieces cut inside the first header line,
            inside the Content-Length value, between the two newlines that end the
            header block, in the middle of the body and one byte before the end.
    pace:   seconds between two writes (so the pieces reach the peer separately).
    frame_pace: seconds between two frames (each frame its own write), like a
            FreeSWITCH whose events trickle in rather than arrive in one burst.
    pause_after: an Event-Name (or a predicate(frame)); after the first event that
            matches, conn.paused is set and the replay waits until gate (a name) is
            released with fake.release(gate).
    """

    def __init__(self, fix, start=0, stop=None, chunk=None, cuts=None, pace=None,
                 pause_after=None, gate="resume", frame_pace=0.0):
        self.fix = fixture(fix) if isinstance(fix, str) else fix
        self.frame_pace = frame_pace
        self.start, self.stop = start, stop
        self.chunk, self.cuts = chunk, cuts
        self.pace = pace if pace is not None else (0.002 if cuts else 0.0)
        if isinstance(pause_after, str):
            name = pause_after
            self.pause_after = lambda f: f.event_name == name
        else:
            self.pause_after = pause_after
        self.gate = gate

    def __repr__(self):
        return "Replay(%s[%s:%s] chunk=%s cuts=%s)" % (self.fix.name, self.start, self.stop,
                                                       self.chunk, self.cuts)

    def run(self, conn):
        if self.fix.format and conn.format and self.fix.format != conn.format:
            raise ProtocolError("replaying %s events on a connection subscribed as %s"
                                % (self.fix.format, conn.format))
        pending = []
        paused = False
        for f in self.fix.events[self.start:self.stop]:
            if not conn.wants(f):
                continue
            if self.frame_pace and (pending or conn.sent):
                self._flush(conn, pending)
                pending = []
                time.sleep(self.frame_pace)  # pacing between frames, not a wait for a condition
            pending.append(f)
            if not paused and self.pause_after is not None and self.pause_after(f):
                paused = True
                self._flush(conn, pending)
                pending = []
                conn.paused.set()
                conn.wait_gate(self.gate)
                conn.paused.clear()
        self._flush(conn, pending)

    def _flush(self, conn, frames):
        if not frames:
            return
        if self.cuts == "awkward":
            for f in frames:
                conn.write_pieces(awkward_pieces(f), self.pace, frames=[f])
        elif self.chunk:
            data = b"".join(f.raw for f in frames)
            pieces = [data[i:i + self.chunk] for i in range(0, len(data), self.chunk)]
            conn.write_pieces(pieces, self.pace, frames=frames)
        else:
            conn.write_pieces([b"".join(f.raw for f in frames)], 0, frames=frames)


def awkward_pieces(frame):
    raw = frame.raw
    cut = {5, frame.header_end - 1, len(raw) - 1}
    i = raw.find(b"Content-Length: ")
    if 0 <= i < frame.header_end:
        cut.add(i + len(b"Content-Length: ") + 1)
        cut.add(i + 9)  # "Content-L|ength"
    if frame.body:
        cut.add(frame.header_end + len(frame.body) // 2)
        j = frame.body.find(b"\n", 10)
        if j > 0:
            cut.add(frame.header_end + j)      # a body line's end, its "\n" in the next piece
    pts = sorted(p for p in cut if 0 < p < len(raw))
    out, prev = [], 0
    for p in pts:
        out.append(raw[prev:p])
        prev = p
    out.append(raw[prev:])
    return out


class Send(Action):
    """Raw bytes, optionally in pieces of `chunk` bytes."""

    def __init__(self, data, chunk=None, pace=0.0):
        self.data, self.chunk, self.pace = data, chunk, pace

    def run(self, conn):
        d = self.data
        pieces = [d[i:i + self.chunk] for i in range(0, len(d), self.chunk)] if self.chunk else [d]
        conn.write_pieces(pieces, self.pace)


def log_data(text="State CS_EXECUTE going to sleep", level=4, uuid_="", file="switch_core_state_machine.c",
             line=459):
    """A log/data frame as mod_event_socket sends it once "log <level>" was asked for."""
    body = ("2026-11-21 10:32:27.123456 [WARNING] %s:%d %s\n" % (file, line, text)).encode()
    return build_frame([("Content-Type", "log/data"), ("Content-Length", "0"), ("Log-Level", str(level)),
                        ("Text-Channel", "3"), ("Log-File", file), ("Log-Func", "switch_core_session_run"),
                        ("Log-Line", str(line)), ("User-Data", uuid_)], body)


class LogData(Action):
    """One log/data frame (a FreeSWITCH log line)."""

    def __init__(self, text="State CS_EXECUTE going to sleep", level=4):
        self.text, self.level = text, level

    def run(self, conn):
        conn.write_pieces([log_data(self.text, self.level)])


class Heartbeat(Action):
    def run(self, conn):
        conn.send_heartbeat()


class DisconnectNotice(Action):
    """text/disconnect-notice with its body, then close (what FreeSWITCH does on exit,
    on a wrong password and on shutdown)."""

    def __init__(self, close=True):
        self.close = close

    def run(self, conn):
        conn.write_pieces([disconnect_notice()])
        if self.close:
            conn.close()


class RudeRejection(Action):
    """text/rude-rejection (an ACL refusal, sent instead of auth/request), then close."""

    def run(self, conn):
        conn.write_pieces([rude_rejection()])
        conn.close()


class Garbage(Action):
    """Bytes that are not a valid frame (default: a non-numeric Content-Length); the
    connection stays open (the client is expected to drop it)."""

    def __init__(self, data=b"Content-Length: abc\nContent-Type: text/event-plain\n\nxyz\n\n"):
        self.data = data

    def run(self, conn):
        conn.write_pieces([self.data])


class CloseMidFrame(Action):
    """Writes the first `at` bytes of a frame (default: half of it, inside the body)
    then closes the socket."""

    def __init__(self, frame, at=None):
        self.frame, self.at = frame, at

    def run(self, conn):
        raw = self.frame.raw
        at = self.at if self.at is not None else self.frame.header_end + len(self.frame.body or b"") // 2
        conn.write_pieces([raw[:at]])
        conn.close()


class Close(Action):
    def run(self, conn):
        conn.close()


class Silence(Action):
    """From now on the connection writes nothing (no events, no heartbeats, no command
    replies) but keeps the socket open and keeps reading: a dead peer."""

    def run(self, conn):
        conn.silent = True


class WaitGate(Action):
    def __init__(self, gate="resume"):
        self.gate = gate

    def run(self, conn):
        conn.paused.set()
        conn.wait_gate(self.gate)
        conn.paused.clear()


class WaitCommand(Action):
    """Waits (at most `timeout` s) until the connection received `count` commands
    starting with prefix (e.g. "filter ")."""

    def __init__(self, prefix, count=1, timeout=10.0):
        self.prefix, self.count, self.timeout = prefix, count, timeout

    def run(self, conn):
        conn.wait_command(self.prefix, self.count, self.timeout)


class Call(Action):
    def __init__(self, fn):
        self.fn = fn

    def run(self, conn):
        self.fn(conn)


class Spec:
    """A connection's script: actions and when they start ("subscribed" — after the
    event subscription was answered; "auth" — after +OK accepted; "connect" — at once,
    instead of the auth/request). password: overrides the server's for this connection."""

    def __init__(self, actions=(), start="subscribed", password=None):
        assert start in ("subscribed", "auth", "connect")
        self.actions = list(actions)
        self.start = start
        self.password = password


# --- the server ---------------------------------------------------------------------

class _Stop(Exception):
    pass


class _Done:
    """conn.script_done: is_set() once every action queued so far has run (or the script
    ended: closed connection, error); wait(timeout) for it."""

    def __init__(self, conn):
        self.conn = conn

    def is_set(self):
        c = self.conn
        with c._cv:
            return c._pending == 0 or c._script_ended

    def wait(self, timeout=None):
        c = self.conn
        deadline = None if timeout is None else time.monotonic() + timeout
        with c._cv:
            while not (c._pending == 0 or c._script_ended):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                c._cv.wait(0.1 if left is None else min(left, 0.1))
            return True


class Conn:
    """One accepted connection. Attributes tests read: index, commands (every command
    received, as text without the final blank line), auth_ok, format, events (the
    subscribed names), subclasses (CUSTOM subclasses), filters [(header, value)], sent (frames written), closed,
    peer_closed, paused, errors."""

    def __init__(self, server, sock, index, spec):
        self.server = server
        self.sock = sock
        self.index = index
        self.spec = spec
        self.commands = []
        self.auth_ok = None
        self.format = None
        self.events = set()
        self.subclasses = set()
        self.all_events = False
        self.filters = []
        self.log_level = None
        self.sent = []
        self.bytes_written = 0
        self.errors = []
        self.silent = False
        self.connected_at = time.monotonic()
        self.last_write_at = None
        self.closed = threading.Event()
        self.peer_closed = threading.Event()
        self.subscribed = threading.Event()
        self.paused = threading.Event()
        self._cv = threading.Condition()
        self._wlock = threading.Lock()
        self._actions = queue.Queue()
        self._pending = 0         # actions queued or running
        self._script_ended = False
        self.script_done = _Done(self)  # .is_set(): every action so far has run (or the script ended)
        for a in spec.actions:
            self._actions.put(a)
            self._pending += 1
        self._script_started = False

    def __repr__(self):
        return "Conn(#%d auth_ok=%s format=%s commands=%d sent=%d closed=%s)" % (
            self.index, self.auth_ok, self.format, len(self.commands), len(self.sent),
            self.closed.is_set())

    # -- writing --

    def write_pieces(self, pieces, pace=0.0, frames=()):
        """Writes the pieces in order (pace seconds apart), as one unit: command replies
        wait until they are all written. Raises _Stop when the socket is gone."""
        if self.closed.is_set():
            raise _Stop()
        if self.silent:
            return
        with self._wlock:
            for i, p in enumerate(pieces):
                if i and pace:
                    time.sleep(pace)  # pacing so the pieces reach the peer separately
                try:
                    self.sock.sendall(p)
                except OSError as e:
                    self._closed_by_error("write: %r" % (e,))
                    raise _Stop()
                self.bytes_written += len(p)
                self.last_write_at = time.monotonic()
        with self._cv:
            self.sent.extend(frames)
            self._cv.notify_all()

    def _reply(self, data):
        try:
            self.write_pieces([data])
        except _Stop:
            pass

    def send_heartbeat(self):
        fmt = self.format or "plain"
        tmpl = self.server.heartbeat_template(fmt)
        f = _set_event_header(tmpl, "Event-Sequence", str(self.server.next_seq()))
        self.write_pieces([f.raw], frames=[f])
        return f

    def _heartbeat_loop(self):
        # FreeSWITCH sends HEARTBEAT every 20 s; the fake every heartbeat_interval s.
        iv = self.server.heartbeat_interval
        while not self.closed.wait(iv) and not self.server.stopping.is_set():
            if self.silent or not self.wants(self.server.heartbeat_template(self.format or "plain")):
                continue
            try:
                self.send_heartbeat()
            except _Stop:
                return

    def close(self):
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        with self._cv:
            self._cv.notify_all()

    def _closed_by_error(self, why):
        self.errors.append(why)
        self.close()

    # -- subscription emulation --

    def wants(self, frame):
        if not self.server.emulate or not frame.is_event:
            return True
        # mod_event_socket: ALL gets everything; otherwise the Event-Name must be
        # subscribed and, for CUSTOM events with a subclass, the subclass too
        name = frame.event_name
        if not self.all_events:
            if name not in self.events:
                return False
            sub = frame.event_get("Event-Subclass")
            if name == "CUSTOM" and sub and sub not in self.subclasses:
                return False
        if self.filters:
            return any(frame.event_get(h) == v for h, v in self.filters)
        return True

    # -- scripting --

    def push(self, *actions):
        with self._cv:
            self._pending += len(actions)
        for a in actions:
            self._actions.put(a)

    def wait_gate(self, name):
        gate = self.server.gate(name)
        while not gate.wait(0.05):
            if self.closed.is_set() or self.server.stopping.is_set():
                raise _Stop()

    def wait_command(self, prefix, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while len([c for c in self.commands if c.startswith(prefix)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("conn #%d: no %d command(s) %r in %.1fs; got %r"
                                       % (self.index, count, prefix, timeout, self.commands))
                if self.closed.is_set():
                    raise _Stop()
                self._cv.wait(min(left, 0.1))
        return [c for c in self.commands if c.startswith(prefix)]

    def wait_sent(self, pred, timeout=10.0):
        """Waits until a frame matching pred(frame) was written."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not any(pred(f) for f in self.sent):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("conn #%d: frame not sent in %.1fs" % (self.index, timeout))
                self._cv.wait(min(left, 0.1))

    def _start_script(self):
        if self._script_started:
            return
        self._script_started = True
        threading.Thread(target=self._script_loop, name="fakefs-script-%d" % self.index,
                         daemon=True).start()

    def _script_loop(self):
        try:
            while not self.closed.is_set() and not self.server.stopping.is_set():
                try:
                    a = self._actions.get(timeout=0.05)
                except queue.Empty:
                    continue
                self.server._log("conn #%d: %r" % (self.index, a))
                try:
                    a.run(self)
                finally:
                    with self._cv:
                        self._pending -= 1
                        self._cv.notify_all()
        except _Stop:
            pass
        except Exception as e:  # noqa: BLE001 - a broken script is reported, not raised here
            self.errors.append("script: %r" % (e,))
            self.server._log("conn #%d: script error %r" % (self.index, e))
        finally:
            with self._cv:
                self._script_ended = True
                self._cv.notify_all()

    # -- reading --

    def _serve(self):
        try:
            if self.spec.start == "connect":
                self._start_script()
            else:
                self._reply(auth_request())
            buf = bytearray()
            while not self.closed.is_set():
                try:
                    data = self.sock.recv(65536)
                except OSError as e:
                    if not self.closed.is_set():
                        self.errors.append("read: %r" % (e,))
                    break
                if not data:
                    self.peer_closed.set()
                    break
                buf += data
                while True:
                    end = buf.find(b"\n\n")
                    if end < 0:
                        break
                    cmd = bytes(buf[:end]).decode("utf-8", "replace")
                    del buf[:end + 2]
                    self._on_command(cmd)
        finally:
            self.close()
            self.server._log("conn #%d closed (peer_closed=%s)" % (self.index, self.peer_closed.is_set()))

    def _on_command(self, cmd):
        with self._cv:
            self.commands.append(cmd)
            self._cv.notify_all()
        self.server._log("conn #%d <- %r" % (self.index, cmd[:200]))
        if self.spec.start == "connect" or self.silent:
            return  # the script owns the conversation / a dead peer answers nothing
        word, _, rest = cmd.strip().partition(" ")
        word = word.lower()
        if self.auth_ok is not True:
            if word != "auth":
                self._reply(command_reply("-ERR command not found"))
                return
            password = self.spec.password if self.spec.password is not None else self.server.password
            if rest == password:
                self.auth_ok = True
                self._reply(command_reply("+OK accepted"))
                if self.spec.start == "auth":
                    self._start_script()
            else:
                self.auth_ok = False
                self._reply(command_reply("-ERR invalid"))
                self._reply(disconnect_notice())
                self.close()
            return
        if word == "event":
            fmt, _, names = rest.partition(" ")
            fmt = fmt.lower()
            if fmt not in ("plain", "json", "xml"):
                self._reply(command_reply("-ERR invalid format"))
                return
            if self.format is not None and fmt != self.format:
                self.errors.append("event format changed from %s to %s" % (self.format, fmt))
            self.format = fmt
            # As mod_event_socket parses it: once CUSTOM was seen, every following word
            # is a subclass name ("event plain CUSTOM a::b HEARTBEAT" subscribes to the
            # subclass "HEARTBEAT", not to the HEARTBEAT event).
            custom = False
            for t in names.split():
                if custom:
                    self.subclasses.add(t)
                elif t.upper() == "ALL":
                    self.all_events = True
                else:
                    self.events.add(t.upper())
                    custom = t.upper() == "CUSTOM"
            self._reply(command_reply("+OK event listener enabled %s" % fmt))
            if not self.subscribed.is_set() and self.server.heartbeat_interval:
                threading.Thread(target=self._heartbeat_loop, name="fakefs-hb-%d" % self.index,
                                 daemon=True).start()
            self.subscribed.set()
            if self.spec.start == "subscribed":
                self._start_script()
        elif word == "filter":
            if rest.startswith("delete "):
                self._reply(command_reply("+OK filter deleted."))
                return
            h, _, v = rest.partition(" ")
            if not h or not v:
                self._reply(command_reply("-ERR invalid syntax"))
                return
            self.filters.append((h, v))
            self._reply(command_reply("+OK filter added. [%s]=[%s]" % (h, v)))
        elif word == "log":
            lvl = rest.strip().lower() or "debug"
            self.log_level = lvl
            self._reply(command_reply("+OK log level %s [%d]" % (lvl, _LOG_LEVELS.get(lvl, 7))))
        elif word == "nolog":
            self._reply(command_reply("+OK no longer logging"))
        elif word in ("noevents", "nixevent"):
            self._reply(command_reply("+OK events off" if word == "noevents" else "+OK"))
        elif word == "exit":
            self._reply(command_reply("+OK bye"))
            self._reply(disconnect_notice())
            self.close()
        elif word == "api":
            body = b"-ERR " + rest.encode() + b" Command not found!\n"
            self._reply(build_frame([("Content-Type", "api/response")], body))
        elif word == "bgapi":
            job = str(uuid.uuid4())
            self._reply(command_reply("+OK Job-UUID: " + job, [("Job-UUID", job)]))
        else:
            self._reply(command_reply("-ERR command not found"))


class FakeFreeSwitch:
    """The fake server. password: the one it accepts (can be changed at any time);
    script: the default actions (or a Spec) of every connection; emulate: send only
    subscribed/filtered events; heartbeat_interval: seconds between the HEARTBEAT events
    every subscribed connection gets (None: only on demand); port: 0 = a free one (give
    an earlier fake's port to play a FreeSWITCH that restarted)."""

    def __init__(self, password="ClueCon", script=None, emulate=True, name="fakefs", verbose=None,
                 heartbeat_interval=None, port=0):
        self.name = name
        self.heartbeat_interval = heartbeat_interval
        self.password = password
        self.emulate = emulate
        self.default_spec = self._as_spec(script)
        self._specs = {}
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self.connections = []
        self.stopping = threading.Event()
        self._gates = {}
        self._seq = 9000000
        self._templates = {}
        self._log_lines = []
        self.verbose = os.environ.get("FAKEFS_VERBOSE") is not None if verbose is None else verbose
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", port))
        self._lsock.listen(64)
        self._lsock.settimeout(0.05)
        self.host, self.port = self._lsock.getsockname()
        self._thread = threading.Thread(target=self._accept_loop, name="fakefs-accept", daemon=True)
        self._thread.start()

    @staticmethod
    def _as_spec(script):
        if script is None:
            return Spec([])
        if isinstance(script, Spec):
            return script
        return Spec(list(script))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _log(self, text):
        line = "%.3f %s" % (time.monotonic(), text)
        with self._lock:
            self._log_lines.append(line)
        if self.verbose:
            sys.stderr.write("[%s] %s\n" % (self.name, line))

    # -- scripting --

    def script_for(self, index, script):
        """The script of the index-th connection (0-based), instead of the default."""
        with self._lock:
            self._specs[index] = self._as_spec(script)

    def set_script(self, script):
        """The default script of connections accepted from now on."""
        with self._lock:
            self.default_spec = self._as_spec(script)

    def gate(self, name="resume"):
        with self._lock:
            g = self._gates.get(name)
            if g is None:
                g = self._gates[name] = threading.Event()
            return g

    def release(self, name="resume"):
        self.gate(name).set()

    def next_seq(self):
        with self._lock:
            self._seq += 1
            return self._seq

    def heartbeat_template(self, fmt):
        if fmt not in self._templates:
            src = "answered-call.json.txt" if fmt == "json" else "answered-call.plain.txt"
            self._templates[fmt] = fixture(src).heartbeat()
        return self._templates[fmt]

    # -- connections --

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                index = len(self.connections)
                spec = self._specs.get(index, self.default_spec)
                conn = Conn(self, sock, index, spec)
                self.connections.append(conn)
                self._cv.notify_all()
            self._log("conn #%d accepted" % index)
            threading.Thread(target=conn._serve, name="fakefs-conn-%d" % index, daemon=True).start()

    @property
    def connection_count(self):
        with self._lock:
            return len(self.connections)

    def conn(self, index=-1):
        with self._lock:
            return self.connections[index]

    def live(self):
        with self._lock:
            return [c for c in self.connections if not c.closed.is_set()]

    def wait_connections(self, n, timeout=10.0):
        """Waits until at least n connections were accepted; returns the n-th."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.connections) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s: %d connection(s) after %.1fs, wanted %d"
                                       % (self.name, len(self.connections), timeout, n))
                self._cv.wait(min(left, 0.1))
            return self.connections[n - 1]

    def wait_subscribed(self, n=1, timeout=10.0):
        """Waits until the n-th connection subscribed; returns it."""
        deadline = time.monotonic() + timeout
        c = self.wait_connections(n, timeout)
        if not c.subscribed.wait(max(0.0, deadline - time.monotonic())):
            raise TimeoutError("%s: connection #%d did not subscribe within %.1fs (commands %r)"
                               % (self.name, c.index, timeout, c.commands))
        return c

    def wait_authenticated(self, timeout=10.0):
        """Waits until some connection subscribed and is still open; returns the newest."""
        def find():
            with self._lock:
                ok = [c for c in self.connections if c.subscribed.is_set() and not c.closed.is_set()]
            return ok[-1] if ok else None
        deadline = time.monotonic() + timeout
        while True:
            c = find()
            if c is not None:
                return c
            if time.monotonic() >= deadline:
                raise TimeoutError("%s: no subscribed live connection within %.1fs" % (self.name, timeout))
            time.sleep(0.02)

    def push(self, *actions):
        """Appends actions to the newest live connection's script."""
        live = self.live()
        if not live:
            raise RuntimeError("no live connection")
        live[-1].push(*actions)
        return live[-1]

    def heartbeat(self):
        for c in self.live():
            if c.subscribed.is_set():
                try:
                    c.send_heartbeat()
                except _Stop:
                    pass

    def close(self):
        self.stopping.set()
        for g in list(self._gates.values()):
            g.set()
        try:
            self._lsock.close()
        except OSError:
            pass
        for c in list(self.connections):
            c.close()
        self._thread.join(timeout=2)

    def dump(self, out=sys.stderr, tail=60):
        out.write("----- fake FreeSWITCH %s (port %d): %d connection(s) -----\n"
                  % (self.name, self.port, len(self.connections)))
        for c in list(self.connections):
            out.write("  %r\n" % (c,))
            for cmd in c.commands:
                out.write("    <- %r\n" % (cmd[:200],))
            names = {}
            for f in c.sent:
                k = f.event_name or f.content_type
                names[k] = names.get(k, 0) + 1
            out.write("    sent: %r (%d bytes)\n" % (names, c.bytes_written))
            for e in c.errors:
                out.write("    error: %s\n" % (e,))
        with self._lock:
            lines = list(self._log_lines)
        for line in lines[-tail:]:
            out.write("  | %s\n" % line)


# --- a small inbound client (to test the fake) --------------------------------------

class EslClient:
    """A blocking inbound ESL client: connect, auth, subscribe, read frames."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = FrameReader()
        self.queue = []
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def read_frame(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not self.queue:
            if self.reader.error is not None:
                raise self.reader.error
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame within %.1fs" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                self.eof = True
                if self.reader.buf:
                    raise ProtocolError("EOF inside a frame (%d bytes)" % len(self.reader.buf))
                continue
            self.queue.extend(self.reader.feed(data))
        return self.queue.pop(0)

    def command(self, text, timeout=5.0):
        """Sends a command; returns the next command/reply or api/response frame
        (events arriving meanwhile are kept for read_frame)."""
        self.sock.sendall(text.encode() + b"\n\n")
        skipped = []
        try:
            while True:
                f = self.read_frame(timeout)
                if f is None:
                    return None
                if f.content_type in ("command/reply", "api/response"):
                    return f
                skipped.append(f)
        finally:
            self.queue[:0] = skipped

    def login(self, password="ClueCon"):
        f = self.read_frame()
        if f is None or f.content_type != "auth/request":
            raise ProtocolError("expected auth/request, got %r" % (f,))
        return self.command("auth " + password)

    def events(self, count, timeout=5.0):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            f = self.read_frame(max(0.01, deadline - time.monotonic()))
            if f is None:
                break
            if f.is_event:
                out.append(f)
        return out
