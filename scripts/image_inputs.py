"""The inputs of one image as a single hash: its Dockerfile, every build-context file its COPY instructions read (the
context as .dockerignore leaves it) and the base image's identity. scripts/images.sh stores it as the image's
`dev.celerity.inputs` label and skips a build whose label already matches, so an unchanged image is never rebuilt.

    python3 scripts/image_inputs.py services BASE_ID   # prints the hash (standard library only: runs before the venv)
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABEL = "dev.celerity.inputs"


def dockerignore_rules(root: Path) -> list[tuple[bool, str]]:
    """(excluded, pattern) in file order; the last rule that matches a path decides, as in Docker."""
    rules = []
    for raw in (root / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((not negated, line.lstrip("!").strip("/")))
    return rules


def _matches(pattern: str, path: str) -> bool:
    """Docker's matching: the pattern matches the path or one of its parent directories; `**` spans directories."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    regex = regex.replace(r"\?", "[^/]")
    parts = path.split("/")
    return any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1))


def context_files(root: Path) -> Iterator[str]:
    """Every file of the build context, relative and sorted."""
    rules = dockerignore_rules(root)
    tops = sorted({pattern.split("/")[0] for excluded, pattern in rules if not excluded})
    for top in tops:
        for path in sorted((root / top).rglob("*") if (root / top).is_dir() else [root / top]):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or path.is_symlink():
                continue
            excluded = False
            for rule_excludes, pattern in rules:
                if _matches(pattern, relative):
                    excluded = rule_excludes
            if not excluded:
                yield relative


def copied_sources(dockerfile: Path) -> list[str]:
    """The context paths the Dockerfile's COPY instructions read (not those copied from another stage)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    sources: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources.extend(w.strip("/") for w in words[1:-1] if not w.startswith("--"))
    return sources


def inputs_hash(component: str, base_id: str, root: Path = ROOT) -> str:
    dockerfile = root / component / "Dockerfile"
    sources = copied_sources(dockerfile)
    digest = hashlib.sha256()
    digest.update(f"base {base_id}\n".encode())
    digest.update(b"Dockerfile\n" + dockerfile.read_bytes())
    for relative in context_files(root):
        if any(relative == s or relative.startswith(s + "/") or fnmatch.fnmatch(relative, s) for s in sources):
            digest.update(f"\n{relative}\n".encode() + (root / relative).read_bytes())
    return digest.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: image_inputs.py COMPONENT BASE_ID")
    print(inputs_hash(sys.argv[1], sys.argv[2]))
