"""
natsclient — a minimal NATS protocol client in pure Python, for the integration tests.

It speaks just enough of the client protocol (INFO, CONNECT, PING/PONG, PUB, HPUB, SUB,
UNSUB, MSG, HMSG, -ERR) to call the JetStream API with request/reply and to publish
into a stream. One reader thread owns the socket's receive side; writers take a lock.
Everything that waits takes a timeout: a test must never hang on a dead broker.

It is a test tool, not a general client: no TLS, user/password as the only
authentication, no reconnect (make a new NatsClient after a broker restart).
"""

import base64
import itertools
import json
import os
import queue
import socket
import threading
import time

__all__ = ["NatsClient", "NatsError", "JetStreamError", "NoResponders", "Msg"]


class NatsError(Exception):
    pass


class NoResponders(NatsError):
    """The server answered a request with a 503 status: nobody listens on the subject."""


class JetStreamError(NatsError):
    """A JetStream API call answered with {"error": {...}}."""

    def __init__(self, subject, error):
        self.subject = subject
        self.error = error or {}
        self.code = self.error.get("code")
        self.err_code = self.error.get("err_code")
        super().__init__("%s: %s" % (subject, json.dumps(error)))


class Msg:
    __slots__ = ("subject", "reply", "headers", "status", "data")

    def __init__(self, subject, reply, headers, status, data):
        self.subject = subject
        self.reply = reply
        self.headers = headers  # dict name -> list of values (names as sent)
        self.status = status    # int status from "NATS/1.0 503" or None
        self.data = data        # bytes

    def header(self, name):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v[0] if v else None
        return None

    def json(self):
        return json.loads(self.data)

    def __repr__(self):
        return "Msg(subject=%r, reply=%r, status=%r, headers=%r, data=%r)" % (
            self.subject, self.reply, self.status, self.headers, self.data[:200])


def parse_headers(block):
    """Parses a NATS header block (b"NATS/1.0[ status[ text]]\\r\\nK: V\\r\\n\\r\\n")."""
    text = block.decode("utf-8", "replace")
    lines = text.split("\r\n")
    status = None
    first = lines[0]
    parts = first.split(" ", 2)
    if len(parts) >= 2 and parts[1].strip().isdigit():
        status = int(parts[1].strip())
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        headers.setdefault(k.strip(), []).append(v.strip())
    return status, headers


def encode_headers(headers):
    out = "NATS/1.0\r\n"
    for k, v in (headers or {}).items():
        values = v if isinstance(v, (list, tuple)) else [v]
        for one in values:
            out += "%s: %s\r\n" % (k, one)
    out += "\r\n"
    return out.encode("utf-8")


