#!/usr/bin/env python3
"""Relative links of the documentation resolve, and the README stays short.

Scans README.md and docs/*.md for markdown links `[text](target)` and images `![alt](target)`
(also reference definitions `[name]: target`), outside fenced code blocks and inline code.
Links to http(s) and mailto, and pure `#anchor` links, are skipped; a `#fragment` is stripped.
Each target is resolved relative to the folder of the file that holds it and must exist inside
the repository (a file or a folder) and, where git is available, must not be git-ignored (a
link to `runs/` or `data/` would work only on the machine that made it).

Exits 1, listing every broken link as `file:line: target`, or when README.md is larger than
MAX_README_BYTES; exits 0 otherwise. Python 3 standard library only.

    python3 scripts/check_links.py
"""
import re
import subprocess
import sys
from pathlib import Path

MAX_README_BYTES = 12_500

ROOT = Path(__file__).resolve().parent.parent

# [text](target) or ![alt](target); the target may be <...> and may carry a "title".
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+\"[^\"]*\")?\s*\)")
# [name]: target at the start of a line (reference definition).
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?\1")


def doc_files():
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


def links(path):
    """(line number, target) of every link in the file, code blocks and spans left out."""
    fence = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        text = CODE_SPAN.sub(lambda s: " " * len(s.group(0)), line)
        for found in INLINE.finditer(text):
            yield number, found.group(1)
        ref = REFERENCE.match(text)
        if ref:
            yield number, ref.group(1)


def skipped(target):
    lower = target.lower()
    return (
        not target
        or target.startswith("#")
        or lower.startswith(("http://", "https://", "mailto:"))
    )


def ignored_by_git(paths):
    """The subset of `paths` that git ignores; empty when git cannot say."""
    if not paths:
        return set()
    try:
        run = subprocess.run(
            ["git", "-C", str(ROOT), "check-ignore", "--stdin"],
            input="\n".join(str(p) for p in paths),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return set()
    if run.returncode not in (0, 1):  # 128: not a git work tree
        return set()
    return {Path(line) for line in run.stdout.splitlines() if line}


def main():
    broken = []
    existing = []  # (file, line, target, resolved) of links to existing paths
    for doc in doc_files():
        rel_doc = doc.relative_to(ROOT)
        for number, raw in links(doc):
            target = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
            if skipped(target):
                continue
            path_part = target.split("#", 1)[0].split("?", 1)[0]
            if not path_part:
                continue
            resolved = (doc.parent / path_part).resolve()
            inside = resolved == ROOT or ROOT in resolved.parents
            if not inside or not resolved.exists():
                broken.append((str(rel_doc), number, target))
            else:
                existing.append((rel_doc, number, target, resolved))
    ignored = ignored_by_git([r for _, _, _, r in existing])
    for rel_doc, number, target, resolved in existing:
        if resolved in ignored:
            broken.append((str(rel_doc), number, f"{target} (git-ignored)"))

    failed = False
    if broken:
        failed = True
        print(f"{len(broken)} broken link(s):", file=sys.stderr)
        for doc, number, target in sorted(broken):
            print(f"{doc}:{number}: {target}", file=sys.stderr)
    readme = ROOT / "README.md"
    if readme.is_file():
        size = readme.stat().st_size
        if size > MAX_README_BYTES:
            failed = True
            print(
                f"README.md is {size} bytes, more than {MAX_README_BYTES}: move detail to docs/",
                file=sys.stderr,
            )
    if failed:
        return 1
    checked = len(existing)
    print(f"check_links: {checked} relative link(s) in {len(doc_files())} file(s) resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
