#!/usr/bin/env python3
"""Module-level import cycles of each workspace crate.

For every crate under crates/, each .rs file under src/ is a module (`a/b.rs` and `a/b/mod.rs`
are `a::b`; `lib.rs`/`main.rs` is the root). An edge A -> B is drawn when A's text (tests
included, `#[cfg(test)]` blocks excluded) names a path `crate::x::y...` or `super::...` or
`self::...` that resolves to module B (the longest prefix that is a module file), B not an
ancestor or descendant of A (a parent declares its children; children may use the parent's
re-exports, which are not a cycle of concern). Cycles are the strongly connected components with
more than one module.

It also checks the crate layering (LAYERS): a crate's [dependencies] and the `webly_*` paths its
src/ names may only point to crates of a lower layer, and only the crates of TORCH may depend on
tch or torch-sys (text, data, synth, index and eval build and test without libtorch).

Usage: python3 scripts/module_cycles.py [crate ...]; exit 1 when any cycle or layering breach.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")

# The crate layers, lowest first: a crate may depend only on crates of a lower layer.
LAYERS = {
    "io": 0, "kernels": 0,
    "text": 1, "data": 1, "index": 1,
    "eval": 2, "encoder": 2, "synth": 2,
    "pipeline": 3,
    "serve": 4,
    "core": 5, "fuzz": 5, "python": 3,
}
# The crates that may link libtorch.
TORCH = {"encoder", "pipeline", "serve", "core", "fuzz"}
DEP_RE = re.compile(r"^(webly-[a-z]+|tch|torch-sys)\s*=", re.M)
USE_RE = re.compile(r"\bwebly_([a-z]+)::")


def crate_of(dep):
    return dep[len("webly-"):] if dep.startswith("webly-") else dep


def layering(crates):
    """Layering breaches: (crate, what) pairs."""
    bad = []
    for c in crates:
        if c not in LAYERS:
            bad.append((c, "not in LAYERS: give it a layer in scripts/module_cycles.py"))
            continue
        with open(os.path.join(ROOT, c, "Cargo.toml"), encoding="utf-8") as f:
            toml = f.read()
        deps = set()
        for section in re.finditer(r"^\[(dependencies|build-dependencies)\]\n(.*?)(?=^\[|\Z)", toml, re.S | re.M):
            deps |= {crate_of(d) for d in DEP_RE.findall(section.group(2))}
        for d in sorted(deps):
            if d in ("tch", "torch-sys"):
                if c not in TORCH:
                    bad.append((c, f"depends on {d} (only {', '.join(sorted(TORCH))} may link libtorch)"))
            elif LAYERS.get(d, 99) >= LAYERS[c]:
                bad.append((c, f"depends on webly-{d}, which is not in a lower layer"))
        src = os.path.join(ROOT, c, "src")
        if not os.path.isdir(src):
            src = os.path.join(ROOT, c)
        for dirpath, _, files in os.walk(src):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8") as fh:
                    text = strip_tests(fh.read())
                for used in sorted(set(USE_RE.findall(text))):
                    if used != c and used in LAYERS and LAYERS[used] >= LAYERS[c]:
                        rel = os.path.relpath(path, os.path.join(ROOT, ".."))
                        bad.append((c, f"{rel} uses webly_{used}, which is not in a lower layer"))
    return bad
PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\};", re.S)


def modules(src):
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)[:-3].split(os.sep)
            if rel[-1] == "mod" or (len(rel) == 1 and rel[0] in ("lib", "main")):
                rel = rel[:-1]
            mods[tuple(rel)] = os.path.join(dirpath, f)
    return mods


def strip_tests(text):
    # Drop `#[cfg(test)] mod tests { ... }` blocks by brace matching.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    text = "".join(out)
    return re.sub(r"//[^\n]*", "", text)


def reexports(mods, text):
    """Names the crate root re-exports (`pub use a::b::{X, Y}` / `use a::X`): name -> module."""
    names = {}
    for m in re.finditer(r"(?:pub(?:\([^)]*\))?\s+)?use\s+(?:crate::)?([A-Za-z_][\w:]*?)(?:::\{([^;]*?)\}|::(\w+)(?:\s+as\s+(\w+))?)\s*;", text, re.S):
        prefix = tuple(m.group(1).split("::"))
        if prefix not in mods:
            continue
        items = m.group(2).split(",") if m.group(2) else [m.group(4) or m.group(3)]
        for item in items:
            item = item.strip()
            if not item:
                continue
            name = item.split(" as ")[-1].strip()
            names[name] = prefix
    return names


def resolve(mods, here, kind, parts, root_names=None):
    if kind == "crate":
        base = ()
    elif kind == "self":
        base = here
    else:
        base = here[:-1]
        while parts and parts[0] == "super":
            base, parts = base[:-1], parts[1:]
    full = base + tuple(p for p in parts if p != "super")
    for k in range(len(full), -1, -1):
        if full[:k] in mods:
            if k == 0 and full and root_names and full[0] in root_names:
                # An item the root re-exports: the edge goes to the module defining it.
                return root_names[full[0]]
            return full[:k]
    return ()


def edges_of(mods, here, text, root_names):
    paths = []
    for m in GROUP_RE.finditer(text):
        prefix = [p for p in m.group(2).split("::") if p]
        for item in re.split(r",", m.group(3)):
            item = item.strip().split(" as ")[0].strip()
            first = re.split(r"::|\{", item)[0].strip()
            if first and first not in ("self", "*"):
                paths.append((m.group(1), prefix + [first]))
            else:
                paths.append((m.group(1), prefix))
    for m in PATH_RE.finditer(text):
        paths.append((m.group(1), [p for p in m.group(2).split("::") if p]))
    out = set()
    for kind, parts in paths:
        target = resolve(mods, here, kind, parts, root_names)
        related = target[: len(here)] == here or here[: len(target)] == target
        if not related:
            out.add(target)
    return out


def sccs(graph):
    index, low, stack, on, res, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            res.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return res


def main():
    crates = sys.argv[1:] or sorted(os.listdir(ROOT))
    found = False
    for c in crates:
        for src in ("src", ""):
            d = os.path.join(ROOT, c, src)
            if src == "" and os.path.exists(os.path.join(d, "main.rs")):
                break
        src = os.path.join(ROOT, c, "src")
        if not os.path.isdir(src):
            src = os.path.join(ROOT, c)
        mods = modules(src)
        if c == "core":
            mods = {k: v for k, v in mods.items() if not k or k[0] not in ("tests",)}
        with open(mods[()], encoding="utf-8") as f:
            root_names = reexports(mods, strip_tests(f.read()))
        graph = {}
        for here, path in mods.items():
            with open(path, encoding="utf-8") as f:
                graph[here] = edges_of(mods, here, strip_tests(f.read()), root_names)
        for comp in sccs(graph):
            if len(comp) > 1:
                found = True
                names = sorted("::".join(m) or "<root>" for m in comp)
                print(f"{c}: cycle among {', '.join(names)}")
                for m in sorted(comp):
                    for t in sorted(graph[m] & set(comp)):
                        print(f"    {'::'.join(m) or '<root>'} -> {'::'.join(t) or '<root>'}")
    if not found:
        print("no module-level import cycle")
    breaches = layering(crates)
    for c, what in breaches:
        print(f"{c}: {what}")
    if not breaches:
        print("crate layering holds")
    return 1 if found or breaches else 0


if __name__ == "__main__":
    sys.exit(main())
