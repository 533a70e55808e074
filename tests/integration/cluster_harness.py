"""
cluster_harness — a 3-node nats-server JetStream cluster on loopback for the
integration tests (see harness.py for the single-node NatsServer it builds on).

  NatsCluster(tmpdir, size=3).start()
      nodes        ClusterNode list (a NatsServer each: own client, monitor and route
                   ports, own store dir, own log; kill() is SIGKILL, restart() comes back
                   on the same ports and store)
      urls         the client URLs of every node (for nats.servers)
      client()     a NatsClient connected to some running node
      wait_meta_leader()            every running node names the same JetStream meta leader
      stream_leader(stream)         the node leading that stream (None while leaderless)
      consumer_leader(stream, name) the node leading that consumer
      wait_stream_leader / wait_consumer_leader: the same, polled with a deadline
      node(server_name)             the node of a JetStream "cluster.leader" name
      nodes_with_client(name)       the nodes a client of that connection name is on

Ports are picked free (bind 0) before the config files are written, since every node
must know the others' route ports; a node that cannot bind makes the whole cluster
start again on fresh ports. Nothing waits with a fixed sleep.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

import harness
import natsclient
from harness import NATS_SERVER, WaitTimeout, free_port, wait_until


class ClusterNode(harness.NatsServer):
    """One cluster member: a NatsServer started from a config file (server_name,
    client/monitor ports, JetStream store, cluster listen and routes)."""

    def __init__(self, tmpdir, name, cluster_name):
        super().__init__(tmpdir, name)
        self.cluster_name = cluster_name
        self.cluster_port = None
        self.routes = []
        self.conf_path = os.path.join(self.dir, "nats-server.conf")

    def write_conf(self):
        conf = {
            "server_name": self.name,
            "listen": "127.0.0.1:%d" % self.port,
            "http": "127.0.0.1:%d" % self.monitor_port,
            "jetstream": {"store_dir": self.store_dir},
            "cluster": {
                "name": self.cluster_name,
                "listen": "127.0.0.1:%d" % self.cluster_port,
                "routes": self.routes,
            },
        }
        # nats-server's config format accepts JSON.
        with open(self.conf_path, "w") as f:
            json.dump(conf, f, indent=2)

    def _args(self):  # NatsServer._spawn starts it the same way, from this config file
        return [NATS_SERVER, "-c", self.conf_path]

    def start(self, timeout=15.0):
        raise NotImplementedError("start the NatsCluster, not one node")

    def monitor(self, path, timeout=1.0):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.monitor_port, path),
                                    timeout=timeout) as r:
            return json.loads(r.read())

    def meta_leader(self):
        """The meta leader this node knows of ("" when none), from /jsz."""
        try:
            meta = self.monitor("/jsz").get("meta_cluster") or {}
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return meta.get("leader") or ""

    def sigkill(self):
        """SIGKILL (no shutdown: what a crashed host looks like to the others)."""
        self.kill()

    def __repr__(self):
        return "ClusterNode(%s, port %s, %s)" % (self.name, self.port,
                                                 "running" if self.running else "down")


class NatsCluster:
    def __init__(self, tmpdir, size=3, name="nats"):
        self.size = size
        self.cluster_name = "%s-cluster" % name
        self.nodes = [ClusterNode(tmpdir, "%s-%d" % (name, i + 1), self.cluster_name)
                      for i in range(size)]
        self._client = None
        self._client_node = None

    # -- lifecycle --

    def _assign_ports(self):
        for n in self.nodes:
            n.port, n.monitor_port, n.cluster_port = free_port(), free_port(), free_port()
        routes = ["nats-route://127.0.0.1:%d" % n.cluster_port for n in self.nodes]
        for n in self.nodes:
            n.routes = routes
            n.write_conf()

    def start(self, timeout=30.0):
        for _ in range(5):
            self._assign_ports()
            for n in self.nodes:
                n._spawn()
            deadline = time.monotonic() + timeout
            try:
                for n in self.nodes:
                    if not n._wait_ready(max(0.5, deadline - time.monotonic())):
                        raise RuntimeError("%s exited" % n.name)
            except RuntimeError:
                self.kill_all()  # a port was taken in between: all again on fresh ports
                continue
            self.wait_meta_leader(timeout)
            return self
        raise RuntimeError("nats cluster failed to start; logs:\n" +
                           "\n".join(n.log_text()[-2000:] for n in self.nodes))

    def kill_all(self):
        self._drop_client()
        for n in self.nodes:
            n.kill()

    def stop(self):
        self._drop_client()
        for n in self.nodes:
            n.stop()

    def kill(self):
        """For TestCase cleanup (it calls kill() on NatsServer-like fixtures)."""
        self.kill_all()

    def kill_node(self, node):
        if node is self._client_node:
            self._drop_client()
        node.sigkill()

    def restart_node(self, node, timeout=15.0):
        node.restart(timeout)
        return node

    # -- names and addresses --

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    @property
    def running_nodes(self):
        return [n for n in self.nodes if n.running]

    def node(self, server_name):
        for n in self.nodes:
            if n.name == server_name:
                return n
        return None

    def nodes_with_client(self, conn_name):
        """The running nodes holding a client connection named conn_name (/connz)."""
        out = []
        for n in self.running_nodes:
            try:
                conns = n.monitor("/connz?limit=1024").get("connections") or []
            except (urllib.error.URLError, OSError, ValueError):
                continue
            if any(c.get("name") == conn_name for c in conns):
                out.append(n)
        return out

    # -- JetStream API --

    def _drop_client(self):
        if self._client is not None:
            self._client.close()
        self._client = None
        self._client_node = None

    def client(self):
        """A NatsClient on a running node (cached; moves when that node went away)."""
        if self._client is not None and not self._client.closed and self._client_node.running:
            return self._client
        self._drop_client()
        last = None
        for n in self.running_nodes:
            try:
                self._client = natsclient.wait_connect("127.0.0.1", n.port, timeout=2.0)
                self._client_node = n
                return self._client
            except natsclient.NatsError as e:
                last = e
        raise natsclient.NatsError("no running node accepts connections (%s)" % last)

    def meta_leader(self):
        """The meta leader every running node agrees on, or None."""
        seen = set(n.meta_leader() for n in self.running_nodes)
        if len(seen) == 1:
            leader = seen.pop()
            if leader and self.node(leader) is not None and self.node(leader).running:
                return self.node(leader)
        return None

    def wait_meta_leader(self, timeout=20.0):
        node = wait_until(self.meta_leader, timeout, "a JetStream meta leader every node agrees on")
        # The API answers once the meta leader has caught up.
        wait_until(lambda: self.client().account_info(), timeout, "$JS.API.INFO answered")
        return node

    def _leader_of(self, info):
        name = ((info or {}).get("cluster") or {}).get("leader")
        node = self.node(name) if name else None
        return node if node is not None and node.running else None

    def stream_leader(self, stream):
        try:
            return self._leader_of(self.client().stream_info(stream))
        except natsclient.NatsError:
            return None

    def consumer_leader(self, stream, consumer):
        try:
            return self._leader_of(self.client().consumer_info(stream, consumer))
        except natsclient.NatsError:
            return None

    def stream_replicas(self, stream):
        """Names of every peer of the stream: the leader and its replicas."""
        info = self.client().stream_info(stream)
        cl = info.get("cluster") or {}
        return sorted([cl.get("leader")] + [r["name"] for r in cl.get("replicas") or []])

    def consumer_replicas(self, stream, consumer):
        info = self.client().consumer_info(stream, consumer)
        cl = info.get("cluster") or {}
        return sorted([cl.get("leader")] + [r["name"] for r in cl.get("replicas") or []])

    def wait_stream_leader(self, stream, timeout=20.0, exclude=None):
        """The stream's leader once it has one (that is not `exclude`)."""
        def ok():
            n = self.stream_leader(stream)
            return n if n is not None and n is not exclude else None
        return wait_until(ok, timeout, "a leader for stream %s" % stream, interval=0.05)

    def wait_consumer_leader(self, stream, consumer, timeout=20.0, exclude=None):
        def ok():
            n = self.consumer_leader(stream, consumer)
            return n if n is not None and n is not exclude else None
        return wait_until(ok, timeout, "a leader for consumer %s/%s" % (stream, consumer),
                          interval=0.05)

    def wait_current(self, stream, timeout=30.0):
        """Every peer of the stream is current (a restarted node caught up)."""
        def ok():
            info = self.client().stream_info(stream)
            cl = info.get("cluster") or {}
            reps = cl.get("replicas") or []
            return cl.get("leader") and len(reps) == self.size - 1 and all(
                r.get("current") for r in reps)
        return wait_until(ok, timeout, "every replica of %s current" % stream, interval=0.1)

    # -- diagnostics --

    def dump(self, out=sys.stderr, tail=60):
        for n in self.nodes:
            n.dump(out, tail)


class ClusterTestCase(harness.TestCase):
    """harness.TestCase with a nats_cluster() factory (killed and dumped with the rest)."""

    def nats_cluster(self, size=3):
        c = NatsCluster(self.tmp, size)
        self._fixtures.append(c)
        return c.start()

    def _cleanup_fixtures(self):
        super()._cleanup_fixtures()  # eventhub instances and receivers first
        for f in self._fixtures:
            if isinstance(f, NatsCluster):
                try:
                    f.kill_all()
                except Exception as e:  # noqa: BLE001
                    sys.stderr.write("cleanup of the cluster failed: %r\n" % (e,))


__all__ = ["ClusterNode", "NatsCluster", "ClusterTestCase", "WaitTimeout"]
