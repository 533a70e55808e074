#!/usr/bin/env python3
"""
Command line and config validation: --check-config, errors as FILE:LINE: key: message,
refusal to start on a bad config, --version, --help, -log-file.
"""

import json
import os
import re
import signal
import subprocess
import time

import harness

VALID = """\
server:
  address: 127.0.0.1
  port: 0
nats:
  url: nats://127.0.0.1:9
routes:
  - domain: example.com
    endpoints: ["http://127.0.0.1:9/hook"]
"""


class ConfigCli(harness.TestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_bin(self, *args, timeout=15):
        p = subprocess.run([harness.eventhub_bin()] + list(args), cwd=self.tmp,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def check(self, path):
        return self.run_bin("-config", path, "--check-config")

    def assert_invalid(self, text, line, *fragments, name="bad.yaml"):
        path = self.write(name, text)
        code, out, err = self.check(path)
        self.assertEqual(code, 1, "exit status for an invalid config; stderr:\n%s" % err)
        where = "%s:%d:" % (path, line) if line else None
        if where:
            self.assertIn(where, err, "stderr does not name %s:\n%s" % (where, err))
        else:
            self.assertRegex(err, re.escape(path) + r":\d+:", "stderr has no FILE:LINE:\n%s" % err)
        for frag in fragments:
            self.assertIn(frag, err, "stderr does not mention %r:\n%s" % (frag, err))
        return err

    def test_valid_config_checks_ok(self):
        path = self.write("ok.yaml", VALID)
        code, out, err = self.check(path)
        self.assertEqual(code, 0, "stdout:\n%s\nstderr:\n%s" % (out, err))
        code2, _, err2 = self.run_bin("--config", path, "--check-config")
        self.assertEqual(code2, 0, "--config spelling: %s" % err2)

    def test_bad_yaml(self):
        self.assert_invalid(VALID.replace('endpoints: ["http://127.0.0.1:9/hook"]',
                                          'endpoints: ["http://127.0.0.1:9/hook"'), None)
        self.assert_invalid("server:\n  port: 0\n   address: x\n  - y\n", None, name="bad2.yaml")

    def test_unknown_key(self):
        text = VALID.replace("  port: 0\n", "  port: 0\n  bogus_key: 1\n")
        self.assertEqual(text.splitlines()[3], "  bogus_key: 1")
        self.assert_invalid(text, 4, "bogus_key")

    def test_bad_endpoint_url(self):
        text = VALID.replace('["http://127.0.0.1:9/hook"]', '["ftp://127.0.0.1:9/hook"]')
        self.assert_invalid(text, 8, "routes[0].endpoints[0]")
        text2 = VALID.replace('["http://127.0.0.1:9/hook"]', '["not a url"]')
        self.assert_invalid(text2, 8, "routes[0].endpoints[0]", name="bad2.yaml")

    def test_bad_nats_url(self):
        self.assert_invalid(VALID.replace("nats://127.0.0.1:9", "http//nowhere:abc"), 5, "nats.url")

    def test_bad_values(self):
        self.assert_invalid(VALID + "delivery:\n  timeout: 3 parsecs\n", 10, "delivery.timeout")
        self.assert_invalid(VALID.replace("  port: 0\n", "  port: 70000\n"), 3, "server.port",
                            name="bad2.yaml")
        self.assert_invalid(VALID + "nats_typo: {}\n", 9, "nats_typo", name="bad3.yaml")
        # Only one key per line: the route's domain must be a non-empty string.
        self.assert_invalid(VALID.replace("domain: example.com", 'domain: ""'), 7, "routes[0].domain",
                            name="bad4.yaml")

    def test_go_ack_wait_loads_with_a_warning(self):
        # A Go telephony-forwarder file: ack_wait_seconds 5 is above its 3 s timeout but not
        # above eventhub's 3 s + 2 s; it loads, and the warning names the line.
        text = VALID.replace("  url: nats://127.0.0.1:9\n",
                             "  url: nats://127.0.0.1:9\n  ack_wait_seconds: 5\n")
        path = self.write("ackwait.yaml", text)
        code, out, err = self.run_bin("--check-config", path)
        self.assertEqual(code, 0, "a Go file's ack_wait_seconds: 5 was refused:\n%s" % err)
        self.assertIn("%s:6: nats.ack_wait_seconds: 5s is not above" % path, err)
        self.assertIn("in-progress acks", err)
        # Too short for the lease to be kept: refused, with FILE:LINE.
        path2 = self.write("ackwait2.yaml", text.replace("ack_wait_seconds: 5", "ack_wait_seconds: 2"))
        code, _, err = self.check(path2)
        self.assertEqual(code, 1, "ack_wait 2s with a 3s endpoint timeout accepted:\n%s" % err)
        self.assertIn("%s:6: nats.ack_wait_seconds: 2s is too short" % path2, err)

    def test_check_config_takes_the_file(self):
        path = self.write("ok.yaml", VALID)
        for args in (("--check-config", path), ("--check-config=%s" % path,), ("-check-config", path)):
            code, out, err = self.run_bin(*args)
            self.assertEqual(code, 0, "%r: %s" % (args, err))
            self.assertIn("%s: configuration is valid" % path, out)
        bad = self.write("bad.yaml", VALID.replace("  port: 0\n", "  port: 0\n  bogus_key: 1\n"))
        code, _, err = self.run_bin("--check-config", bad)
        self.assertEqual(code, 1, err)
        self.assertIn("%s:4:" % bad, err)
        # A stray argument without --check-config is still a usage error (status 2).
        code, _, err = self.run_bin(path)
        self.assertEqual(code, 2, err)
        self.assertIn("unexpected argument", err)

    def test_every_error_is_reported(self):
        text = VALID.replace("  port: 0\n", "  port: 0\n  bogus_key: 1\n").replace(
            '["http://127.0.0.1:9/hook"]', '["ftp://127.0.0.1:9/hook"]')
        err = self.assert_invalid(text, 4, "bogus_key")
        self.assertIn("bad.yaml:9:", err, "only the first error was reported:\n%s" % err)

    def test_missing_file(self):
        code, _, err = self.check(os.path.join(self.tmp, "nope.yaml"))
        self.assertEqual(code, 1, err)
        self.assertIn("nope.yaml", err)

    def test_invalid_config_refuses_to_start(self):
        path = self.write("bad.yaml", VALID.replace("  port: 0\n", "  port: 0\n  bogus_key: 1\n"))
        t0 = time.monotonic()
        code, out, err = self.run_bin("-config", path, "-log-level", "debug", timeout=15)
        self.assertEqual(code, 1, "stderr:\n%s" % err)
        self.assertNotIn("listening on", err)
        self.assertIn("%s:4:" % path, err)
        self.assertLess(time.monotonic() - t0, 10)

    def test_bad_log_level_refused(self):
        path = self.write("ok.yaml", VALID)
        code, _, err = self.run_bin("-config", path, "-log-level", "loud", "--check-config")
        self.assertNotEqual(code, 0, "an unknown -log-level was accepted")

    def test_version(self):
        code, out, err = self.run_bin("--version")
        self.assertEqual(code, 0, err)
        self.assertRegex(out + err, r"\d+\.\d+\.\d+")

    def test_help(self):
        code, out, err = self.run_bin("--help")
        self.assertEqual(code, 0, err)
        text = out + err
        for flag in ("-config", "--check-config", "-log-level", "-log-file", "-domain-logging"):
            self.assertIn(flag, text, "--help does not mention %s" % flag)
        # The exit statuses, each of which the tests above observe.
        self.assertIn("Exit status:", text)
        for status in ("  0  ", "  1  ", "  2  "):
            self.assertIn(status, text, "--help does not document exit status %r" % status)

    def test_log_file(self):
        ns = self.nats()
        rcv = self.receiver()
        cfg_path = self.write("run.yaml", harness.to_yaml(harness.base_config(
            ns.url, [{"domain": "example.com", "endpoints": [rcv.url()]}])))
        log_path = os.path.join(self.tmp, "eventhub.log")
        proc = subprocess.Popen(harness.PDEATHSIG + [harness.eventhub_bin(), "-config", cfg_path, "-log-level", "info",
                                 "-log-file", log_path, "-domain-logging=false"],
                                cwd=self.tmp, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        harness._register(proc)
        try:
            def listening():
                if proc.poll() is not None:
                    raise AssertionError("exited with %s: %s" % (proc.returncode, proc.stderr.read()))
                if not os.path.exists(log_path):
                    return None
                with open(log_path) as f:
                    for line in f:
                        obj = json.loads(line)
                        if str(obj.get("msg", "")).startswith("listening on "):
                            return obj
                return None
            obj = harness.wait_until(listening, 15, "'listening on' in the -log-file file")
            self.assertIn(obj.get("level"), ("info", "debug"))
            with open(log_path) as f:
                levels = {json.loads(line).get("level") for line in f if line.strip()}
            self.assertNotIn("debug", levels, "-log-level info still wrote debug lines")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=15), 0)
            err = proc.stderr.read().decode("utf-8", "replace")
            self.assertNotIn("listening on", err, "logs went to stderr despite -log-file")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            harness._unregister(proc)


if __name__ == "__main__":
    harness.main()
