#!/usr/bin/env python3
"""
The dashboard's files over HTTP (web_ui), checked against web/ itself: every file is
served byte for byte at its path with the right Content-Type (GET / is index.html),
HEAD gives the headers without the body, ETag + If-None-Match give 304, HTML is
"no-cache" like every other file (revalidated with the ETag), and every answer carries the strict
Content-Security-Policy and the other security headers. Unknown paths and other methods
are 404 JSON, and the APIs keep their own answers (the UI never shadows a route).
eventhub runs from a directory without web/: nothing is read from disk.
"""

import hashlib
import os

import harness
from harness import base_config

WEB = os.path.join(harness.REPO, "web")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


def web_files():
    """{url path: bytes} for what the build embeds (README.md and dot files left out)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(WEB):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name == "README.md" or name.startswith(".") or name.endswith("~"):
                continue
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                out["/" + os.path.relpath(full, WEB).replace(os.sep, "/")] = f.read()
    return out


class WebUi(harness.TestCase):
    def setUp(self):
        super().setUp()
        self.ns = self.nats()
        self.eh = self.eventhub(base_config(
            self.ns.url, [{"domain": "example.com", "endpoints": ["http://127.0.0.1:9/hook"]}]))
        self.files = web_files()
        self.assertIn("/index.html", self.files, "web/index.html is missing")

    def assert_asset(self, resp, path, body):
        what = "GET %s" % path
        self.assertEqual(resp.status, 200, "%s: %r" % (what, resp))
        self.assertEqual(resp.raw, body, "%s: the served bytes differ from web%s (stale build?)"
                         % (what, path))
        ext = os.path.splitext(path)[1]
        if ext in MIME:
            self.assertEqual(resp.headers.get("content-type"), MIME[ext], what)
        self.assertEqual(resp.headers.get("content-length"), str(len(body)), what)
        want_cache = "no-cache"
        self.assertEqual(resp.headers.get("cache-control"), want_cache, what)
        etag = resp.headers.get("etag", "")
        self.assertRegex(etag, r'^"[0-9a-f]{8,}"$', what)
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(resp.headers.get(name), value, "%s: %s" % (what, name))
        return etag

    def test_every_file_is_served_as_in_web(self):
        etags = {}
        for path, body in sorted(self.files.items()):
            with self.subTest(path=path):
                etags[path] = self.assert_asset(self.eh.request("GET", path), path, body)
        root = self.eh.request("GET", "/")
        self.assertEqual(self.assert_asset(root, "/index.html", self.files["/index.html"]),
                         etags["/index.html"])
        # Different content, different validator.
        by_hash = {}
        for path, body in self.files.items():
            by_hash.setdefault(hashlib.sha256(body).digest(), set()).add(etags[path])
        self.assertEqual(len(set(etags.values())), len(by_hash), etags)

    def test_head_has_the_headers_and_no_body(self):
        for path in ("/", "/index.html"):
            get = self.eh.request("GET", path)
            head = self.eh.request("HEAD", path)
            self.assertEqual(head.status, 200, head)
            self.assertEqual(head.raw, b"", "HEAD %s sent a body" % path)
            for name in ("content-type", "content-length", "etag", "cache-control",
                         "content-security-policy"):
                self.assertEqual(head.headers.get(name), get.headers.get(name),
                                 "HEAD %s: %s" % (path, name))

    def test_if_none_match_gives_304(self):
        for path in sorted(self.files) + ["/"]:
            with self.subTest(path=path):
                etag = self.eh.request("GET", path).headers["etag"]
                for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
                    r = self.eh.request("GET", path, headers={"If-None-Match": inm})
                    self.assertEqual(r.status, 304, "If-None-Match: %s -> %r" % (inm, r))
                    self.assertEqual(r.raw, b"")
                    self.assertEqual(r.headers.get("etag"), etag)
                    self.assertIn("cache-control", r.headers)
                r = self.eh.request("HEAD", path, headers={"If-None-Match": etag})
                self.assertEqual(r.status, 304, r)
                for inm in ('"stale"', etag[:-2] + '"', etag.strip('"')):
                    r = self.eh.request("GET", path, headers={"If-None-Match": inm})
                    self.assertEqual(r.status, 200, "If-None-Match: %s -> %r" % (inm, r))
                    self.assertEqual(r.raw, self.files["/index.html" if path == "/" else path])

    def test_unknown_paths_and_other_methods_are_404_json(self):
        for path in ("/nope", "/nope.js", "/README.md", "/index.html/", "/index.htm",
                     "/INDEX.HTML", "//index.html", "/./index.html", "/../web/index.html",
                     "/web/index.html", "/api/nope", "/api/", "/.hidden"):
            with self.subTest(path=path):
                r = self.eh.request("GET", path)
                self.assert_error_body(r, 404)
                self.assertTrue(r.headers.get("content-type", "").startswith("application/json"))
                self.assertNotIn("content-security-policy", r.headers)
                self.assertEqual(self.eh.request("HEAD", path).status, 404)
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            for path in ("/", "/index.html"):
                with self.subTest(method=method, path=path):
                    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
                    self.assert_error_body(self.eh.request(method, path, body=body), 404)

    def test_routes_are_not_shadowed(self):
        health = self.eh.request("GET", "/health")
        self.assertEqual(health.status, 200, health)
        self.assertEqual(health.json.get("status"), "ok", health.json)
        self.assertNotIn("content-security-policy", health.headers)
        stats = self.eh.request("GET", "/api/stats")
        self.assertEqual(stats.status, 200, stats)
        self.assertIsInstance(stats.json, dict, stats.raw)
        metrics = self.eh.request("GET", "/metrics")
        self.assertEqual(metrics.status, 200, metrics)
        self.assertTrue(metrics.headers.get("content-type", "").startswith("text/plain"), metrics)
        # A route's wrong method stays the route's 405, not the dashboard's 404.
        r = self.eh.request("GET", "/events")
        self.assert_error_body(r, 405)
        self.assertIn("POST", r.headers.get("allow", ""))


if __name__ == "__main__":
    harness.main()
