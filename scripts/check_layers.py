#!/usr/bin/env python3
"""The layer rule of lib/ (docs/ARCHITECTURE.md), checked on every include.

1. A file includes project headers by their path relative to lib/
   ("delivery/webhook_call.h"); the only bare names are the generated
   eventhub_version.h and lib/app.h.
2. A folder includes only its own files and the layers below it, in LAYERS order:
   nothing upward, nothing sideways.
3. A module's private header (x_internal.h) is included only by that module's files
   (x.c, x_*.c in the same folder) and the unit tests.
4. No circle of imports: with x.c and x.h taken as one module, the include graph of
   lib/ has no cycle.

Prints every finding as file:line: message and exits 1 when there is one.
"""
import os
import re
import sys

# Bottom to top. A folder may include the folders before it.
LAYERS = ["core", "config", "nats", "http", "sinks", "sources", "sources/esl",
          "delivery", "api", ""]  # "" is lib/ itself: app.c
GENERATED = {"eventhub_version.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
lib = os.path.join(root, "lib")
findings = []


def folder_of(rel):
    return os.path.dirname(rel)


def includes(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1)


def module_of(rel):
    """lib/delivery/delivery_job.c -> delivery/delivery_job: x.c and x.h are one module,
    and a module's private header x_internal.h belongs to it."""
    m = os.path.splitext(rel)[0]
    return m[: -len("_internal")] if m.endswith("_internal") else m


lib_files = []
for dirpath, _, names in os.walk(lib):
    for name in names:
        if name.endswith((".c", ".h")):
            lib_files.append(os.path.relpath(os.path.join(dirpath, name), lib))
lib_files.sort()
existing = set(lib_files)
rank = {layer: i for i, layer in enumerate(LAYERS)}

graph = {}
for rel in lib_files:
    here = folder_of(rel)
    if here not in rank:
        findings.append(f"lib/{rel}:1: folder '{here}' is not a layer (add it to LAYERS)")
        continue
    for line, inc in includes(os.path.join(lib, rel)):
        where = f"lib/{rel}:{line}"
        if inc in GENERATED:
            continue
        if inc not in existing:
            findings.append(f'{where}: "{inc}" is not a path relative to lib/')
            continue
        there = folder_of(inc)
        if there != here and rank.get(there, len(LAYERS)) >= rank[here]:
            side = "upward" if rank.get(there, 0) > rank[here] else "sideways"
            findings.append(f'{where}: {side} include of "{inc}": '
                            f"'{here or 'lib'}' may include only {LAYERS[:rank[here]]}")
        base = os.path.basename(inc)
        if base.endswith("_internal.h"):
            prefix = base[: -len("_internal.h")]
            mine = os.path.basename(rel)
            if there != here or not (mine.startswith(prefix + ".") or
                                     mine.startswith(prefix + "_")):
                findings.append(f'{where}: "{inc}" is private to the {prefix} module')
        a, b = module_of(rel), module_of(inc)
        if a != b:
            graph.setdefault(a, set()).add(b)

# Tests and programs write lib headers the same way.
for top in ("cmd", "tests"):
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        for name in names:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            local = set(os.listdir(dirpath))
            for line, inc in includes(path):
                if inc in GENERATED or inc in local or inc in existing:
                    continue
                if "/" not in inc and any(os.path.basename(f) == inc for f in existing):
                    findings.append(f"{os.path.relpath(path, root)}:{line}: write "
                                    f'"{inc}" relative to lib/')

# Cycles: iterative DFS, reporting each circle once.
state = {}
for start in sorted(graph):
    if state.get(start):
        continue
    stack = [(start, iter(sorted(graph.get(start, ()))))]
    path = [start]
    state[start] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            stack.pop()
            path.pop()
            continue
        if state.get(nxt) == 1:
            circle = path[path.index(nxt):] + [nxt]
            findings.append("lib: circular imports: " + " -> ".join(circle))
        elif not state.get(nxt):
            state[nxt] = 1
            stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
            path.append(nxt)

for f in findings:
    print(f)
if findings:
    print(f"layers: {len(findings)} finding(s)", file=sys.stderr)
    sys.exit(1)
print(f"layers: clean ({len(lib_files)} files, {len(LAYERS) - 1} layers)")
