"""
harness — shared fixtures for eventhub's integration tests.

Every test runs the real eventhub binary (EVENTHUB_BIN, else build/cmd/eventhub/eventhub)
against its own real nats-server (own ports, own store dir) and real HTTP receivers in
this process. Nothing waits with a fixed sleep: wait_until() polls a condition with a
deadline. Every process started here is registered and killed at exit, even when a test
fails half-way; a failing test dumps the logs of everything it started.

Pieces:
  NatsServer  nats-server -js on free ports; stop/kill/restart on the same port and store.
  Receiver    a threading HTTP/1.1 server that records requests; scriptable status,
              delay and "hang until released".
  Eventhub    writes a YAML config, runs the binary, collects its JSON log lines, finds
              its port from the "listening on" line, and posts events.
  TestCase    unittest base class that owns the above and dumps logs on failure.

Running: `meson test -C build --suite integration` (each test_*.py is one meson test),
or one file directly: `EVENTHUB_BIN=build/cmd/eventhub/eventhub python3
tests/integration/test_retry.py [-k name]`. KEEP_TMP=1 keeps the temp dirs of passing
tests (failing ones are always kept and named in the dump).
"""

import atexit
import http.client
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natsclient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339_MS_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def eventhub_bin():
    path = os.environ.get("EVENTHUB_BIN") or os.path.join(REPO, "build", "cmd", "eventhub", "eventhub")
    if not os.access(path, os.X_OK):
        raise RuntimeError("eventhub binary not found at %s (set EVENTHUB_BIN)" % path)
    return path


# --- process registry: nothing outlives the test run -----------------------------------

_live_procs = set()
_live_lock = threading.Lock()
_extra_pids = set()   # pids we did not spawn directly but must not leak (embedded broker)


