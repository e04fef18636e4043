#!/usr/bin/env python3
"""Lists the functions of src/ longer than a threshold (default 80 lines),
longest first: `python3 scripts/long_functions.py [LINES]`. A function is
measured from its `fn` line to the closing brace at its indentation."""
import os, re, sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
root = os.path.join(os.path.dirname(__file__), "..", "src")
found = []
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        lines = open(path).read().split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(async )?(const )?fn ([a-z_0-9]+)", line)
            if not m or line.rstrip().endswith(";"):
                continue
            indent = m.group(1)
            for j in range(i + 1, len(lines)):
                if lines[j] == indent + "}":
                    n = j - i + 1
                    if n > limit:
                        found.append((n, os.path.relpath(path, os.path.join(root, "..")), m.group(6)))
                    break
for n, path, name in sorted(found, reverse=True):
    print(f"{n:5} {path} {name}")
print(f"{len(found)} function(s) over {limit} lines")
