"""Writes every dashboard's JSON into charts/celerity/dashboards/, or checks that the files there are current."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from .autoscaling import autoscaling
from .locks import locks
from .model import Dashboard
from .overview import overview
from .tasks import tasks
from .web import web

OUT = Path(__file__).resolve().parents[2] / "dashboards"

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "overview": overview,
    "tasks": tasks,
    "autoscaling": autoscaling,
    "locks": locks,
    "web": web,
}


def rendered() -> dict[str, str]:
    """File name -> the JSON text the chart ships, keyed and indented exactly as checked in."""
    return {f"{name}.json": json.dumps(build().render(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if not check:
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(name)
    if stale:
        print(
            f"dashboards out of date: {', '.join(stale)}; run .venv/bin/python -m charts.celerity.hack.dashboards",
            file=sys.stderr,
        )
        return 1
    return 0
