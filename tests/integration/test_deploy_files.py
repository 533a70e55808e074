#!/usr/bin/env python3
"""
The container and cluster files, checked without a Docker daemon:
- Dockerfile: the build stage installs the Debian package of every dependency() in
  meson.build (found through its pkg-config file), the runtime stage the package of
  every library the built binary links (its ELF NEEDED entries), and the image checks
  /health with a client it installs.
- deploy/compose: compose.yaml parses and runs three NATS nodes (each with its own
  name and volume, routes to all three) and eventhub waiting for them; nats.conf is
  accepted by `nats-server -t` for each node; eventhub.yaml passes --check-config and
  names the three nodes with replicas 3. `docker compose config` too when the plugin
  is installed.
- docs/DEPLOYMENT.md: every ```conf block (nats-server configs) passes `nats-server -t`.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness

REPO = harness.REPO
COMPOSE_DIR = os.path.join(REPO, "deploy", "compose")
NATS_SERVER = harness.NATS_SERVER

try:
    import yaml
except ImportError:  # Debian: python3-yaml (scripts/install-deps.sh)
    yaml = None


def read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


def dockerfile_stages(text):
    """[(FROM line, [apt packages], full text of the stage)] of a Dockerfile."""
    text = text.replace("\\\n", " ")
    stages = []
    for chunk in re.split(r"(?m)^(?=FROM )", text):
        if not chunk.startswith("FROM "):
            continue
        pkgs = []
        for m in re.finditer(r"apt-get install ([^&\n]*)", chunk):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
        stages.append((chunk.splitlines()[0], pkgs, chunk))
    return stages


def dpkg_owner(path):
    p = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
    if p.returncode != 0:
        p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return p.stdout.split(":")[0].strip()


def nats_test(conf_text, env=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "nats.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        e = dict(os.environ, **(env or {}))
        return subprocess.run([NATS_SERVER, "-t", "-c", path], capture_output=True, text=True,
                              env=e, timeout=30)


@unittest.skipUnless(shutil.which("dpkg") and shutil.which("pkg-config"), "not a Debian system")
class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stages = dockerfile_stages(read("Dockerfile"))
        assert len(stages) == 2, [s[0] for s in stages]
        (_, cls.build_pkgs, _), (cls.runtime_from, cls.runtime_pkgs, cls.runtime) = stages

    def test_build_stage_has_every_meson_dependency(self):
        deps = re.findall(r"dependency\('([^']+)'", read("meson.build"))
        self.assertIn("libcrypto", deps)
        for dep in deps:
            if dep == "threads":
                continue
            with self.subTest(dependency=dep):
                pcdir = subprocess.run(["pkg-config", "--variable=pcfiledir", dep],
                                       capture_output=True, text=True).stdout.strip()
                self.assertTrue(pcdir, "pkg-config does not know %s" % dep)
                pkg = dpkg_owner(os.path.join(pcdir, dep + ".pc"))
                self.assertIsNotNone(pkg, dep)
                self.assertIn(pkg.split(":")[0], self.build_pkgs)

    def test_runtime_stage_has_every_linked_library(self):
        binary = harness.eventhub_bin()
        dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                             check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        self.assertIn("libcrypto.so.3", needed)
        ldconfig = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
        for lib in needed:
            if re.match(r"lib(asan|ubsan|lsan|tsan)\.so", lib):
                continue  # the sanitizer build's runtimes: not in a release image
            with self.subTest(library=lib):
                m = re.search(r"^\s+%s \([^)]*x86-64[^)]*\) => (\S+)" % re.escape(lib), ldconfig, re.M) \
                    or re.search(r"^\s+%s \([^)]*\) => (\S+)" % re.escape(lib), ldconfig, re.M)
                self.assertIsNotNone(m, "ldconfig does not know %s" % lib)
                pkg = dpkg_owner(m.group(1))
                self.assertIsNotNone(pkg, lib)
                if pkg.split(":")[0] in ("libc6",):
                    continue  # in every Debian image
                self.assertIn(pkg.split(":")[0], self.runtime_pkgs, lib)

    def test_health_check(self):
        self.assertIn("debian:12-slim", self.runtime_from)
        self.assertRegex(self.runtime, r"(?m)^HEALTHCHECK .*\\?\s*$")
        self.assertIn("/health", self.runtime)
        self.assertIn("curl", self.runtime_pkgs)
        self.assertIn("nats-server", self.runtime_pkgs)


@unittest.skipUnless(yaml, "python3-yaml missing")
class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(COMPOSE_DIR, "compose.yaml")) as f:
            cls.compose = yaml.safe_load(f)
        cls.services = cls.compose["services"]

    def test_services(self):
        nodes = ["nats1", "nats2", "nats3"]
        self.assertEqual(sorted(self.services), sorted(nodes + ["eventhub"]))
        volumes = set()
        for n in nodes:
            with self.subTest(node=n):
                s = self.services[n]
                self.assertRegex(s["image"], r"^nats:2\.9")
                self.assertEqual(s["environment"]["SERVER_NAME"], n)
                self.assertIn("./nats.conf:/etc/nats/nats.conf:ro", s["volumes"])
                data = [v for v in s["volumes"] if v.endswith(":/data")]
                self.assertEqual(len(data), 1, s["volumes"])
                volumes.add(data[0].split(":")[0])
                self.assertIn("healthcheck", s)
        self.assertEqual(len(volumes), 3, "each node needs its own volume")
        self.assertTrue(volumes <= set(self.compose["volumes"]))
        eh = self.services["eventhub"]
        self.assertEqual(eh["build"]["context"], "../..")
        self.assertEqual({n: eh["depends_on"][n]["condition"] for n in nodes},
                         {n: "service_healthy" for n in nodes})
        self.assertIn("./eventhub.yaml:/etc/eventhub/config.yaml:ro", eh["volumes"])
        self.assertIn("/health", " ".join(eh["healthcheck"]["test"]))
        self.assertRegex(str(eh["stop_grace_period"]), r"^[1-9][0-9]+s$")

    def test_nats_conf_is_valid_for_each_node(self):
        conf = read("deploy", "compose", "nats.conf")
        for n in ("nats1", "nats2", "nats3"):
            self.assertIn("nats-route://%s:6222" % n, conf)
            with self.subTest(node=n):
                p = nats_test(conf, {"SERVER_NAME": n})
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_eventhub_config(self):
        path = os.path.join(COMPOSE_DIR, "eventhub.yaml")
        p = subprocess.run([harness.eventhub_bin(), "--check-config", "-config", path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(path) as f:
            cfg = yaml.safe_load(f)
        self.assertEqual(cfg["nats"]["servers"], ["nats://nats%d:4222" % i for i in (1, 2, 3)])
        self.assertEqual(cfg["nats"]["stream"]["replicas"], 3)

    @unittest.skipUnless(shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode == 0,
        "docker compose plugin not installed")
    def test_docker_compose_config(self):
        p = subprocess.run(["docker", "compose", "-f", os.path.join(COMPOSE_DIR, "compose.yaml"),
                            "config", "--quiet"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)


class DeploymentDoc(unittest.TestCase):
    def test_nats_configs_are_valid(self):
        blocks = re.findall(r"```conf\n(.*?)```", read("docs", "DEPLOYMENT.md"), re.S)
        self.assertGreaterEqual(len(blocks), 1)
        for i, block in enumerate(blocks):
            with self.subTest(block=i, first_line=block.splitlines()[0]):
                p = nats_test(block)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    harness.main()
