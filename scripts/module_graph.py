#!/usr/bin/env python3
"""Prints the crate's top-level module graph (from `crate::x` paths and
`use crate::{x, ...}`) and its cycles (strongly connected components).

    python3 scripts/module_graph.py          # edges, then cycles
"""
import os, re, sys
from collections import defaultdict

root = os.path.join(os.path.dirname(__file__), "..", "src")
mods = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(dirpath, f), root)
        top = rel.split(os.sep)[0]
        top = top[:-3] if top.endswith(".rs") else top
        if top in ("lib", "main"):
            continue
        mods.setdefault(top, []).append(os.path.join(dirpath, f))

edges = defaultdict(set)
for m, files in mods.items():
    for f in files:
        src = open(f).read()
        # drop tests: `#[cfg(test)] mod tests { ... }` at the end of a file
        cut = src.find("#[cfg(test)]\nmod tests")
        if cut >= 0:
            src = src[:cut]
        names = set(re.findall(r"crate::([a-z_]+)", src))
        for group in re.findall(r"crate::\{([^}]*)\}", src):
            names |= set(re.findall(r"(?:^|,)\s*([a-z_]+)", group))
        for n in names:
            if n != m and n in mods:
                edges[m].add(n)

index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in sorted(mods):
    if v not in index:
        strong(v)
for m in sorted(mods):
    print(f"{m} -> {', '.join(sorted(edges[m]))}")
print(f"\n{len(sccs)} cycle(s)")
for c in sccs:
    pairs = [f"{a}->{b}" for a in c for b in sorted(edges[a]) if b in c]
    print("  {" + ", ".join(c) + "}: " + " ".join(pairs))