class NatsClient:
    def __init__(self, host="127.0.0.1", port=4222, timeout=5.0, name="eventhub-tests", user=None,
                 password=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._wlock = threading.Lock()
        self._buf = bytearray()
        self._sids = itertools.count(1)
        self._subs = {}           # sid -> callable(Msg) or queue.Queue
        self._subs_lock = threading.Lock()
        self._pongs = queue.Queue()
        self._closed = threading.Event()
        self.errors = []           # -ERR lines seen
        self.server_info = None

        line = self._read_line_blocking()
        if not line.startswith(b"INFO "):
            raise NatsError("expected INFO, got %r" % line)
        self.server_info = json.loads(line[5:])
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "name": name, "lang": "python-test", "version": "0.1"}
        if user is not None:
            connect.update({"user": user, "pass": password or ""})
        self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
        self._inbox_prefix = "_INBOX.%s" % os.urandom(8).hex()
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, name="nats-reader", daemon=True)
        self._reader.start()
        self.flush()

    # --- socket plumbing -------------------------------------------------------------

    def _read_line_blocking(self):
        while b"\r\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise NatsError("connection closed during handshake")
            self._buf += chunk
        i = self._buf.index(b"\r\n")
        line = bytes(self._buf[:i])
        del self._buf[:i + 2]
        return line

    def _send(self, data):
        with self._wlock:
            if self._closed.is_set():
                raise NatsError("connection closed")
            self._sock.sendall(data)

    def _read_exact_from_buf(self, n):
        while len(self._buf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise NatsError("connection closed")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _next_line(self):
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self._buf[:i])
                del self._buf[:i + 2]
                return line
            chunk = self._sock.recv(65536)
            if not chunk:
                raise NatsError("connection closed")
            self._buf += chunk

    def _read_loop(self):
        try:
            while not self._closed.is_set():
                line = self._next_line()
                if line.startswith(b"MSG ") or line.startswith(b"HMSG "):
                    self._on_msg(line)
                elif line == b"PING":
                    self._send(b"PONG\r\n")
                elif line == b"PONG":
                    self._pongs.put(True)
                elif line.startswith(b"-ERR"):
                    self.errors.append(line.decode("utf-8", "replace"))
                elif line.startswith(b"INFO ") or line == b"+OK" or not line:
                    pass
        except (OSError, NatsError):
            pass
        finally:
            self._closed.set()
            self._pongs.put(False)

    def _on_msg(self, line):
        parts = line.decode("utf-8").split(" ")
        if parts[0] == "MSG":
            # MSG <subject> <sid> [reply] <size>
            subject, sid = parts[1], int(parts[2])
            reply = parts[3] if len(parts) == 5 else None
            size = int(parts[-1])
            payload = self._read_exact_from_buf(size + 2)[:-2]
            status, headers, data = None, {}, payload
        else:
            # HMSG <subject> <sid> [reply] <hdr size> <total size>
            subject, sid = parts[1], int(parts[2])
            reply = parts[3] if len(parts) == 6 else None
            hsize, total = int(parts[-2]), int(parts[-1])
            payload = self._read_exact_from_buf(total + 2)[:-2]
            status, headers = parse_headers(payload[:hsize])
            data = payload[hsize:]
        msg = Msg(subject, reply, headers, status, data)
        with self._subs_lock:
            target = self._subs.get(sid)
        if target is None:
            return
        if isinstance(target, queue.Queue):
            target.put(msg)
        else:
            try:
                target(msg)
            except Exception:  # a test callback must not kill the reader
                pass

    # --- public API ------------------------------------------------------------------

    @property
    def closed(self):
        return self._closed.is_set()

    def close(self):
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def flush(self, timeout=None):
        """Round trip PING/PONG: everything sent before has been processed by the server."""
        timeout = self.timeout if timeout is None else timeout
        self._send(b"PING\r\n")
        try:
            ok = self._pongs.get(timeout=timeout)
        except queue.Empty:
            raise NatsError("no PONG within %.1fs" % timeout)
        if not ok:
            raise NatsError("connection closed")

    def subscribe(self, subject, cb=None, queue_group=None):
        """Returns (sid, queue). With cb, messages go to cb(msg) on the reader thread."""
        sid = next(self._sids)
        target = cb if cb is not None else queue.Queue()
        with self._subs_lock:
            self._subs[sid] = target
        q = " %s" % queue_group if queue_group else ""
        self._send(("SUB %s%s %d\r\n" % (subject, q, sid)).encode())
        return sid, (None if cb is not None else target)

    def unsubscribe(self, sid):
        with self._subs_lock:
            self._subs.pop(sid, None)
        if not self.closed:
            self._send(("UNSUB %d\r\n" % sid).encode())

    def publish(self, subject, data=b"", reply=None, headers=None):
        if isinstance(data, str):
            data = data.encode("utf-8")
        r = (" " + reply) if reply else ""
        if headers is None:
            self._send(("PUB %s%s %d\r\n" % (subject, r, len(data))).encode() + data + b"\r\n")
        else:
            h = encode_headers(headers)
            self._send(("HPUB %s%s %d %d\r\n" % (subject, r, len(h), len(h) + len(data))).encode()
                       + h + data + b"\r\n")

    def request(self, subject, data=b"", headers=None, timeout=None):
        """Request/reply on a unique inbox. Raises NoResponders or NatsError on timeout."""
        timeout = self.timeout if timeout is None else timeout
        inbox = "%s.%s" % (self._inbox_prefix, os.urandom(6).hex())
        sid, q = self.subscribe(inbox)
        try:
            self.publish(subject, data, reply=inbox, headers=headers)
            try:
                msg = q.get(timeout=timeout)
            except queue.Empty:
                raise NatsError("request to %s timed out after %.1fs" % (subject, timeout))
        finally:
            self.unsubscribe(sid)
        if msg.status == 503:
            raise NoResponders("no responders for %s" % subject)
        return msg

    # --- JetStream -------------------------------------------------------------------

    def js_api(self, subject, body=None, timeout=None):
        data = b"" if body is None else json.dumps(body).encode()
        msg = self.request("$JS.API." + subject, data, timeout=timeout)
        resp = json.loads(msg.data) if msg.data else {}
        if "error" in resp:
            raise JetStreamError(subject, resp["error"])
        return resp

    def account_info(self):
        return self.js_api("INFO")

    def stream_names(self):
        return self.js_api("STREAM.NAMES", {}).get("streams") or []

    def stream_info(self, name):
        return self.js_api("STREAM.INFO." + name)

    def stream_create(self, config):
        cfg = {"retention": "limits", "storage": "file", "num_replicas": 1, "discard": "old"}
        cfg.update(config)
        return self.js_api("STREAM.CREATE." + cfg["name"], cfg)

    def stream_delete(self, name):
        return self.js_api("STREAM.DELETE." + name)

    def consumer_info(self, stream, name):
        return self.js_api("CONSUMER.INFO.%s.%s" % (stream, name))

    def consumer_names(self, stream):
        return self.js_api("CONSUMER.NAMES." + stream, {}).get("consumers") or []

    def get_msg(self, stream, seq):
        """Returns {"subject", "seq", "data" (bytes), "headers" (dict), "time"}.
        Raises JetStreamError (code 404) when there is no message at seq."""
        resp = self.js_api("STREAM.MSG.GET." + stream, {"seq": int(seq)})
        m = resp["message"]
        headers = {}
        if m.get("hdrs"):
            _, headers = parse_headers(base64.b64decode(m["hdrs"]))
        return {"subject": m["subject"], "seq": m["seq"],
                "data": base64.b64decode(m.get("data") or ""),
                "headers": headers, "time": m.get("time")}

    def msgs(self, stream):
        """Every message currently in the stream, in order (deleted sequences skipped)."""
        st = self.stream_info(stream)["state"]
        out = []
        if st.get("messages", 0) == 0:
            return out
        for seq in range(st["first_seq"], st["last_seq"] + 1):
            try:
                out.append(self.get_msg(stream, seq))
            except JetStreamError as e:
                if e.code == 404:
                    continue
                raise
        return out

    def last_msg(self, stream):
        st = self.stream_info(stream)["state"]
        if st.get("messages", 0) == 0:
            return None
        return self.get_msg(stream, st["last_seq"])

    def publish_js(self, subject, data=b"", headers=None, timeout=None):
        """Publishes into a stream and returns the pub ack ({"stream", "seq", ...})."""
        msg = self.request(subject, data, headers=headers if headers else None, timeout=timeout)
        resp = json.loads(msg.data) if msg.data else {}
        if "error" in resp:
            raise JetStreamError(subject, resp["error"])
        return resp


def wait_connect(host, port, timeout=10.0, user=None, password=None):
    """A NatsClient connected to host:port, retrying while the server comes up."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            return NatsClient(host, port, user=user, password=password)
        except (OSError, NatsError) as e:
            last = e
            time.sleep(0.05)
    raise NatsError("cannot connect to %s:%d: %s" % (host, port, last))
