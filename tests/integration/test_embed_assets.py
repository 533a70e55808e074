#!/usr/bin/env python3
"""
scripts/embed_assets.py, the generator behind lib/api/web_assets.h: a made-up web/ tree
(nested directories, a binary file with every byte value, an empty file, README.md,
dot files, an editor backup) is turned into C, compiled with the project's warnings
as errors next to a small driver, and the table the driver prints must be exactly the
files, bytes, MIME types and hash-based ETags expected. The depfile names every file
and directory. Unknown extensions and names that would need URL escaping stop the
generator with a message that names the file.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "scripts", "embed_assets.py")
CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")

DRIVER = r"""
#include "api/web_assets.h"
#include <stdio.h>
#include <string.h>
int main(void)
{
    for (size_t i = 0; i < web_asset_count(); i++) {
        const struct web_asset *a = web_asset_at(i);
        if (web_asset_find(a->path) != a)
            return 2;
        printf("%s\t%s\t%zu\t%s\t", a->path, a->mime, a->len, a->etag);
        for (size_t j = 0; j < a->len; j++)
            printf("%02x", a->data[j]);
        printf("\n");
    }
    return web_asset_find("/nope") == NULL && web_asset_at(web_asset_count()) == NULL ? 0 : 3;
}
"""


class EmbedAssets(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="eventhub-embed-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.web = os.path.join(self.tmp, "web")
        os.makedirs(self.web)

    def put(self, rel, data):
        path = os.path.join(self.web, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def generate(self):
        out = os.path.join(self.tmp, "web_assets.c")
        dep = out + ".d"
        p = subprocess.run([sys.executable, SCRIPT, "--root", self.web, "--output", out,
                            "--depfile", dep], capture_output=True, text=True, timeout=60)
        return p, out, dep

    def build_and_dump(self, c_file):
        exe = os.path.join(self.tmp, "driver")
        drv = os.path.join(self.tmp, "driver.c")
        with open(drv, "w") as f:
            f.write(DRIVER)
        p = subprocess.run([CC, "-std=c17", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                            "-Wmissing-prototypes", "-Wstrict-prototypes", "-Wshadow",
                            "-I", os.path.join(REPO, "lib"), "-o", exe, drv, c_file],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "the generated C does not compile:\n" + p.stderr)
        run = subprocess.run([exe], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 0, run)
        rows = {}
        for line in run.stdout.splitlines():
            path, mime, n, etag, hexdata = line.split("\t")
            rows[path] = (mime, int(n), etag, bytes.fromhex(hexdata))
        return rows

    @unittest.skipIf(CC is None, "no C compiler")
    def test_table_matches_the_tree(self):
        every_byte = bytes(range(256)) * 3
        files = {
            "index.html": b"<!doctype html><title>x</title>\n",
            "js/app.js": b"console.log('\\\"?\\?=');\n",
            "js/lib/deep.mjs": b"export {};\n",
            "css/app.css": b"body{}\n",
            "img/logo.png": every_byte,
            "favicon.ico": b"\x00\x00\x01\x00",
            "icons/i.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "data/empty.json": b"",
            "robots.txt": b"User-agent: *\n",
        }
        for rel, data in files.items():
            self.put(rel, data)
        for rel in ("README.md", "js/README.md", ".hidden.js", "js/.app.js.swp", "index.html~",
                    ".git/config"):
            self.put(rel, b"not embedded")
        p, out, dep = self.generate()
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.build_and_dump(out)

        mimes = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".png": "image/png", ".ico": "image/x-icon", ".svg": "image/svg+xml",
                 ".json": "application/json", ".txt": "text/plain; charset=utf-8"}
        self.assertEqual(sorted(rows), sorted("/" + r for r in files))
        for rel, data in files.items():
            mime, n, etag, got = rows["/" + rel]
            self.assertEqual(got, data, rel)
            self.assertEqual(n, len(data), rel)
            self.assertEqual(mime, mimes[os.path.splitext(rel)[1]], rel)
            self.assertEqual(etag, '"%s"' % hashlib.sha256(data).hexdigest()[:20], rel)
        self.assertEqual(list(rows), sorted(rows), "the table is not sorted by path")

        with open(dep) as f:
            deptext = f.read().replace("\\\n", " ")
        target, _, deps = deptext.partition(": ")
        self.assertEqual(target, out)
        deps = set(deps.split())
        for rel in files:
            self.assertIn(os.path.join(self.web, rel), deps)
        for d in ("", "js", "js/lib", "css", "img", "icons", "data"):
            self.assertIn(os.path.normpath(os.path.join(self.web, d)), deps, "directory %r" % d)
        self.assertNotIn(os.path.join(self.web, "README.md"), deps)

    @unittest.skipIf(CC is None, "no C compiler")
    def test_empty_tree_compiles(self):
        self.put("README.md", b"only a readme")
        p, out, _ = self.generate()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.build_and_dump(out), {})

    def test_refusals_name_the_file(self):
        for rel, why in (("app.exe", "no MIME type"), ("my page.html", "name must be"),
                         ("caf\u00e9.html", "name must be"), ("q?.js", "name must be")):
            with self.subTest(rel=rel):
                shutil.rmtree(self.web)
                os.makedirs(self.web)
                self.put("index.html", b"ok")
                self.put(rel, b"x")
                p, out, _ = self.generate()
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(why, p.stderr)
                self.assertIn(rel, p.stderr)
                self.assertFalse(os.path.exists(out), "an output was written despite the error")


if __name__ == "__main__":
    unittest.main(verbosity=2)