def _pdeathsig_prefix():
    """`setpriv --pdeathsig KILL --` when available: a child dies with this process even
    when it is SIGKILLed (atexit does not run then). It keeps the pid (setpriv execs)."""
    path = shutil.which("setpriv")
    if not path:
        return []
    try:
        ok = subprocess.run([path, "--pdeathsig", "KILL", "--", "true"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return [path, "--pdeathsig", "KILL", "--"] if ok else []


PDEATHSIG = _pdeathsig_prefix()


def _register(proc):
    with _live_lock:
        _live_procs.add(proc)


def _unregister(proc):
    with _live_lock:
        _live_procs.discard(proc)


def register_pid(pid):
    with _live_lock:
        _extra_pids.add(pid)


@atexit.register
def _kill_everything():
    with _live_lock:
        procs = list(_live_procs)
        pids = list(_extra_pids)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def pid_alive(pid):
    """True when the process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def child_pids(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    out.extend(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return sorted(set(out))


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


# --- small helpers -------------------------------------------------------------------

class WaitTimeout(AssertionError):
    pass


def wait_until(predicate, timeout=10.0, what="condition", interval=0.02):
    """Polls predicate() until it returns a truthy value (returned) or the deadline passes
    (AssertionError naming `what`). Exceptions from predicate count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - "not yet", kept for the message
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise WaitTimeout(msg)
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(method, url_host, port, path, body=None, headers=None, timeout=10.0):
    """One HTTP request on a fresh connection. Returns (status, headers(lower-case), body)."""
    conn = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, data
    finally:
        conn.close()


def raw_http(host, port, data, timeout=10.0, source=None):
    """Sends `data` (bytes: a whole request, exactly as given) on a fresh connection,
    optionally from the local address `source`, and reads one response. Returns a
    Response; status 0 and the bytes read when the server closed without a status line."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        try:
            s.sendall(data)
        except OSError:
            pass  # answered and closed before the whole request was sent: read the answer
        buf = b""
        while b"\r\n\r\n" not in buf:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return Response(0, {}, buf)
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = int(headers.get("content-length", "-1"))
        while want < 0 or len(body) < want:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                break
            body += chunk
        return Response(status, headers, body[:want] if want >= 0 else body)
    finally:
        s.close()


# --- YAML emitter (no PyYAML) ----------------------------------------------------------

def _yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, Raw):
        return v.text
    # JSON string escapes are valid YAML double-quoted escapes.
    return json.dumps(str(v), ensure_ascii=False)


class Raw:
    """A scalar written verbatim (e.g. an intentionally unquoted value)."""

    def __init__(self, text):
        self.text = text


def to_yaml(value, indent=0):
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        for k, v in value.items():
            key = k if re.match(r"^[A-Za-z_][A-Za-z0-9_\-]*$", k) else json.dumps(k)
            if isinstance(v, dict) and v:
                lines.append("%s%s:\n%s" % (pad, key, to_yaml(v, indent + 1)))
            elif isinstance(v, list) and v:
                lines.append("%s%s:\n%s" % (pad, key, to_yaml(v, indent + 1)))
            elif isinstance(v, dict):
                lines.append("%s%s: {}\n" % (pad, key))
            elif isinstance(v, list):
                lines.append("%s%s: []\n" % (pad, key))
            else:
                lines.append("%s%s: %s\n" % (pad, key, _yaml_scalar(v)))
        return "".join(lines)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 1)
                # put the first line of the nested block after "- "
                first, _, rest = sub.partition("\n")
                lines.append("%s- %s\n%s" % (pad, first.lstrip(), rest))
            elif isinstance(item, dict):
                lines.append("%s- {}\n" % pad)
            elif isinstance(item, list):
                lines.append("%s- []\n" % pad)
            else:
                lines.append("%s- %s\n" % (pad, _yaml_scalar(item)))
        return "".join(lines)
    return pad + _yaml_scalar(value) + "\n"


def deep_merge(base, extra):
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# --- nats-server ---------------------------------------------------------------------

class NatsServer:
    """A JetStream nats-server on free ports with its own store dir; with user and
    password, clients must authenticate (url stays without them: add them yourself)."""

    def __init__(self, tmpdir, name="nats", user=None, password=None):
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.store_dir = os.path.join(self.dir, "store")
        self.log_path = os.path.join(self.dir, "nats-server.log")
        self.port = None
        self.monitor_port = None
        self.proc = None
        self._client = None
        self.name = name
        self.user = user
        self.password = password

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def _args(self):
        args = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", self.store_dir,
                "-m", str(self.monitor_port)]
        if self.user is not None:
            args += ["--user", self.user, "--pass", self.password or ""]
        return args

    def _spawn(self):
        args = self._args()
        logf = open(self.log_path, "ab")
        logf.write(("=== start %s\n" % " ".join(args)).encode())
        logf.flush()
        self.proc = subprocess.Popen(PDEATHSIG + args, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        _register(self.proc)

    def healthy(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz?js-enabled-only=true"
                                        % self.monitor_port, timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.healthy():
                return True
            time.sleep(0.02)
        raise WaitTimeout("nats-server not healthy after %.1fs; log:\n%s" % (timeout, self.log_text()))

    def start(self, timeout=15.0):
        # Free ports are picked by binding port 0; another test may grab one in between,
        # so a start that dies at once is retried on fresh ports.
        for _ in range(5):
            self.port, self.monitor_port = free_port(), free_port()
            self._spawn()
            if self._wait_ready(timeout):
                return self
            _unregister(self.proc)
        raise RuntimeError("nats-server failed to start; log:\n" + self.log_text()[-3000:])

    def restart(self, timeout=15.0):
        """Starts again on the SAME ports and store dir (after stop() or kill())."""
        assert self.proc is None or self.proc.poll() is not None, "still running"
        deadline = time.monotonic() + timeout
        while True:
            self._spawn()
            if self._wait_ready(max(0.5, deadline - time.monotonic())):
                return self
            _unregister(self.proc)
            if time.monotonic() >= deadline:
                raise RuntimeError("nats-server restart failed; log:\n" + self.log_text()[-3000:])
            time.sleep(0.1)  # the old listener may linger for a moment

    def _drop_client(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def stop(self, timeout=10.0):
        self._drop_client()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            _unregister(self.proc)
        return self.proc.returncode if self.proc else None

    def kill(self):
        self._drop_client()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            _unregister(self.proc)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self):
        """A connected NatsClient (cached; replaced when its connection died)."""
        if self._client is None or self._client.closed:
            self._client = natsclient.wait_connect("127.0.0.1", self.port, user=self.user,
                                                   password=self.password)
        return self._client

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dump(self, out=sys.stderr, tail=80):
        lines = self.log_text().splitlines()
        out.write("----- nats-server %s (port %s) last %d lines -----\n" % (self.name, self.port, tail))
        for line in lines[-tail:]:
            out.write(line + "\n")


# --- HTTP receiver -------------------------------------------------------------------

class Request:
    __slots__ = ("index", "method", "path", "headers", "body", "time", "answer_time", "done_time",
                 "status", "client", "abandoned")

    def __init__(self, index, method, path, headers, body, t, client):
        self.index = index
        self.method = method
        self.path = path
        self.headers = headers  # dict, lower-case names
        self.body = body
        self.time = t
        self.answer_time = None  # when the response started to be written
        self.done_time = None    # when it was written
        self.status = None
        self.client = client
        self.abandoned = False  # the client closed the connection while it hung

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def event_id(self):
        return self.headers.get("x-event-id")

    @property
    def attempt(self):
        v = self.headers.get("x-delivery-attempt")
        return int(v) if v is not None and v.isdigit() else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Request(#%d %s %s attempt=%s id=%s status=%s)" % (
            self.index, self.method, self.path, self.headers.get("x-delivery-attempt"),
            self.event_id, self.status)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections do not pin a thread for ever

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _client_gone(self):
        """True when the peer has closed its side (EOF pending on the socket)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _handle(self):
        body = self._read_body()
        rcv = self.server.receiver
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = rcv._record(self.command, self.path, headers, body, self.client_address)
        status = rcv._decide(req)
        if rcv.delay:
            d = rcv.delay(req) if callable(rcv.delay) else rcv.delay
            if d:
                rcv._closing.wait(d)
        gate = rcv._hang_gate_for(req)
        while gate is not None and not gate.is_set() and not rcv._closing.is_set():
            gate.wait(0.05)
            if self._client_gone():
                req.abandoned = True  # the caller gave up (its timeout): no longer open
                self.close_connection = True
                return
        payload = b'{"ok":true}' if 200 <= status < 300 else b'{"error":"scripted"}'
        req.answer_time = time.monotonic()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            extra = rcv.answer_headers(req) if callable(rcv.answer_headers) else rcv.answer_headers
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        finally:
            rcv._complete(req, status)

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle
    do_DELETE = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that hung up (eventhub killed or timed out) is part of the tests.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Receiver:
    """A real HTTP/1.1 webhook receiver on 127.0.0.1:<free port>.

    status: int, a list (request i gets status[i], the last one repeats), or a callable
            (Request) -> int. Can be changed at any time (set_status).
    delay:  seconds (or callable(Request) -> seconds) before answering.
    hang:   hang() makes new requests wait until release() (or close()).
    """

    def __init__(self, status=200, delay=0.0, name="receiver", port=0):
        self.name = name
        self.status = status
        self.delay = delay
        self.answer_headers = None  # dict, or callable(request) -> dict: extra answer headers
        self._lock = threading.Lock()
        self._requests = []
        self._closing = threading.Event()
        self._hang = None  # threading.Event while hanging
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="receiver-%s" % name, daemon=True)
        self._thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # scripting
    def set_status(self, status):
        with self._lock:
            self.status = status

    def hang(self):
        with self._lock:
            self._hang = threading.Event()

    def release(self):
        with self._lock:
            gate, self._hang = self._hang, None
        if gate is not None:
            gate.set()

    def _hang_gate_for(self, req):
        with self._lock:
            return self._hang

    def _record(self, method, path, headers, body, client):
        with self._lock:
            req = Request(len(self._requests), method, path, headers, body, time.monotonic(), client)
            self._requests.append(req)
            return req

    def _decide(self, req):
        with self._lock:
            st = self.status
        if callable(st):
            return int(st(req))
        if isinstance(st, (list, tuple)):
            return int(st[min(req.index, len(st) - 1)])
        return int(st)

    def _complete(self, req, status):
        with self._lock:
            req.status = status
            req.done_time = time.monotonic()

    # inspection
    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    def count(self):
        with self._lock:
            return len(self._requests)

    def in_progress(self):
        with self._lock:
            return [r for r in self._requests if r.done_time is None and not r.abandoned]

    def bodies(self):
        return [r.body for r in self.requests]

    def requests_for(self, event_id):
        out = []
        for r in self.requests:
            if r.event_id == event_id:
                out.append(r)
                continue
            try:
                if r.json().get("event_id") == event_id:
                    out.append(r)
            except (ValueError, AttributeError):
                pass
        return out

    def event_ids(self):
        """event_id -> number of requests that carried it."""
        counts = {}
        for r in self.requests:
            counts[r.event_id] = counts.get(r.event_id, 0) + 1
        return counts

    def answered_2xx(self, event_id):
        return [r for r in self.requests_for(event_id) if r.status is not None and 200 <= r.status < 300]

    def wait_for(self, count, timeout=10.0, pred=None):
        """Waits until at least `count` requests (matching pred, if given) arrived."""
        def enough():
            reqs = [r for r in self.requests if pred is None or pred(r)]
            return reqs if len(reqs) >= count else None
        return wait_until(enough, timeout, "%s to receive %d request(s) (has %d)" % (
            self.name, count, self.count()))

    def close(self):
        self._closing.set()
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def dump(self, out=sys.stderr, tail=30):
        reqs = self.requests
        out.write("----- receiver %s (port %d): %d requests -----\n" % (self.name, self.port, len(reqs)))
        for r in reqs[-tail:]:
            out.write("  %r body=%r\n" % (r, r.body[:200]))


# --- eventhub ------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "headers", "json", "raw")

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return "Response(%d, %r, %r)" % (self.status, self.headers, self.raw[:300])


def base_config(nats_url, routes, **sections):
    """A test config: port 0, short backoffs and timeouts; sections deep-merge on top."""
    cfg = {
        "server": {"address": "127.0.0.1", "port": 0, "max_body_bytes": 1048576},
        "nats": {
            "url": nats_url,
            "stream_name": "EVENTS",
            "subject_pattern": "events.*",
            "ack_wait_seconds": 10,
            "max_deliveries": 5,
        },
        # No circuit breaker unless a test asks for one: with it, a run of failures
        # holds an endpoint's events back for its cool-down (tests of retries and dead
        # letters count on their backoff alone).
        "delivery": {"timeout": "3s", "connect_timeout": "1s",
                     "backoff": ["200ms", "200ms", "500ms"], "breaker": {"failures": 0}},
        "routes": routes,
    }
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = deep_merge(cfg[k], v)
        else:
            cfg[k] = v
    return cfg


class Eventhub:
    """The real eventhub binary with a config written from a dict (or raw YAML text)."""

    def __init__(self, tmpdir, config, name="eventhub", extra_args=(), log_level="debug"):
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.config = config
        self.config_path = os.path.join(self.dir, "eventhub.yaml")
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.write_config(config)
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self.logs = []          # every stderr line of every run: (run, text, parsed-or-None)
        self.logs_raw = []      # the same lines as bytes
        self.stdout = []
        self._logs_lock = threading.Lock()
        self._run = 0
        self._readers = []

    def write_config(self, config):
        self.config = config
        text = config if isinstance(config, str) else to_yaml(config)
        with open(self.config_path, "w") as f:
            f.write(text)

    # -- process lifecycle --

    def start(self, wait=True, timeout=20.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._run += 1
        self.port = None
        args = [eventhub_bin(), "-config", self.config_path, "-log-level", self.log_level] + self.extra_args
        self.proc = subprocess.Popen(PDEATHSIG + args, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _register(self.proc)
        run = self._run
        t1 = threading.Thread(target=self._reader, args=(self.proc.stderr, run, self.logs), daemon=True)
        t2 = threading.Thread(target=self._reader, args=(self.proc.stdout, run, self.stdout), daemon=True)
        t1.start()
        t2.start()
        self._readers = [t1, t2]
        if wait:
            self.wait_listening(timeout)
            self.wait_healthy(timeout)
        return self

    def _reader(self, stream, run, sink):
        for raw in iter(stream.readline, b""):
            if sink is self.logs:
                self.logs_raw.append(raw.rstrip(b"\n"))  # the bytes, for strict checks
            text = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                parsed = json.loads(text)
                if not isinstance(parsed, dict):
                    parsed = None
            except ValueError:
                parsed = None
            with self._logs_lock:
                sink.append((run, text, parsed))
        stream.close()

    def run_logs(self, run=None):
        """Parsed log lines (dicts) of the given run (default: the current one)."""
        run = self._run if run is None else run
        with self._logs_lock:
            return [p for (r, _, p) in self.logs if r == run and p is not None]

    def log_lines(self):
        with self._logs_lock:
            return [t for (_, t, _) in self.logs]

    def find_log(self, pred, run=None):
        return [l for l in self.run_logs(run) if pred(l)]

    def wait_log(self, pred, timeout=10.0, what="log line"):
        return wait_until(lambda: self.find_log(pred), timeout, what)

    def wait_listening(self, timeout=20.0):
        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("eventhub exited with %s before listening" % self.proc.returncode)
            for l in self.run_logs():
                msg = l.get("msg")
                if isinstance(msg, str) and msg.startswith("listening on "):
                    hostport = msg[len("listening on "):].strip()
                    return hostport
            return None
        deadline = time.monotonic() + timeout
        while True:
            try:
                hostport = listening()
            except AssertionError:
                time.sleep(0.2)  # let the reader thread collect the last lines for the dump
                raise
            if hostport:
                break
            if time.monotonic() >= deadline:
                raise WaitTimeout("eventhub did not log 'listening on' within %.1fs" % timeout)
            time.sleep(0.02)
        host, _, port = hostport.rpartition(":")
        self.port = int(port)
        if host and host not in ("0.0.0.0", "*", "[::]", "::"):
            self.host = host.strip("[]")
        return self.port

    def wait_healthy(self, timeout=20.0):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError("eventhub exited with %s" % self.proc.returncode)
            try:
                return self.health().status == 200
            except OSError:
                return False
        deadline = time.monotonic() + timeout
        while True:
            if ok():
                return
            if time.monotonic() >= deadline:
                raise WaitTimeout("eventhub /health not 200 within %.1fs" % timeout)
            time.sleep(0.05)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def wait_exit(self, timeout=20.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise WaitTimeout("eventhub did not exit within %.1fs" % timeout)

    def _finish(self):
        for t in self._readers:
            t.join(timeout=2)
        _unregister(self.proc)

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Sends sig and waits; returns the exit code (kills and fails after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._finish()
                raise WaitTimeout("eventhub did not exit within %.1fs of signal %d" % (timeout, sig))
        self._finish()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self._finish()

    def restart(self, wait=True, timeout=20.0):
        if self.running:
            self.stop()
        return self.start(wait=wait, timeout=timeout)

    # -- HTTP --

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        st, hdrs, data = http_request(method, self.host, self.port, path, body, headers, timeout)
        return Response(st, hdrs, data)

    def post_event(self, event, content_type="application/json", method="POST", path="/events",
                   headers=None, timeout=10.0):
        if isinstance(event, (bytes, bytearray)):
            body = bytes(event)
        elif isinstance(event, str):
            body = event.encode("utf-8")
        else:
            body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        h = dict(headers or {})
        if content_type is not None:
            h["Content-Type"] = content_type
        return self.request(method, path, body, h, timeout)

    def health(self, timeout=5.0):
        return self.request("GET", "/health", timeout=timeout)

    def dump(self, out=sys.stderr, tail=150):
        lines = self.log_lines()
        out.write("----- eventhub %s (pid %s, exit %s) last %d of %d log lines -----\n" % (
            self.name, self.proc.pid if self.proc else None,
            self.proc.returncode if self.proc else None, min(tail, len(lines)), len(lines)))
        for line in lines[-tail:]:
            out.write(line + "\n")
        with self._logs_lock:
            so = [t for (_, t, _) in self.stdout]
        if so:
            out.write("----- eventhub %s stdout -----\n" % self.name)
            for line in so[-tail:]:
                out.write(line + "\n")


# --- JSON raw member splitting (for byte-fidelity checks) ----------------------------

def _skip_ws(b, i):
    while i < len(b) and b[i] in b" \t\r\n":
        i += 1
    return i


def _scan_value(b, i):
    """Returns the index just past the JSON value starting at b[i]."""
    c = b[i:i + 1]
    if c == b'"':
        i += 1
        while True:
            ch = b[i:i + 1]
            if ch == b"\\":
                i += 2
            elif ch == b'"':
                return i + 1
            elif not ch:
                raise ValueError("unterminated string")
            else:
                i += 1
    if c in (b"{", b"["):
        depth = 0
        while i < len(b):
            ch = b[i:i + 1]
            if ch == b'"':
                i = _scan_value(b, i)
                continue
            if ch in (b"{", b"["):
                depth += 1
            elif ch in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unterminated container")
    j = i
    while j < len(b) and b[j:j + 1] not in (b",", b"}", b"]", b" ", b"\t", b"\r", b"\n"):
        j += 1
    return j


class StrictJSONError(ValueError):
    pass


def _no_duplicate_keys(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise StrictJSONError("duplicate key %r" % (k,))
        seen.add(k)
    return dict(pairs)


def _no_constant(name):
    raise StrictJSONError("%s is not JSON" % name)


def strict_json(data):
    """Parses bytes as RFC 8259 JSON text and nothing more: UTF-8 without a BOM, no
    NaN/Infinity, no duplicate keys in any object. Raises StrictJSONError (a
    ValueError) otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJSONError("byte order mark")
    try:
        text = data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise StrictJSONError("not UTF-8: %s" % e)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise StrictJSONError(str(e))


def raw_members(b):
    """The top-level members of a JSON object as [(raw key bytes, raw value bytes)]."""
    i = _skip_ws(b, 0)
    if b[i:i + 1] != b"{":
        raise ValueError("not an object")
    i = _skip_ws(b, i + 1)
    out = []
    if b[i:i + 1] == b"}":
        return out
    while True:
        k_end = _scan_value(b, i)
        key = b[i:k_end]
        i = _skip_ws(b, k_end)
        if b[i:i + 1] != b":":
            raise ValueError("expected ':' at %d" % i)
        i = _skip_ws(b, i + 1)
        v_end = _scan_value(b, i)
        out.append((key, b[i:v_end]))
        i = _skip_ws(b, v_end)
        if b[i:i + 1] == b",":
            i = _skip_ws(b, i + 1)
            continue
        if b[i:i + 1] == b"}":
            return out
        raise ValueError("expected ',' or '}' at %d" % i)


# --- unittest base -------------------------------------------------------------------

class TestCase(unittest.TestCase):
    """Owns a temp dir and every fixture made through it; dumps their logs on failure."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="eventhub-it-")
        self._fixtures = []
        self.addCleanup(self._cleanup_fixtures)

    def _cleanup_fixtures(self):
        for f in reversed(self._fixtures):
            try:
                if isinstance(f, Eventhub):
                    f.kill9()
                elif isinstance(f, NatsServer):
                    f.kill()
                elif isinstance(f, Receiver):
                    f.close()
            except Exception as e:  # noqa: BLE001
                sys.stderr.write("cleanup of %r failed: %r\n" % (f, e))

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self.dump_fixtures()
        elif os.environ.get("KEEP_TMP") is None:
            shutil.rmtree(getattr(self, "tmp", "/nonexistent"), ignore_errors=True)
        return result

    def dump_fixtures(self):
        out = sys.stderr
        out.write("\n======== fixtures of %s (tmp %s) ========\n" % (self.id(), getattr(self, "tmp", "?")))
        for f in getattr(self, "_fixtures", []):
            try:
                f.dump(out)
            except Exception as e:  # noqa: BLE001
                out.write("dump failed: %r\n" % (e,))
        out.flush()

    # factories
    def nats(self, name="nats", user=None, password=None):
        ns = NatsServer(self.tmp, name, user=user, password=password)
        self._fixtures.append(ns)
        return ns.start()

    def receiver(self, status=200, delay=0.0, name=None, port=0):
        r = Receiver(status=status, delay=delay, name=name or "r%d" % len(self._fixtures), port=port)
        self._fixtures.append(r)
        return r

    def eventhub(self, config, name="eventhub", start=True, wait=True, **kw):
        eh = Eventhub(self.tmp, config, name=name, **kw)
        self._fixtures.append(eh)
        if start:
            eh.start(wait=wait)
        return eh

    # assertions shared by several tests
    def assert_error_body(self, resp, status):
        self.assertEqual(resp.status, status, "expected %d, got %r" % (status, resp))
        self.assertIsInstance(resp.json, dict, "error body is not a JSON object: %r" % (resp.raw,))
        self.assertIsInstance(resp.json.get("error"), str, "no string 'error' in %r" % (resp.json,))
        self.assertTrue(resp.json.get("error"), "empty 'error' in %r" % (resp.json,))
        self.assertIsInstance(resp.json.get("detail"), str, "no string 'detail' in %r" % (resp.json,))

    def assert_accepted(self, resp):
        self.assertEqual(resp.status, 202, "expected 202, got %r" % (resp,))
        j = resp.json
        self.assertIsInstance(j, dict, resp.raw)
        self.assertIsInstance(j.get("event_id"), str, j)
        self.assertIsInstance(j.get("stream_seq"), int, j)
        self.assertIsInstance(j.get("duplicate"), bool, j)
        return j

    def wait_consumer_idle(self, ns, stream="EVENTS", consumer="eventhub", timeout=15.0,
                           parked=True):
        """Waits until the consumer has nothing pending and nothing awaiting an ack, and
        (parked=True) the retry stream <stream>_RETRY holds no parked delivery."""
        def idle():
            c = ns.client()
            ci = c.consumer_info(stream, consumer)
            if ci.get("num_pending") != 0 or ci.get("num_ack_pending") != 0:
                return None
            if parked:
                try:
                    if c.stream_info(stream + "_RETRY")["state"]["messages"] != 0:
                        return None
                except natsclient.JetStreamError:
                    pass
            return ci
        return wait_until(idle, timeout, "consumer %s/%s idle (num_pending 0, num_ack_pending 0%s)"
                          % (stream, consumer, ", nothing parked" if parked else ""))


def main():
    # SIGTERM (e.g. a runner's timeout) exits through atexit, which kills our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unittest.main(verbosity=2)
