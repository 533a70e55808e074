#!/usr/bin/env python3
"""
A slow or greedy client cannot starve the others (http_deadline, and libmicrohttpd's
per-address limit), against the real binary:

- server.max_connections_per_ip: one address (127.0.0.1) opening max_connections
  sockets gets only its share; a client from another address (127.0.0.2, bound as the
  source) is answered 202 while they are held;
- server.request_head_timeout: sockets trickling a header byte at a time (never idle,
  so connection_timeout alone would not close them) are shut down at the deadline, and
  capacity they held comes back even without a per-address limit; a kept-alive
  connection that trickles its next request is closed too;
- server.request_body_timeout: a body trickled after the head is closed at its deadline,
  while a body that merely arrives in pieces within it is accepted;
- every closure is counted (/api/stats "http".slow_closed, GET /metrics
  eventhub_http_slow_requests_closed_total{phase}) and logged with the tag "http".
"""

import json
import select
import socket
import time

import harness
from harness import base_config

OTHER = "127.0.0.2"  # Linux routes all of 127.0.0.0/8 to loopback: a second client address


class Trickle:
    """Sockets that send a request head (or body) a byte at a time, and notice when
    eventhub closes them."""

    def __init__(self, port, count, first=b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                 source="127.0.0.1"):
        self.socks = []
        self.opened = time.monotonic()
        self.closed_at = {}
        for _ in range(count):
            s = socket.socket()
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            try:
                s.send(first)
            except OSError:
                pass
            self.socks.append(s)

    def poll(self):
        """Notices closed sockets (EOF or reset) without waiting."""
        live = [s for s in self.socks if s not in self.closed_at]
        if not live:
            return
        readable, _, _ = select.select(live, [], [], 0)
        for s in readable:
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data or data.startswith(b"HTTP/"):
                self.closed_at[s] = time.monotonic()

    def step(self, byte=b"a"):
        """One more byte on every socket still open."""
        self.poll()
        for s in self.socks:
            if s in self.closed_at:
                continue
            try:
                s.send(byte)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self.closed_at[s] = time.monotonic()

    def open_count(self):
        self.poll()
        return len(self.socks) - len(self.closed_at)

    def run_until(self, predicate, timeout, what, every=0.3):
        """Keeps trickling until predicate() holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.step()
            if predicate():
                return
            if time.monotonic() >= deadline:
                raise harness.WaitTimeout("%s not within %.1fs" % (what, timeout))
            time.sleep(every)

    def close(self):
        for s in self.socks:
            s.close()


class SlowClients(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.crm = self.receiver(name="crm")
        self.trickles = []

    def tearDown(self):
        for t in self.trickles:
            t.close()
        super().tearDown()

    def start(self, **server):
        base = {"max_connections": 16, "request_head_timeout": "2s",
                "request_body_timeout": "2s"}
        base.update(server)
        cfg = base_config(self.ns.url, [{"domain": "example.com", "endpoints": [self.crm.url()]}],
                          server=base)
        self.eh = self.eventhub(cfg)
        return self.eh

    def trickle(self, count, **kw):
        t = Trickle(self.eh.port, count, **kw)
        self.trickles.append(t)
        return t

    def post(self, event_id, source=OTHER):
        body = json.dumps({"domain": "example.com", "event_id": event_id}).encode()
        data = (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
        try:
            return harness.raw_http("127.0.0.1", self.eh.port, data, timeout=5, source=source)
        except OSError as e:
            return harness.Response(0, {}, repr(e).encode())

    def stats(self, source=OTHER):
        data = b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        r = harness.raw_http("127.0.0.1", self.eh.port, data, source=source)
        self.assertEqual(r.status, 200, r)
        return r.json["http"]["slow_closed"]

    def test_one_address_gets_its_share(self):
        self.start(max_connections_per_ip=4, request_head_timeout="3s")
        slow = self.trickle(16)
        # libmicrohttpd closes every connection past the 4th from 127.0.0.1 at accept.
        slow.run_until(lambda: slow.open_count() == 4, 3, "12 sockets refused", every=0.05)
        held_since = time.monotonic()
        # Another address is answered while the four are held ...
        self.assert_accepted(self.post("from-another-address"))
        # ... and 127.0.0.1 itself has no connection left.
        r = self.post("from-the-same-address", source="127.0.0.1")
        self.assertEqual(r.status, 0, r)
        self.assertEqual(slow.open_count(), 4)
        self.assertLess(time.monotonic() - slow.opened, 2.5, "the test took too long to be "
                        "sure the sockets were held while the other client was answered")
        self.crm.wait_for(1)
        # The head deadline (3 s) closes the four.
        slow.run_until(lambda: slow.open_count() == 0, 6, "the slow sockets closed")
        held = max(slow.closed_at.values()) - held_since
        self.assertGreater(max(slow.closed_at.values()) - slow.opened, 2.5)
        self.assertLess(held, 5.0)
        self.assertEqual(self.stats()["head"], 4)
        self.assert_accepted(self.post("after", source="127.0.0.1"))

    def test_head_deadline_frees_the_server(self):
        self.start(max_connections_per_ip=0)
        slow = self.trickle(16)
        slow.run_until(lambda: slow.open_count() == 16, 2, "16 sockets held", every=0.05)
        # Every connection is taken: a new client waits in the listen backlog (the
        # tricklers are never idle, so connection_timeout alone would not free a slot) ...
        r = self.post("while-full", source=OTHER)
        answered = time.monotonic() - slow.opened
        # ... until the head deadline (2 s) shuts them down.
        self.assert_accepted(r)
        self.assertGreater(answered, 1.5, "answered while every connection was held?")
        slow.run_until(lambda: slow.open_count() == 0, 5, "the slow sockets closed")
        first = min(slow.closed_at.values()) - slow.opened
        last = max(slow.closed_at.values()) - slow.opened
        self.assertGreater(first, 1.5, "closed before the deadline")
        self.assertLess(last, 4.5, "closed long after the deadline")
        self.assertEqual(self.stats()["head"], 16)
        metrics = self.eh.request("GET", "/metrics").raw.decode()
        self.assertIn('eventhub_http_slow_requests_closed_total{phase="head"} 16', metrics)
        logs = self.eh.find_log(lambda l: l.get("subsystem") == "http"
                                and "request head did not arrive in time" in str(l.get("msg")))
        self.assertTrue(logs)
        self.assertIn("127.0.0.1", logs[0]["msg"])

    def test_body_deadline(self):
        self.start()
        head = (b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{")
        slow = self.trickle(1, first=head)
        slow.run_until(lambda: slow.open_count() == 0, 5, "the slow body closed")
        took = slow.closed_at[slow.socks[0]] - slow.opened
        self.assertGreater(took, 1.5)
        self.assertLess(took, 4.0)
        self.assertEqual(self.stats()["body"], 1)
        # A body that arrives in pieces, but within the deadline, is taken.
        body = json.dumps({"domain": "example.com", "event_id": "in-pieces"}).encode()
        s = socket.create_connection(("127.0.0.1", self.eh.port))
        s.sendall(b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        for i in range(0, len(body), 10):
            time.sleep(0.1)
            s.sendall(body[i:i + 10])
        s.settimeout(5)
        answer = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 202"), answer)
        self.assertEqual(self.stats()["body"], 1)

    def test_kept_alive_connection_that_trickles(self):
        # The next head on a kept-alive connection gets max(head timeout, idle timeout).
        self.start(connection_timeout="3s")
        body = json.dumps({"domain": "example.com", "event_id": "keep-alive"}).encode()
        s = socket.create_connection(("127.0.0.1", self.eh.port))
        s.sendall(b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        s.settimeout(5)
        first = s.recv(65536)
        self.assertTrue(first.startswith(b"HTTP/1.1 202"), first)
        self.assertNotIn(b"Connection: close", first)
        answered = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\n")
        s.setblocking(False)
        closed = None
        while closed is None and time.monotonic() - answered < 8:
            try:
                s.send(b"X")
                r, _, _ = select.select([s], [], [], 0.3)
                if r and not s.recv(4096):
                    closed = time.monotonic()
            except (ConnectionResetError, BrokenPipeError):
                closed = time.monotonic()
            except BlockingIOError:
                pass
        s.close()
        self.assertIsNotNone(closed, "the trickling kept-alive connection stayed open")
        self.assertGreater(closed - answered, 2.5)
        self.assertLess(closed - answered, 5.0)
        self.assertEqual(self.stats(source="127.0.0.1")["head"], 1)


if __name__ == "__main__":
    harness.main()
